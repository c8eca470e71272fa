package release_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestRelease(t *testing.T) {
	// One set of real release directories and tarballs for the whole suite: made by the real
	// bosh CLI, read (never changed) by the specs; a spec that needs bosh to go on copies them.
	fx := newFixtures(t)

	suite := spec.New("release", spec.Report(report.Terminal{}))
	suite("Digest", testDigest)
	suite("Manifest", testManifest)
	suite("Inspect", func(t *testing.T, context spec.G, it spec.S) { testInspect(t, context, it, fx) })
	suite("Inspect crafted tarballs", testInspectCrafted)
	suite("Inspect archives inside", testInspectInner)
	suite("Dir", func(t *testing.T, context spec.G, it spec.S) { testDir(t, context, it, fx) })
	suite("Dir config", testDirConfig)
	suite.Run(t)
}
