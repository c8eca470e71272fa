package fanout_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/fanout"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// byDestination expects a copy's duration from its destination alone, whatever the source.
type byDestination map[string]time.Duration

func (t byDestination) Expect(_, to string) (time.Duration, bool) {
	d, ok := t[to]
	return d, ok
}

// numbered is r1 … rn.
func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("r%d", i+1)
	}
	return out
}

// copies reads "from>to" pairs.
func copies(pairs ...string) []fanout.Copy {
	out := make([]fanout.Copy, 0, len(pairs))
	for _, p := range pairs {
		var c fanout.Copy
		for i := range p {
			if p[i] == '>' {
				c = fanout.Copy{From: p[:i], To: p[i+1:]}
			}
		}
		out = append(out, c)
	}
	return out
}

// fromBase is base>r for every region r.
func fromBase(regions ...string) []fanout.Copy {
	out := make([]fanout.Copy, len(regions))
	for i, r := range regions {
		out[i] = fanout.Copy{From: "base", To: r}
	}
	return out
}

// decision is a scheduler made from plan, told what then tells it, and the copies its next
// Next must return.
type decision struct {
	name string
	plan fanout.Config
	then func(s *fanout.Scheduler)
	want []fanout.Copy
}

func testScheduler(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	table := func(rows []decision) {
		for _, row := range rows {
			it(row.name, func() {
				s := fanout.New(row.plan)
				if row.then != nil {
					row.then(s)
				}
				got := s.Next()
				if len(row.want) == 0 {
					Expect(got).To(BeEmpty())
					return
				}
				Expect(got).To(Equal(row.want))
			})
		}
	}
	base28 := func(perSource, concurrency int) fanout.Config {
		return fanout.Config{Sources: []string{"base"}, Pending: numbered(28), PerSource: perSource, Concurrency: concurrency}
	}

	context("star vs tree", func() {
		table([]decision{
			{
				name: "starts no more copies from the only source than the per-source limit",
				plan: base28(5, 32),
				want: fromBase("r1", "r2", "r3", "r4", "r5"),
			},
			{
				name: "makes each region that got its image a source of the next copies (a tree)",
				plan: base28(5, 32),
				then: func(s *fanout.Scheduler) { s.Next(); s.Done("r1") },
				want: copies("r1>r6", "r1>r7", "r1>r8", "r1>r9", "r1>r10", "base>r11"),
			},
			{
				name: "copies everything from the base at once when the per-source limit allows it (a star)",
				plan: base28(32, 32),
				want: fromBase(numbered(28)...),
			},
			{
				name: "makes the regions that had an image before the fan-out sources from the start",
				plan: fanout.Config{Sources: []string{"base", "r1"}, Pending: numbered(13)[1:], PerSource: 5, Concurrency: 32},
				want: copies("base>r2", "r1>r3", "base>r4", "r1>r5", "base>r6", "r1>r7", "base>r8", "r1>r9", "base>r10", "r1>r11"),
			},
		})
	})

	context("limit by source vs destination", func() {
		table([]decision{
			{
				name: "by source (5): the base starts 5 copies, the others wait for new sources",
				plan: base28(5, 32),
				then: func(s *fanout.Scheduler) { s.Next() },
				want: nil,
			},
			{
				name: "by destination (per-source limit raised to 32): the base starts all 28",
				plan: base28(32, 32),
				want: fromBase(numbered(28)...),
			},
			{
				name: "either way the concurrency caps the copies in flight",
				plan: base28(32, 10),
				want: fromBase(numbered(10)...),
			},
			{
				name: "a copy's end frees its source's slot",
				plan: base28(5, 32),
				then: func(s *fanout.Scheduler) { s.Next(); s.Failed("r3") },
				want: fromBase("r6"),
			},
			{
				name: "waits for an earlier run's copies count against the concurrency",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(28), Waiting: []string{"w1", "w2", "w3"}, PerSource: 32, Concurrency: 10},
				want: fromBase(numbered(7)...),
			},
			{
				name: "a wait that ends frees a slot of the concurrency and its region is a source",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(28), Waiting: []string{"w1", "w2", "w3"}, PerSource: 32, Concurrency: 10},
				then: func(s *fanout.Scheduler) { s.Next(); s.Done("w2") },
				want: copies("w2>r8"),
			},
			{
				name: "a wait that ends frees no source's slot",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(3), Waiting: []string{"w"}, PerSource: 1, Concurrency: 5},
				then: func(s *fanout.Scheduler) { s.Next(); s.Failed("w") },
				want: nil,
			},
		})
	})

	context("fewest-sent source", func() {
		table([]decision{
			{
				name: "takes the sources in turn, the one that sent the fewest first",
				plan: fanout.Config{Sources: []string{"base", "a", "b"}, Pending: numbered(6), PerSource: 5, Concurrency: 32},
				want: copies("base>r1", "a>r2", "b>r3", "base>r4", "a>r5", "b>r6"),
			},
			{
				name: "prefers a new source to one with a free slot that sent more",
				plan: base28(5, 32),
				then: func(s *fanout.Scheduler) { s.Next(); s.Done("r1"); s.Failed("r2") },
				want: copies("r1>r6", "r1>r7", "r1>r8", "r1>r9", "r1>r10", "base>r11", "base>r12"),
			},
			{
				name: "of sources that sent as many, takes the least busy",
				plan: fanout.Config{Sources: []string{"base", "a"}, Pending: numbered(10), PerSource: 5, Concurrency: 4},
				then: func(s *fanout.Scheduler) {
					s.Next() // base>r1, a>r2, base>r3, a>r4
					s.Failed("r2")
					s.Failed("r4")
				},
				want: copies("a>r5", "base>r6"),
			},
		})
	})

	context("fast-first then slow-first", func() {
		// r1–r4 take 60 s, r5–r8 40 s, r9–r12 20 s.
		spread := byDestination{}
		for i, r := range numbered(12) {
			spread[r] = time.Duration(60-20*(i/4)) * time.Second
		}
		table([]decision{
			{
				name: "goes fastest first while the sources to come cannot run the other copies",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(12), PerSource: 2, Concurrency: 32, Times: spread},
				want: fromBase("r9", "r10"),
			},
			{
				name: "then slowest first, once the sources to come can run the other copies",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(12), PerSource: 2, Concurrency: 32, Times: spread},
				// 2 sources and 1 copy in flight: 6 slots < 9 copies after this one: fast; then
				// 8 slots for 8 copies: slow.
				then: func(s *fanout.Scheduler) { s.Next(); s.Done("r9") },
				want: copies("r9>r11", "r9>r1", "base>r2"),
			},
			{
				name: "goes slowest first from the start when the sources there are can run every copy",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(4), PerSource: 5, Concurrency: 32, Times: byDestination{
					"r1": 20 * time.Second, "r2": 60 * time.Second, "r3": 40 * time.Second, "r4": 20 * time.Second,
				}},
				want: fromBase("r2", "r3", "r1", "r4"),
			},
			{
				name: "counts the concurrency as a bound on the copies the sources to come can run",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(12), PerSource: 2, Concurrency: 2, Times: spread},
				// min(11 other copies, concurrency 2) = 2 ≤ 2 slots: slowest first.
				want: fromBase("r1", "r2"),
			},
			{
				name: "expects a destination nothing is known about to take the mean of the others",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(4), PerSource: 5, Concurrency: 32, Times: byDestination{
					"r2": 20 * time.Second, "r3": 60 * time.Second, "r4": 10 * time.Second,
				}},
				// r1: the mean of 20, 60, 10 (30 s), then of 20, 10 (15 s), then of 10 (10 s, the
				// first of equals).
				want: fromBase("r3", "r2", "r1", "r4"),
			},
			{
				name: "keeps the order of the pending regions when nothing is known",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(4), PerSource: 5, Concurrency: 32, Times: byDestination{}},
				want: fromBase(numbered(4)...),
			},
			{
				name: "keeps the order of the pending regions without Times",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(4), PerSource: 5, Concurrency: 32},
				want: fromBase(numbered(4)...),
			},
		})
	})

	context("failures", func() {
		table([]decision{
			{
				name: "never copies to a region given up, nor from it",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(3), PerSource: 1, Concurrency: 32},
				then: func(s *fanout.Scheduler) { s.Next(); s.Failed("r1") },
				want: fromBase("r2"),
			},
			{
				name: "copies again to a region to retry, after the other pending ones",
				plan: fanout.Config{Sources: []string{"base"}, Pending: numbered(3), Waiting: []string{"w"}, PerSource: 5, Concurrency: 3},
				then: func(s *fanout.Scheduler) { s.Next(); s.Failed("r1"); s.Retry("w") },
				want: fromBase("r3", "w"),
			},
			{
				name: "ignores the end of a region that is not in flight",
				plan: base28(5, 32),
				then: func(s *fanout.Scheduler) { s.Next(); s.Done("r20"); s.Failed("r21"); s.Retry("nowhere") },
				want: nil,
			},
		})

		it("forgets a region given up, and copies to a region to retry again", func() {
			s := fanout.New(fanout.Config{Sources: []string{"base"}, Pending: numbered(3), PerSource: 5, Concurrency: 32})
			Expect(s.Next()).To(HaveLen(3))
			s.Failed("r1")
			s.Retry("r2")
			Expect(s.Pending()).To(Equal([]string{"r2"}))
			Expect(s.InFlight()).To(Equal(1))
		})

		it("leaves pending the regions no copy was started to", func() {
			s := fanout.New(fanout.Config{Sources: []string{"base"}, Pending: numbered(8), Waiting: []string{"w"}, PerSource: 5, Concurrency: 32})
			Expect(s.Next()).To(HaveLen(5))
			Expect(s.InFlight()).To(Equal(6))
			Expect(s.Pending()).To(Equal([]string{"r6", "r7", "r8"}))
			s.Failed("r2")
			s.Done("w")
			Expect(s.InFlight()).To(Equal(4))
		})

		it("keeps none of its configuration's slices", func() {
			sources := append(make([]string, 0, 4), "base")
			pending := append(make([]string, 0, 4), "r1")
			s := fanout.New(fanout.Config{Sources: sources, Pending: pending, Waiting: []string{"w"}, PerSource: 5, Concurrency: 32})
			s.Retry("w")
			Expect(s.Next()).To(Equal(fromBase("r1", "w")))
			s.Done("r1")
			Expect(sources[:2]).To(Equal([]string{"base", ""}))
			Expect(pending[:2]).To(Equal([]string{"r1", ""}))
		})
	})

	context("what it must not do", func() {
		it("imports only time, uses only time.Duration of it and starts no goroutine", func() {
			files, err := filepath.Glob("*.go")
			Expect(err).NotTo(HaveOccurred())
			var imports, uses []string
			goroutines := 0
			for _, name := range files {
				if strings.HasSuffix(name, "_test.go") {
					continue
				}
				f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
				Expect(err).NotTo(HaveOccurred())
				for _, spec := range f.Imports {
					path, _ := strconv.Unquote(spec.Path.Value)
					imports = append(imports, path)
				}
				ast.Inspect(f, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.SelectorExpr:
						if x, ok := n.X.(*ast.Ident); ok && x.Name == "time" {
							uses = append(uses, "time."+n.Sel.Name)
						}
					case *ast.GoStmt:
						goroutines++
					}
					return true
				})
			}
			Expect(imports).To(ConsistOf("time"))
			Expect(uses).NotTo(BeEmpty())
			Expect(uses).To(HaveEach("time.Duration"))
			Expect(goroutines).To(BeZero())
		})
	})
}
