package concourse_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
)

// The kit is tested mostly through a tiny resource built as a real binary and driven over stdin,
// the way Concourse drives every resource in the pack.
func TestConcourse(t *testing.T) {
	binary := conformance.Compile(t, "./internal/testresource")
	suite := spec.New("concourse kit", spec.Report(report.Terminal{}))
	suite("build metadata", testBuild)
	suite("DecodeStrict", testDecode)
	suite("DecodeStrict validators", testDecodeValidators)
	suite("dispatch and exit", func(t *testing.T, context spec.G, it spec.S) { testDispatch(t, context, it, binary) })
	suite("strict requests", func(t *testing.T, context spec.G, it spec.S) { testStrict(t, context, it, binary) })
	suite("redaction", func(t *testing.T, context spec.G, it spec.S) { testRedaction(t, context, it, binary) })
	suite("stopping on SIGTERM and SIGINT", func(t *testing.T, context spec.G, it spec.S) { testStop(t, context, it, binary) })
	suite("paths in the build directory", testPaths)
	suite.Run(t)
}
