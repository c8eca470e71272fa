package version_test

import (
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// list parses a space-separated list of versions ("" is none).
func list(s string) []version.Version {
	var out []version.Version
	for _, f := range strings.Fields(s) {
		out = append(out, version.MustParse(f))
	}
	return out
}

func testBump(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("NextRC", func() {
		// The table (rc_base patch) first, then the other bases and corner cases.
		for _, tc := range []struct {
			published string
			base      version.Part
			want      string // "" is "nothing to base on: the initial version"
		}{
			{"", version.Patch, ""},
			{"61.0.0", version.Patch, "61.0.1-rc.1"},
			{"61.0.0 61.0.1-rc.1 61.0.1-rc.2", version.Patch, "61.0.1-rc.3"},
			{"61.0.1-rc.2", version.Patch, "61.0.1-rc.3"},                    // no final: the newest rc's line
			{"61.0.0", version.Major, "62.0.0-rc.1"},                         // the default base
			{"61.0.0", version.Minor, "61.1.0-rc.1"},                         //
			{"61.0.0 62.0.0-rc.4 61.0.1-rc.9", version.Major, "62.0.0-rc.5"}, // other lines' rcs do not count
			{"61.0.0 61.0.1-rc.3 61.0.1", version.Patch, "61.0.2-rc.1"},      // promoted: the next line
			{"61.0.0 61.0.1-rc.2 61.0.1-rc.10", version.Patch, "61.0.1-rc.11"},
			{"61.0.0 61.0.1-beta.7 61.0.1-rc.2+dev.1", version.Patch, "61.0.1-rc.1"}, // not rcs
			{"61.0.0 61.0.0+dev.4", version.Patch, "61.0.1-rc.1"},                    // dev builds do not move it
			{"61", version.Patch, "61.0.1-rc.1"},                                     // missing components are 0
			{"1.484", version.Major, "2.0-rc.1"},                                     // any number of components
			{"0+dev.3", version.Patch, ""},                                           // only dev builds
		} {
			tc := tc
			it(show(tc.published)+" ("+tc.base.String()+") → "+show(tc.want), func() {
				got, ok, err := version.NextRC(list(tc.published), tc.base)
				Expect(err).NotTo(HaveOccurred())
				Expect(ok).To(Equal(tc.want != ""))
				Expect(got.String()).To(Equal(tc.want))
			})
		}

		it("fails naming a component that is not a number", func() {
			_, _, err := version.NextRC(list("61.a"), version.Patch)
			Expect(err).To(MatchError(ContainSubstring(`cannot bump the patch of 61.a: its component "a" is not a number`)))
		})
	})

	context("FinalOf (next-final)", func() {
		for _, tc := range []struct{ v, want string }{
			{"61.0.1-rc.3", "61.0.1"}, // the table
			{"61.0.1", "61.0.1"},
			{"61.0.1+dev.2", "61.0.2"}, // a dev build sorts above its release part
			{"61.0.1-rc.3+dev.1", "61.0.1"},
		} {
			tc := tc
			it(tc.v+" → "+tc.want, func() {
				got, err := version.FinalOf(version.MustParse(tc.v))
				Expect(err).NotTo(HaveOccurred())
				Expect(got.String()).To(Equal(tc.want))
				Expect(got.IsFinal()).To(BeTrue())
			})
		}
	})

	context("NextBump", func() {
		for _, tc := range []struct {
			published string
			part      version.Part
			want      string
		}{
			{"", version.Patch, ""},
			{"61.0.1-rc.2", version.Patch, ""}, // no final
			{"61.0.0 61.0.1-rc.2 61.0.0+dev.3", version.Patch, "61.0.1"},
			{"61.0.0 60.9.9", version.Minor, "61.1.0"},
			{"61.3.7", version.Major, "62.0.0"},
		} {
			tc := tc
			it(show(tc.published)+" ("+tc.part.String()+") → "+show(tc.want), func() {
				got, ok, err := version.NextBump(list(tc.published), tc.part)
				Expect(err).NotTo(HaveOccurred())
				Expect(ok).To(Equal(tc.want != ""))
				Expect(got.String()).To(Equal(tc.want))
			})
		}
	})

	context("NextDevAfter", func() {
		for _, tc := range []struct{ published, want string }{
			{"", ""},
			{"61.0.0", "61.0.0+dev.1"},
			{"61.0.0 61.0.0+dev.3", "61.0.0+dev.4"},
			{"61.0.0 61.0.1-rc.2", "61.0.1-rc.2+dev.1"}, // bosh indexes the rc as a dev build
			{"61.0.1 61.0.0+dev.9", "61.0.1+dev.1"},
		} {
			tc := tc
			it(show(tc.published)+" → "+show(tc.want), func() {
				got, ok, err := version.NextDevAfter(list(tc.published))
				Expect(err).NotTo(HaveOccurred())
				Expect(ok).To(Equal(tc.want != ""))
				Expect(got.String()).To(Equal(tc.want))
			})
		}
	})

	context("Part", func() {
		it("decodes by name and names the choices otherwise", func() {
			var p version.Part
			Expect(p.UnmarshalText([]byte("minor"))).To(Succeed())
			Expect(p).To(Equal(version.Minor))
			Expect(p.UnmarshalText([]byte("micro"))).To(MatchError(`expected one of major, minor, patch, got "micro"`))
		})
	})
}
