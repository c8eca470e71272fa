package tarsafe_test

import (
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestTarsafe(t *testing.T) {
	suite := spec.New("tarsafe", spec.Report(report.Terminal{}))
	suite("MemberName", testMemberName)
	suite("Walk", testWalk)
	suite("Check", testCheck)
	suite.Run(t)
}

func testMemberName(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	it("normalises safe names", func() {
		for raw, want := range map[string]string{"./image": "image", "./": ".", "jobs/": "jobs", "././a/b": "a/b", "release.MF": "release.MF"} {
			got, err := tarsafe.MemberName(raw)
			Expect(err).NotTo(HaveOccurred(), raw)
			Expect(got).To(Equal(want), raw)
		}
	})
	it("refuses names that could escape", func() {
		for raw, want := range map[string]string{"/etc/passwd": "absolute path", "a/../../b": "'..' component", `a\b`: `'\'`, "a//b": "not clean", "a/./b": "not clean"} {
			_, err := tarsafe.MemberName(raw)
			Expect(err).To(MatchError(ContainSubstring(want)), raw)
		}
	})
}
