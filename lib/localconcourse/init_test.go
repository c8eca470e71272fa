package localconcourse

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestLocalConcourse(t *testing.T) {
	suite := spec.New("localconcourse", spec.Report(report.Terminal{}))
	suite("Preflight", testPreflight)
	suite("Supervise", testSupervise)
	suite("work dir", testWorkDir)
	suite.Run(t)
}
