package version_test

import (
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// ptr parses s into a *Version; "" means nil (an empty index).
func ptr(s string) *version.Version {
	if s == "" {
		return nil
	}
	v := version.MustParse(s)
	return &v
}

func show(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func testNext(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// Mirrors bosh-cli v7.9.12 releasedir/fs_release_dir.go NextDevVersion
	// and lastDevOrFinalVersion (and its fs_release_dir_test.go cases).
	context("NextDev (bosh create-release)", func() {
		for _, tc := range []struct{ final, dev, want string }{
			{"", "", "0+dev.1"},                           // no finals, no devs
			{"", "0+dev.1", "0+dev.2"},                    // dev after a dev, no finals
			{"61.0.0", "", "61.0.0+dev.1"},                // dev after a final
			{"1.1", "", "1.1+dev.1"},                      // bosh test: last final only
			{"1.1", "1.1+dev.1", "1.1+dev.2"},             // dev after a dev of the last final
			{"1.2", "1.1+dev.1", "1.2+dev.1"},             // a newer final wins
			{"", "1.1+dev.1", "1.1+dev.2"},                // dev index only
			{"1+dev.9", "", "1+dev.10"},                   // numeric, not lexical, increment
			{"9", "10+dev.1", "10+dev.2"},                 // numeric compare picks the dev
			{"10", "9+dev.7", "10+dev.1"},                 // numeric compare picks the final
			{"2.0", "2", "2+dev.1"},                       // tie (2.0 == 2): bosh takes the dev
			{"2", "2.0", "2.0+dev.1"},                     // tie the other way round
			{"1-rc.1", "", "1-rc.1+dev.1"},                // pre-release kept
			{"3", "3+dev.1.2", "3+dev.1.3"},               // last component incremented
			{"61.0.0", "61.0.0+dev.3", "61.0.0+dev.4"},    // dev after a dev of a final
			{"61.0.1", "61.0.0+dev.12", "61.0.1+dev.1"},   // final after devs
			{"1.484", "1.484+dev.99", "1.484+dev.100"},    // stemcell-like
			{"194", "194+dev.1", "194+dev.2"},             // README example
			{"194+dev.1", "194.1-dev", "194.1-dev+dev.1"}, // greatest wins, whatever its index
		} {
			tc := tc
			it(show(tc.final)+" / "+show(tc.dev)+" → "+tc.want, func() {
				got, err := version.NextDev(ptr(tc.final), ptr(tc.dev))
				Expect(err).NotTo(HaveOccurred())
				Expect(got.String()).To(Equal(tc.want))
				Expect(got.IsDev()).To(BeTrue())
				Expect(version.MustParse(got.String()).Compare(got)).To(Equal(0))
				for _, prev := range []string{tc.final, tc.dev} {
					if prev != "" {
						Expect(version.MustParse(prev).Less(got)).To(BeTrue(), "next dev must sort above %s", prev)
					}
				}
			})
		}

		for _, tc := range []struct{ final, dev string }{
			{"1+a", ""},       // bosh test: post-release "a" cannot be incremented
			{"", "1+dev.a"},   // last post component is a string
			{"1", "1+dev.1a"}, // "1a" is a string component
		} {
			tc := tc
			it("fails like bosh for "+show(tc.final)+" / "+show(tc.dev), func() {
				_, err := version.NextDev(ptr(tc.final), ptr(tc.dev))
				Expect(err).To(MatchError(ContainSubstring("incrementing last dev version")))
			})
		}

		it("rejects a zero Version instead of treating it as 0", func() {
			_, err := version.NextDev(&version.Version{}, nil)
			Expect(err).To(MatchError(ContainSubstring("zero Version")))
			_, err = version.NextDev(nil, &version.Version{})
			Expect(err).To(MatchError(ContainSubstring("zero Version")))
		})

		it("does not modify its inputs", func() {
			final, dev := ptr("1.1"), ptr("1.1+dev.1")
			_, err := version.NextDev(final, dev)
			Expect(err).NotTo(HaveOccurred())
			Expect(final.String()).To(Equal("1.1"))
			Expect(dev.String()).To(Equal("1.1+dev.1"))
		})

		it("works with Latest over whole indexes", func() {
			finals := mustParseAll("1.9", "1.10", "1.2")
			devs := mustParseAll("1.10+dev.3", "1.10+dev.12", "1.9+dev.40")
			got, err := version.NextDev(version.Latest(finals), version.Latest(devs))
			Expect(err).NotTo(HaveOccurred())
			Expect(got.String()).To(Equal("1.10+dev.13"))
		})
	})

	context("NextDevTimestamp (bosh create-release --timestamp-version)", func() {
		now := time.Unix(1257894062, 0)
		for _, tc := range []struct{ final, dev, want string }{
			{"1.1", "1.1+dev.1", "1.1+dev.1257894062"}, // bosh test
			{"", "", "0+dev.1257894062"},               // bosh test
			{"1.2", "1.1+dev.1", "1.2+dev.1257894062"},
			{"1-rc.1", "", "1-rc.1+dev.1257894062"},
		} {
			tc := tc
			it(show(tc.final)+" / "+show(tc.dev)+" → "+tc.want, func() {
				got, err := version.NextDevTimestamp(ptr(tc.final), ptr(tc.dev), now)
				Expect(err).NotTo(HaveOccurred())
				Expect(got.String()).To(Equal(tc.want))
			})
		}

		it("fails where NextDev fails, as bosh computes the increment first", func() {
			_, err := version.NextDevTimestamp(ptr("1+a"), nil, now)
			Expect(err).To(MatchError(ContainSubstring("incrementing last dev version")))
		})
	})

	// Mirrors bosh-cli v7.9.12 releasedir/fs_release_dir.go NextFinalVersion.
	context("NextFinal (bosh create-release --final)", func() {
		for _, tc := range []struct{ final, want string }{
			{"", "1"},      // no finals yet
			{"1", "2"},     // simple
			{"1.1", "1.2"}, // bosh test
			{"9", "10"},    // numeric increment
			{"61.0.0", "61.0.1"},
			{"1.484", "1.485"},
			{"621.9", "621.10"},
			{"3-rc.1", "4"},      // pre-release dropped, release incremented
			{"5+dev.2", "6"},     // post-release dropped
			{"v1.2", "v1.3"},     // only the last component must be numeric
			{"1.01.7", "1.01.8"}, // ditto
		} {
			tc := tc
			it(show(tc.final)+" → "+tc.want, func() {
				got, err := version.NextFinal(ptr(tc.final))
				Expect(err).NotTo(HaveOccurred())
				Expect(got.String()).To(Equal(tc.want))
				Expect(got.IsFinal()).To(BeTrue())
				if tc.final != "" {
					Expect(version.MustParse(tc.final).Less(got)).To(BeTrue())
				}
			})
		}

		for _, bad := range []string{"a", "1.a", "1.2.rc", "1.01"} {
			bad := bad
			it("fails like bosh for "+bad, func() {
				_, err := version.NextFinal(ptr(bad))
				Expect(err).To(MatchError(ContainSubstring(`incrementing last final version "` + bad + `"`)))
			})
		}

		it("rejects a zero Version", func() {
			_, err := version.NextFinal(&version.Version{})
			Expect(err).To(MatchError(ContainSubstring("zero Version")))
		})
	})
}
