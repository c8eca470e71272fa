package version_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testFamily(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	for _, tc := range []struct {
		family   string
		match    []string
		nonMatch []string
	}{
		// every version
		{"", []string{"1", "61.0.1-rc.3", "194+dev.1", "1.2.3.4", "1.a", "01"}, nil},
		{"latest", []string{"1", "61.0.1-rc.3", "194+dev.1", "1.2.3.4", "1.a"}, nil},
		{"  latest ", []string{"1", "1.a"}, nil},

		// N.latest: leading release components equal N's
		{"1.latest",
			[]string{"1", "1.0", "1.484", "1.1000", "1.484.2", "1.2.3.4", "1.a", "1.484-rc.1", "1.484+dev.3"},
			[]string{"10", "11.1", "2", "0.1", "01", "a.1"}},
		{"61.0.latest",
			[]string{"61", "61.0", "61.0.0", "61.0.1", "61.0.1-rc.3", "61.0.0+dev.1", "61.0.12.1"},
			[]string{"61.1", "61.1.0", "62.0.0", "6.0.1", "61.00.1", "61.a"}},
		{"621.latest",
			[]string{"621.9", "621.10", "621.125"},
			[]string{"62.1", "622", "6210"}},
		{"0.latest", []string{"0+dev.1", "0.1", "0"}, []string{"1", "1+dev.1"}},

		// semver constraints, evaluated on the coerced release part
		{"~1.484",
			[]string{"1.484", "1.484.0", "1.484.7", "1.484+dev.2", "1.484-rc.1"},
			[]string{"1.485", "1.483", "1.1000", "1.484.1.1", "1.484.a"}},
		{">=61 <62",
			[]string{"61", "61.0.0", "61.0.1-rc.3", "61.9.9", "61.0.0+dev.1"},
			[]string{"60.9", "62", "62.0.0", "62-rc.1", "62.0.0-rc.1", "61.0.0.1", "61.a"}},
		{"61.x",
			[]string{"61", "61.1", "61.0.1-rc.3"},
			[]string{"62", "60", "610", "61.1.1.1"}},
		{"^61.1",
			[]string{"61.1", "61.5.3"},
			[]string{"61.0.9", "62.0.0"}},
		{"3262", // bosh-io-stemcell-resource's bare family: 3262, 3262.1, 3262.1.1
			[]string{"3262", "3262.1", "3262.1.1"},
			[]string{"3263", "3261.9", "32621"}},
		{"3262.1",
			[]string{"3262.1", "3262.1.1"},
			[]string{"3262.2", "3262", "3262.10"}},
		{"<61.0.1", // a family names release lines: 61.0.1's rc is not "before 61.0.1"
			[]string{"61.0.0", "61", "61.0.0+dev.9", "1.484"},
			[]string{"61.0.1-rc.3", "61.0.1", "61.0.1+dev.1", "61.1"}},
		{">=61.0.1",
			[]string{"61.0.1-rc.3", "61.0.1", "62"},
			[]string{"61.0.0+dev.99", "61.0.0"}},
		{"1 - 2", // Masterminds: ">= 1, <= 2" where "<= 2" covers all of 2.x
			[]string{"1", "1.484", "2", "2.0.0", "2.9.9"},
			[]string{"0.9", "3", "3.0.0-rc.1"}},
		{"~1.484 || ~1.500",
			[]string{"1.484.1", "1.500"},
			[]string{"1.499", "1.485"}},
		{"*",
			[]string{"0", "1", "61.0.1-rc.3"},
			[]string{"1.2.3.4", "1.a", "01"}}, // not coercible to semver
	} {
		tc := tc
		context(`"`+tc.family+`"`, func() {
			var family version.Family
			it.Before(func() {
				var err error
				family, err = version.ParseFamily(tc.family)
				Expect(err).NotTo(HaveOccurred())
			})

			for _, s := range tc.match {
				s := s
				it("matches "+s, func() {
					Expect(family.Matches(version.MustParse(s))).To(BeTrue())
				})
			}
			for _, s := range tc.nonMatch {
				s := s
				it("does not match "+s, func() {
					Expect(family.Matches(version.MustParse(s))).To(BeFalse())
				})
			}
			it("never matches the zero Version", func() {
				Expect(family.Matches(version.Version{})).To(BeFalse())
			})
		})
	}

	context("bad families", func() {
		for _, bad := range []string{
			"foo", "1.2.3.4", ">=1.0-rc.1", "1.0+build", "~61.0.1-rc.1 <62",
			".latest", "x.latest", "*.latest", "01.latest", "latest.latest", "1..latest", "1.x.latest",
			"LATEST", ">>1", "1.2.latest.latest",
		} {
			bad := bad
			it("rejects "+bad+" naming it and listing the accepted forms", func() {
				_, err := version.ParseFamily(bad)
				Expect(err).To(HaveOccurred())
				Expect(err.Error()).To(ContainSubstring(`invalid version_family "` + bad + `"`))
				Expect(err.Error()).To(ContainSubstring(`"latest"`))
				Expect(err.Error()).To(ContainSubstring(`"N.latest"`))
				Expect(err.Error()).To(ContainSubstring("semver constraint"))
				var fe *version.FamilyError
				Expect(errors.As(err, &fe)).To(BeTrue())
				Expect(fe.Input).To(Equal(bad))
			})
		}

		it("MustParseFamily panics on a bad family only", func() {
			Expect(func() { version.MustParseFamily("foo") }).To(Panic())
			Expect(version.MustParseFamily("1.latest").String()).To(Equal("1.latest"))
		})
	})

	context("Filter", func() {
		it("keeps matching versions, sorted ascending in bosh order", func() {
			in := mustParseAll("621.10", "1.1000", "621.9", "622.1", "621.100", "621.9-rc.1", "621")
			got := version.MustParseFamily("621.latest").Filter(in)
			Expect(strs(got)).To(Equal([]string{"621", "621.9-rc.1", "621.9", "621.10", "621.100"}))
			Expect(strs(in)).To(Equal([]string{"621.10", "1.1000", "621.9", "622.1", "621.100", "621.9-rc.1", "621"}), "input untouched")
		})

		it("sorts everything for latest", func() {
			got := version.MustParseFamily("latest").Filter(mustParseAll("194.1", "193", "194+dev.1"))
			Expect(strs(got)).To(Equal([]string{"193", "194+dev.1", "194.1"}))
		})

		it("returns an empty, non-nil slice when nothing matches", func() {
			got := version.MustParseFamily("~9.9").Filter(mustParseAll("1", "2"))
			Expect(got).NotTo(BeNil())
			Expect(got).To(BeEmpty())
		})
	})

	context("String and text marshalling", func() {
		it("returns the family as given, trimmed", func() {
			Expect(version.MustParseFamily(" >=61 <62 ").String()).To(Equal(">=61 <62"))
			Expect(version.MustParseFamily("").String()).To(Equal(""))
			Expect(version.MustParseFamily("61.0.latest").String()).To(Equal("61.0.latest"))
		})

		it("the zero Family matches everything, like an absent version_family", func() {
			var f version.Family
			Expect(f.MatchesAll()).To(BeTrue())
			Expect(f.Matches(version.MustParse("1.a"))).To(BeTrue())
			Expect(version.MustParseFamily("~1").MatchesAll()).To(BeFalse())
		})

		it("decodes from JSON and rejects bad families there", func() {
			var src struct {
				Family version.Family `json:"version_family"`
			}
			Expect(json.Unmarshal([]byte(`{"version_family":"1.latest"}`), &src)).To(Succeed())
			Expect(src.Family.Matches(version.MustParse("1.485"))).To(BeTrue())
			Expect(src.Family.Matches(version.MustParse("2"))).To(BeFalse())

			b, err := json.Marshal(src)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(b)).To(Equal(`{"version_family":"1.latest"}`))

			err = json.Unmarshal([]byte(`{"version_family":"nope"}`), &src)
			Expect(err).To(MatchError(ContainSubstring(`invalid version_family "nope"`)))
		})
	})
}
