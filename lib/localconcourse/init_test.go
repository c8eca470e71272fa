package localconcourse

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// e2eSuites are added by the files behind the e2e build tag (make e2e): they start the real
// local Concourse, so they need Linux, root and minutes.
var e2eSuites []struct {
	name string
	fn   func(*testing.T, spec.G, spec.S)
}

func TestLocalConcourse(t *testing.T) {
	suite := spec.New("localconcourse", spec.Report(report.Terminal{}))
	suite("Preflight", testPreflight)
	suite("Supervise", testSupervise)
	suite("work dir", testWorkDir)
	for _, e := range e2eSuites {
		suite(e.name, e.fn)
	}
	suite.Run(t)
}
