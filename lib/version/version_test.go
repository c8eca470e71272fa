package version_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func strs(vs []version.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func mustParseAll(ss ...string) []version.Version {
	out := make([]version.Version, len(ss))
	for i, s := range ss {
		out[i] = version.MustParse(s)
	}
	return out
}

func testParse(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("valid versions", func() {
		for _, s := range []string{
			"1", "61.0.1", "1.484", "621.10", "194+dev.1", "194.1-dev", "61.0.1-rc.3",
			"1.2.3-rc.1-x+dev-1.2", "0+dev.0", "1_2", "v1.2", "01", "a", "1.2.3.4.5",
		} {
			it("parses "+s+" and keeps its text", func() {
				v, err := version.Parse(s)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.String()).To(Equal(s))
				Expect(v.IsZero()).To(BeFalse())
			})
		}
	})

	context("invalid versions (rejected by go-semi-semantic, so by bosh)", func() {
		for _, s := range []string{
			"", "1..2", "1.2-", "1+", "1-", "+1", "-1", ".1", "1.", "1 ", " 1",
			"1.2-rc..1", "1+dev..1", "1.2/3", "1,2", "1@2", "99999999999999999999", "1.2-rc+",
		} {
			it("rejects "+strings.ReplaceAll(`"`+s+`"`, " ", "␠")+" with an error naming it", func() {
				v, err := version.Parse(s)
				Expect(err).To(HaveOccurred())
				Expect(v.IsZero()).To(BeTrue())
				Expect(err.Error()).To(ContainSubstring(`invalid BOSH version "` + s + `"`))
				Expect(err.Error()).To(ContainSubstring("release[-pre][+post]"))

				var pe *version.ParseError
				Expect(errors.As(err, &pe)).To(BeTrue())
				Expect(pe.Input).To(Equal(s))
				Expect(pe.Err).To(HaveOccurred())
			})
		}
	})

	it("refuses a version longer than MaxLength, and quotes only a short prefix of a long one", func() {
		Expect(version.Parse(strings.Repeat("a", version.MaxLength))).NotTo(BeZero())
		_, err := version.Parse(strings.Repeat("a", version.MaxLength+1))
		Expect(err).To(MatchError(ContainSubstring("longer than 255 bytes")))
		_, err = version.Parse(strings.Repeat("1", 20_000_000))
		Expect(err).To(MatchError(HavePrefix(`invalid BOSH version "` + strings.Repeat("1", 64) + `"… (20000000 bytes): longer than 255 bytes (want`)))
		_, err = version.Parse(strings.Repeat("a.", 50) + "/")
		Expect(err).To(MatchError(HavePrefix(`invalid BOSH version "` + strings.Repeat("a.", 32) + `"… (101 bytes): not of the form below (want`)))
		Expect(len(err.Error())).To(BeNumerically("<", 400), "go-semi-semantic's reason, which quotes the input twice, is left out")
	})

	it("MustParse panics on a bad version and not on a good one", func() {
		Expect(func() { version.MustParse("1..2") }).To(PanicWith(MatchError(ContainSubstring(`"1..2"`))))
		Expect(version.MustParse("1.2").String()).To(Equal("1.2"))
	})

	context("ParseAll", func() {
		it("reports every bad entry in one error and returns the good ones in order", func() {
			vs, err := version.ParseAll([]string{"3", "", "1.2", "1..2", "2+dev.1", "1.2-"})
			Expect(strs(vs)).To(Equal([]string{"3", "1.2", "2+dev.1"}))

			var ive *version.InvalidVersionsError
			Expect(errors.As(err, &ive)).To(BeTrue())
			Expect(ive.Total).To(Equal(6))
			Expect(ive.Errors).To(HaveLen(3))
			Expect(ive.Errors[0].Input).To(Equal(""))
			Expect(ive.Errors[1].Input).To(Equal("1..2"))
			Expect(ive.Errors[2].Input).To(Equal("1.2-"))
			Expect(err.Error()).To(HavePrefix("3 of 6 versions are not BOSH versions:"))
			Expect(err.Error()).To(ContainSubstring(`""`))
			Expect(err.Error()).To(ContainSubstring(`"1..2"`))
			Expect(err.Error()).To(ContainSubstring(`"1.2-"`))

			var pe *version.ParseError
			Expect(errors.As(err, &pe)).To(BeTrue())
			Expect(pe.Input).To(Equal(""))
		})

		it("returns no error when every entry parses", func() {
			vs, err := version.ParseAll([]string{"2", "1"})
			Expect(err).NotTo(HaveOccurred())
			Expect(strs(vs)).To(Equal([]string{"2", "1"}))
		})
	})

	context("SortStrings", func() {
		it("sorts in bosh order, not lexically", func() {
			out, err := version.SortStrings([]string{"621.10", "1.1000", "621.9", "1.485", "1.484"})
			Expect(err).NotTo(HaveOccurred())
			Expect(out).To(Equal([]string{"1.484", "1.485", "1.1000", "621.9", "621.10"}))
		})

		it("fails with all bad entries and no result", func() {
			out, err := version.SortStrings([]string{"1", "x..y", "2", "3-"})
			Expect(out).To(BeNil())
			Expect(err).To(MatchError(ContainSubstring(`2 of 4 versions are not BOSH versions: "x..y"`)))
			Expect(err.Error()).To(ContainSubstring(`"3-"`))
		})

		it("does not modify its input", func() {
			in := []string{"2", "1"}
			_, err := version.SortStrings(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(in).To(Equal([]string{"2", "1"}))
		})
	})
}

// ascending chains: every element is strictly below every later one. A slice,
// not a map: spec needs the same test order on every pass.
var chains = []struct {
	name  string
	chain []string
}{
	{"bosh dev/pre/post table", []string{"193", "194", "194+dev.1", "194.1-dev", "194.1", "194.1+dev.1"}},
	{"release candidate", []string{"61.0.0", "61.0.0+dev.1", "61.0.1-rc.3", "61.0.1", "61.0.1+dev.1"}},
	{"stemcells", []string{"1.484", "1.485", "1.1000", "621.9", "621.10", "621.100"}},
	{"numeric segments", []string{"2", "9", "10", "10.0.1", "10.1", "100"}},
	{"string above number", []string{"1.9", "1.999", "1.a", "1.b", "1.ba"}},
	{"leading zero is string", []string{"1.2", "1.999", "1.01"}},
	{"string vs zero padding", []string{"1", "1.0.0.1", "1.0.a"}},
	{"pre-release order", []string{"1-alpha", "1-beta", "1-rc.2", "1-rc.10", "1-rc.a", "1"}},
	{"post-release order", []string{"1", "1+dev.2", "1+dev.10", "1+dev.a", "1.0.1"}},
	{"pre and post", []string{"2-rc.1", "2-rc.1+dev.1", "2-rc.2", "2", "2+dev.1"}},
}

func testCompare(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	for _, c := range chains {
		chain := c.chain
		context(c.name, func() {
			for i := 0; i+1 < len(chain); i++ {
				lo, hi := chain[i], chain[i+1]
				it(lo+" < "+hi, func() {
					a, b := version.MustParse(lo), version.MustParse(hi)
					Expect(a.Compare(b)).To(Equal(-1))
					Expect(b.Compare(a)).To(Equal(1))
					Expect(a.Less(b)).To(BeTrue())
					Expect(b.Less(a)).To(BeFalse())
					Expect(a.Equal(b)).To(BeFalse())
				})
			}
			it("orders every non-adjacent pair too", func() {
				for i := range chain {
					for j := range chain {
						a, b := version.MustParse(chain[i]), version.MustParse(chain[j])
						want := 0
						if i < j {
							want = -1
						} else if i > j {
							want = 1
						}
						Expect(a.Compare(b)).To(Equal(want), "%s vs %s", chain[i], chain[j])
					}
				}
			})
		})
	}

	it("61.0.1-rc.3 < 61.0.1", func() {
		Expect(version.MustParse("61.0.1-rc.3").Less(version.MustParse("61.0.1"))).To(BeTrue())
		Expect(version.MustParse("61.0.1").Less(version.MustParse("61.0.1-rc.3"))).To(BeFalse())
	})

	context("missing segments count as 0", func() {
		for _, pair := range [][2]string{{"1", "1.0"}, {"1", "1.0.0"}, {"61.0", "61.0.0"}, {"1-rc.1", "1.0-rc.1.0"}, {"1+dev.1", "1.0+dev.1.0"}} {
			it(pair[0]+" == "+pair[1], func() {
				a, b := version.MustParse(pair[0]), version.MustParse(pair[1])
				Expect(a.Compare(b)).To(Equal(0))
				Expect(b.Compare(a)).To(Equal(0))
				Expect(a.Equal(b)).To(BeTrue())
				Expect(a.Less(b) || b.Less(a)).To(BeFalse())
				Expect(a.String()).NotTo(Equal(b.String()))
			})
		}
	})

	it("sorts the zero Version below every version", func() {
		var zero version.Version
		Expect(zero.Compare(version.MustParse("0"))).To(Equal(-1))
		Expect(version.MustParse("0").Compare(zero)).To(Equal(1))
		Expect(zero.Compare(version.Version{})).To(Equal(0))
	})
}

func testSort(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	for n, c := range chains {
		chain := c.chain
		it("sorts shuffled "+c.name, func() {
			r := rand.New(rand.NewPCG(42, uint64(n)))
			for round := 0; round < 20; round++ {
				shuffled := append([]string(nil), chain...)
				r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				vs := mustParseAll(shuffled...)
				version.Sort(vs)
				Expect(strs(vs)).To(Equal(chain), "from %v", shuffled)
			}
		})
	}

	it("is stable for equal versions", func() {
		vs := mustParseAll("1.0", "2", "1", "0.9", "1.0.0")
		version.Sort(vs)
		Expect(strs(vs)).To(Equal([]string{"0.9", "1.0", "1", "1.0.0", "2"}))

		vs = mustParseAll("1.0.0", "1", "1.0")
		version.Sort(vs)
		Expect(strs(vs)).To(Equal([]string{"1.0.0", "1", "1.0"}))
	})

	it("is stable for long lists full of equal versions", func() {
		// spellings of four values, ranked by hand
		rank := map[string]int{
			"1": 0, "1.0": 0, "1.0.0": 0, "1.0.0.0": 0,
			"2-rc.1": 1, "2.0-rc.1": 1, "2-rc.1.0": 1,
			"2": 2, "2.0": 2, "2.0.0": 2,
			"2+dev.1": 3, "2.0+dev.1": 3, "2+dev.1.0": 3,
		}
		spellings := make([]string, 0, len(rank))
		for s := range rank {
			spellings = append(spellings, s)
		}
		slices.Sort(spellings)
		r := rand.New(rand.NewPCG(7, 8))
		in := make([]string, 200)
		for i := range in {
			in[i] = spellings[r.IntN(len(spellings))]
		}
		var want []string
		for value := 0; value < 4; value++ {
			for _, s := range in {
				if rank[s] == value {
					want = append(want, s)
				}
			}
		}

		vs := mustParseAll(in...)
		version.Sort(vs)
		Expect(strs(vs)).To(Equal(want))

		out, err := version.SortStrings(in)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal(want))
	})

	context("Latest", func() {
		it("is nil for no versions", func() {
			Expect(version.Latest(nil)).To(BeNil())
		})
		it("is the greatest version in bosh order", func() {
			Expect(version.Latest(mustParseAll("9", "10", "1.1000", "10-rc.1")).String()).To(Equal("10"))
			Expect(version.Latest(mustParseAll("10+dev.2", "10+dev.10", "10")).String()).To(Equal("10+dev.10"))
		})
		it("picks the later entry among equal versions", func() {
			Expect(version.Latest(mustParseAll("1", "1.0", "0.5")).String()).To(Equal("1.0"))
			Expect(version.Latest(mustParseAll("1.0", "1", "0.5")).String()).To(Equal("1"))
		})
	})
}

