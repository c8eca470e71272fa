package localexec_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestLocalexec(t *testing.T) {
	suite := spec.New("localexec", spec.Report(report.Terminal{}))
	suite("task files", testConfig)
	suite("runs", testRun)
	suite.Run(t)
}
