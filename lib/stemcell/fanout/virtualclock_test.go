package fanout_test

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/fanout"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// run drives a scheduler on a virtual clock: every copy it starts ends took(copy) later, with
// its image; copies that end at the same moment end one by one, in the order they started, as
// the builder receives them. It returns the moment the last copy ended and every copy that was
// made. Unless tree, an ended copy is reported Failed, so that the base stays the only source:
// a star. When learn is not nil, each copy's duration is observed into it.
func run(plan fanout.Config, took func(fanout.Copy) time.Duration, tree bool, learn *builder.CopyTimes) (time.Duration, []fanout.Copy) {
	type running struct {
		fanout.Copy
		start, end time.Duration
	}
	s := fanout.New(plan)
	var (
		now      time.Duration
		inFlight []running
		made     []fanout.Copy
	)
	for {
		for _, c := range s.Next() {
			inFlight = append(inFlight, running{c, now, now + took(c)})
		}
		// A scheduler that copied to some region again and again would never stop; 1,000 copies
		// are enough to fail the test instead.
		if len(inFlight) == 0 || len(made) > 1000 {
			return now, made
		}
		next := 0
		for i, r := range inFlight {
			if r.end < inFlight[next].end {
				next = i
			}
		}
		r := inFlight[next]
		inFlight = slices.Delete(inFlight, next, next+1)
		now = r.end
		made = append(made, r.Copy)
		if learn != nil {
			learn.Observe(r.From, r.To, r.end-r.start, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		}
		if tree {
			s.Done(r.To)
		} else {
			s.Failed(r.To)
		}
	}
}

func testVirtualClock(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// BenchmarkFanOut's shape: from cn-hangzhou to the emulator's 28 other regions.
	const base = "cn-hangzhou"
	var dest []string
	for _, r := range sim.DefaultRegions() {
		if r != base {
			dest = append(dest, r)
		}
	}
	plan := func(perSource int) fanout.Config {
		return fanout.Config{Sources: []string{base}, Pending: dest, PerSource: perSource, Concurrency: 32}
	}
	every := func(d time.Duration) func(fanout.Copy) time.Duration {
		return func(fanout.Copy) time.Duration { return d }
	}
	// As the benchmark's spread case: the i-th destination, sorted, takes 20 s × (1 + i mod 3)
	// from any source.
	sorted := slices.Clone(dest)
	sort.Strings(sorted)
	spread := map[string]time.Duration{}
	for i, to := range sorted {
		spread[to] = 20 * time.Second * time.Duration(1+i%3)
	}
	bySpread := func(c fanout.Copy) time.Duration { return spread[c.To] }

	expectEvery := func(made []fanout.Copy) {
		t.Helper()
		var to []string
		for _, c := range made {
			to = append(to, c.To)
		}
		Expect(to).To(ConsistOf(dest))
	}

	it("has 28 destinations, as the benchmark", func() {
		Expect(dest).To(HaveLen(28))
		Expect(spread).To(HaveLen(28))
	})

	context("1 → 28 regions, 20 s copies, at most 5 copies per source", func() {
		it("ends at 40 s as a tree: 5 copies, then 6 sources for the other 23", func() {
			end, made := run(plan(5), every(20*time.Second), true, nil)
			Expect(end).To(Equal(40 * time.Second))
			expectEvery(made)
			fromElsewhere := 0
			for _, c := range made {
				if c.From != base {
					fromElsewhere++
				}
			}
			Expect(fromElsewhere).To(BeNumerically(">", 0))
		})

		it("would end at 120 s as a star, every copy from the base: 6 rounds", func() {
			end, made := run(plan(5), every(20*time.Second), false, nil)
			Expect(end).To(Equal(120 * time.Second))
			expectEvery(made)
			for _, c := range made {
				Expect(c.From).To(Equal(base))
			}
		})
	})

	it("ends at 20 s when the limit counts destinations and copies_per_source is 32: one round", func() {
		end, made := run(plan(32), every(20*time.Second), true, nil)
		Expect(end).To(Equal(20 * time.Second))
		expectEvery(made)
	})

	context("copy times of 20, 40 or 60 s by destination, at most 5 copies per source", func() {
		it("ends at 100 s on a line's first build, in the order of the regions", func() {
			end, made := run(plan(5), bySpread, true, nil)
			Expect(end).To(Equal(100 * time.Second))
			expectEvery(made)
		})

		it("ends at 80 s, fastest + slowest, ordered by the copy times a first build learned", func() {
			learned := builder.NewCopyTimes()
			run(plan(5), bySpread, true, learned)
			Expect(learned.Len()).To(Equal(28))

			p := plan(5)
			p.Times = learned
			end, made := run(p, bySpread, true, nil)
			Expect(end).To(Equal(80 * time.Second))
			expectEvery(made)
		})
	})
}
