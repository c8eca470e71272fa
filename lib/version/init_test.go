package version_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestVersion(t *testing.T) {
	suite := spec.New("version", spec.Report(report.Terminal{}))
	suite("Parse", testParse)
	suite("Compare", testCompare)
	suite("Sort", testSort)
	suite("Parts", testParts)
	suite("Text marshalling", testMarshal)
	suite("Next versions", testNext)
	suite("Family", testFamily)
	suite("Properties", testProperties)
	suite("Window", testWindow)
	suite("Spelling", testSpelling)
	suite("Bumps and release candidates", testBump)
	suite.Run(t)
}
