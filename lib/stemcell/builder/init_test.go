package builder_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestBuilder(t *testing.T) {
	suite := spec.New("builder", spec.Report(report.Terminal{}))
	suite("Build", testBuild)
	suite("Images", testImages)
	suite("CopyTimes", testCopyTimes)
	suite.Run(t)
}