func testParts(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	type parts struct {
		release, pre, post    string
		isPre, isDev, isFinal bool
	}
	for _, tc := range []struct {
		in   string
		want parts
	}{
		{"61.0.1", parts{"61.0.1", "", "", false, false, true}},
		{"61.0.1-rc.3", parts{"61.0.1", "rc.3", "", true, false, false}},
		{"194+dev.1", parts{"194", "", "dev.1", false, true, false}},
		{"194.1-dev", parts{"194.1", "dev", "", true, false, false}},
		{"1.2.3-rc.1-x+dev-1.2", parts{"1.2.3", "rc.1-x", "dev-1.2", true, true, false}},
		{"v1.01", parts{"v1.01", "", "", false, false, true}},
	} {
		s, want := tc.in, tc.want
		it("splits "+s, func() {
			v := version.MustParse(s)
			Expect(v.Release().String()).To(Equal(want.release))
			Expect(v.Release().IsFinal()).To(BeTrue())
			Expect(v.PreRelease()).To(Equal(want.pre))
			Expect(v.PostRelease()).To(Equal(want.post))
			Expect(v.IsPreRelease()).To(Equal(want.isPre))
			Expect(v.IsDev()).To(Equal(want.isDev))
			Expect(v.IsFinal()).To(Equal(want.isFinal))
		})
	}

	it("orders a release relative to its pre- and post-releases", func() {
		Expect(version.MustParse("61.0.1-rc.3").Release().Compare(version.MustParse("61.0.1-rc.3"))).To(Equal(1))
		Expect(version.MustParse("61.0.1+dev.3").Release().Compare(version.MustParse("61.0.1+dev.3"))).To(Equal(-1))
	})

	it("gives nothing for the zero Version", func() {
		var zero version.Version
		Expect(zero.IsZero()).To(BeTrue())
		Expect(zero.String()).To(Equal(""))
		Expect(zero.Release().IsZero()).To(BeTrue())
		Expect(zero.IsFinal()).To(BeFalse())
		Expect(zero.IsDev()).To(BeFalse())
		Expect(zero.IsPreRelease()).To(BeFalse())
	})
}

