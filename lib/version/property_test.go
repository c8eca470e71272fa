package version_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	semi "github.com/cppforlife/go-semi-semantic/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// genComponent draws from a deliberately small space so that generated
// versions collide often (equal, padded-equal, string-vs-number cases).
func genComponent(r *rand.Rand, allowDash bool) string {
	switch n := r.IntN(20); {
	case n < 12:
		return strconv.Itoa(r.IntN(4)) // 0..3, lots of zeros for padding
	case n < 14:
		return strconv.Itoa(10 + r.IntN(3)) // 10..12: numeric vs lexical order
	case n < 17:
		return []string{"a", "b", "rc", "dev", "01"}[r.IntN(5)]
	case n < 18 && allowDash:
		return "rc-" + strconv.Itoa(r.IntN(2))
	default:
		return "_" + strconv.Itoa(r.IntN(2))
	}
}

func genSegment(r *rand.Rand, allowDash bool) string {
	parts := make([]string, 1+r.IntN(3))
	for i := range parts {
		parts[i] = genComponent(r, allowDash)
	}
	return strings.Join(parts, ".")
}

func genVersion(r *rand.Rand) string {
	s := genSegment(r, false)
	if r.IntN(3) == 0 {
		s += "-" + genSegment(r, true)
	}
	if r.IntN(3) == 0 {
		s += "+" + genSegment(r, true)
	}
	return s
}

// refCompare is an independent model of the documented rules, written from
// the rules rather than from go-semi-semantic: a version splits into
// release, pre and post; each compares component-wise with missing
// components taken as "0", numbers numerically, strings lexically, strings
// above numbers; no pre-release sorts above a pre-release, no post-release
// below a post-release.
func refCompare(a, b string) int {
	ra, pa, qa := refSplit(a)
	rb, pb, qb := refSplit(b)
	if c := refSegment(ra, rb); c != 0 {
		return c
	}
	switch {
	case pa == "" && pb == "":
	case pa == "":
		return 1
	case pb == "":
		return -1
	default:
		if c := refSegment(pa, pb); c != 0 {
			return c
		}
	}
	switch {
	case qa == "" && qb == "":
		return 0
	case qa == "":
		return -1
	case qb == "":
		return 1
	}
	return refSegment(qa, qb)
}

func refSplit(s string) (release, pre, post string) {
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s, post = s[:i], s[i+1:]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, pre = s[:i], s[i+1:]
	}
	return s, pre, post
}

func refSegment(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xok := refNumber(x)
		yn, yok := refNumber(y)
		switch {
		case xok && yok:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case xok:
			return -1
		case yok:
			return 1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	return 0
}

// refNumber: only canonical decimals are numbers ("01" is a string).
func refNumber(s string) (int, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func testProperties(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	const pairs = 20000
	const triples = 20000

	it("the reference model agrees with the hand-written tables", func() {
		for _, c := range chains {
			for i := 0; i+1 < len(c.chain); i++ {
				Expect(refCompare(c.chain[i], c.chain[i+1])).To(Equal(-1), "%s < %s", c.chain[i], c.chain[i+1])
			}
		}
	})

	// The loops below collect the first violations and assert once, so that
	// tens of thousands of cases stay fast.
	it("Compare is antisymmetric and consistent with go-semi-semantic and the reference model over generated pairs", func() {
		r := rand.New(rand.NewPCG(1, 2))
		seen := map[int]int{}
		var problems []string
		for i := 0; i < pairs && len(problems) < 10; i++ {
			as, bs := genVersion(r), genVersion(r)
			a, errA := version.Parse(as)
			b, errB := version.Parse(bs)
			if errA != nil || errB != nil {
				problems = append(problems, fmt.Sprintf("generated an unparseable version: %v %v", errA, errB))
				continue
			}
			ab, ba := a.Compare(b), b.Compare(a)
			lib := semi.MustNewVersionFromString(as).Compare(semi.MustNewVersionFromString(bs))
			ref := refCompare(as, bs)
			switch {
			case ab != -ba:
				problems = append(problems, fmt.Sprintf("not antisymmetric: %s vs %s: %d and %d", as, bs, ab, ba))
			case ab != lib:
				problems = append(problems, fmt.Sprintf("disagrees with go-semi-semantic: %s vs %s: %d, library %d", as, bs, ab, lib))
			case ab != ref:
				problems = append(problems, fmt.Sprintf("disagrees with the reference model: %s vs %s: %d, model %d", as, bs, ab, ref))
			case a.Less(b) != (ab < 0):
				problems = append(problems, fmt.Sprintf("Less disagrees with Compare: %s vs %s", as, bs))
			case a.Compare(a) != 0 || a.String() != as:
				problems = append(problems, fmt.Sprintf("not reflexive or text changed: %s", as))
			}
			seen[ab]++
		}
		Expect(problems).To(BeEmpty())
		// The generator must exercise all three outcomes, equality included.
		Expect(seen[-1]).To(BeNumerically(">", pairs/10))
		Expect(seen[1]).To(BeNumerically(">", pairs/10))
		Expect(seen[0]).To(BeNumerically(">", 50))
	})

	it("Compare is transitive over generated triples", func() {
		r := rand.New(rand.NewPCG(3, 4))
		chained := 0
		var problems []string
		for i := 0; i < triples && len(problems) < 10; i++ {
			vs := mustParseAll(genVersion(r), genVersion(r), genVersion(r))
			for _, p := range [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
				x, y, z := vs[p[0]], vs[p[1]], vs[p[2]]
				xy, yz, xz := x.Compare(y), y.Compare(z), x.Compare(z)
				if xy <= 0 && yz <= 0 {
					chained++
					want := 0
					if xy < 0 || yz < 0 {
						want = -1
					}
					if xz != want {
						problems = append(problems, fmt.Sprintf("%s vs %s vs %s: %d, %d but %d", x, y, z, xy, yz, xz))
					}
				}
			}
		}
		Expect(problems).To(BeEmpty())
		Expect(chained).To(BeNumerically(">=", triples), "every triple has at least one ordered permutation")
	})

	it("Sort yields a non-decreasing permutation of generated lists", func() {
		r := rand.New(rand.NewPCG(5, 6))
		for round := 0; round < 200; round++ {
			in := make([]string, 50)
			for i := range in {
				in[i] = genVersion(r)
			}
			out, err := version.SortStrings(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(slices.Sorted(slices.Values(out))).To(Equal(slices.Sorted(slices.Values(in))), "a permutation")
			for i := 0; i+1 < len(out); i++ {
				Expect(refCompare(out[i], out[i+1])).To(BeNumerically("<=", 0), "%s then %s", out[i], out[i+1])
			}
		}
	})
}
