package alicloud_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// The cloud layer is tested over the wire: the official SDKs against the emulator.
func TestAlicloud(t *testing.T) {
	suite := spec.New("alicloud over the wire", spec.Report(report.Terminal{}))
	suite("OSS store", testStore)
	suite("pending uploads", testPendingUploads)
	suite("transfers", testTransfers)
	suite("credentials", testCredentials)
	suite("faults", testFaults)
	suite("images", testImages)
	suite("waiting", testWaiting)
	suite("instances and stock", testInstances)
	suite("disks", testDisks)
	suite.Run(t)
}
