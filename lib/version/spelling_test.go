package version_test

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

func testSpelling(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	published := func(ss ...string) []version.Version {
		vs, err := version.ParseAll(ss)
		Expect(err).NotTo(HaveOccurred())
		return vs
	}

	it("refuses a BOSH-equal version spelled otherwise, naming the published spelling", func() {
		for _, given := range []string{"1.0.0", "1.0.0.0", "1"} {
			err := version.CheckSpelling("release cpi", published("0.9", "1.0", "2.0.0"), version.MustParse(given))
			var spelling *version.SpellingError
			Expect(errors.As(err, &spelling)).To(BeTrue(), given)
			Expect(spelling.Published).To(Equal("1.0"))
			Expect(err.Error()).To(ContainSubstring("release cpi version " + given + " is already published as 1.0"))
		}
		err := version.CheckSpelling("stemcell bosh-alicloud-kvm-ubuntu-noble", published("1.484"), version.MustParse("1.484.0"))
		Expect(err).To(MatchError(ContainSubstring("version 1.484.0 is already published as 1.484")))
	})

	it("lets the same spelling and other versions through", func() {
		Expect(version.CheckSpelling("release cpi", published("1.0", "1.0.1"), version.MustParse("1.0"))).To(Succeed())
		Expect(version.CheckSpelling("release cpi", published("1.0", "1.0.1"), version.MustParse("1.0.2"))).To(Succeed())
		Expect(version.CheckSpelling("release cpi", nil, version.MustParse("1.0.0"))).To(Succeed())
		// A dev or pre-release is another version, not a spelling of its release.
		Expect(version.CheckSpelling("release cpi", published("1.0"), version.MustParse("1.0+dev.1"))).To(Succeed())
		Expect(version.CheckSpelling("release cpi", published("1.0"), version.MustParse("1.0-rc.1"))).To(Succeed())
	})
}