func testMarshal(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	type doc struct {
		V   version.Version   `json:"v"`
		Opt *version.Version  `json:"opt,omitempty"`
		All []version.Version `json:"all"`
	}

	it("round-trips versions as JSON strings, keeping their text", func() {
		in := doc{V: version.MustParse("61.0.1-rc.3"), All: mustParseAll("1.0", "194+dev.1")}
		b, err := json.Marshal(in)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(Equal(`{"v":"61.0.1-rc.3","all":["1.0","194+dev.1"]}`))

		var out doc
		Expect(json.Unmarshal(b, &out)).To(Succeed())
		Expect(out.V.String()).To(Equal("61.0.1-rc.3"))
		Expect(out.V.IsPreRelease()).To(BeTrue())
		Expect(out.Opt).To(BeNil())
		Expect(strs(out.All)).To(Equal([]string{"1.0", "194+dev.1"}))
	})

	it("rejects invalid versions when unmarshalling", func() {
		var out doc
		err := json.Unmarshal([]byte(`{"v":"1..2","all":[]}`), &out)
		Expect(err).To(MatchError(ContainSubstring(`invalid BOSH version "1..2"`)))

		err = json.Unmarshal([]byte(`{"v":"","all":[]}`), &out)
		Expect(err).To(MatchError(ContainSubstring(`invalid BOSH version ""`)))

		err = json.Unmarshal([]byte(`{"v":61,"all":[]}`), &out)
		Expect(err).To(HaveOccurred())
	})

	it("refuses to marshal the zero Version", func() {
		_, err := json.Marshal(doc{})
		Expect(err).To(MatchError(ContainSubstring("zero Version")))
	})

	it("implements UnmarshalText directly", func() {
		var v version.Version
		Expect(v.UnmarshalText([]byte("1.484"))).To(Succeed())
		Expect(v.String()).To(Equal("1.484"))
		Expect(v.UnmarshalText([]byte("1.2-"))).NotTo(Succeed())
		Expect(v.String()).To(Equal("1.484"), "a failed unmarshal leaves the value alone")
		b, err := v.MarshalText()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(Equal("1.484"))
	})
}
