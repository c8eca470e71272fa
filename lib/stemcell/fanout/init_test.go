package fanout_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestFanout(t *testing.T) {
	suite := spec.New("fanout", spec.Report(report.Terminal{}))
	suite("Scheduler", testScheduler)
	suite("VirtualClock", testVirtualClock)
	suite.Run(t)
}
