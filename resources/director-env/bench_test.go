package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
)

// BenchmarkCreate1MiBState measures the resource's own time around create-env: the wall time
// of `out` (action create, an update of an env whose state is 1 MiB) minus the double's run,
// and the wall time of `in` of the revision it stored.
func BenchmarkCreate1MiBState(b *testing.B) {
	binary := conformance.Compile(b, ".")
	h := newHarness(b)
	pad := "BOSH_DOUBLE_STATE_PAD=" + strconv.Itoa(1<<20)
	if s := h.put(b, binary, h.createParams(nil), pad); s.code != 0 {
		b.Fatal(s.stderr)
	}
	b.ResetTimer()
	for b.Loop() {
		before := doubleSeconds(b, h.journal)
		start := time.Now()
		s := h.put(b, binary, h.createParams(nil), pad)
		wall := time.Since(start).Seconds()
		if s.code != 0 {
			b.Fatal(s.stderr)
		}
		b.ReportMetric(wall-(doubleSeconds(b, h.journal)-before), "own-s")
		dest := b.TempDir()
		start = time.Now()
		if g := h.get(b, binary, s.response.Version, dest); g.code != 0 {
			b.Fatal(g.stderr)
		}
		b.ReportMetric(time.Since(start).Seconds(), "in-s")
		info, err := os.Stat(filepath.Join(dest, "director-state.json"))
		if err != nil || info.Size() < 1<<20 {
			b.Fatalf("the state is not 1 MiB: %v %v", info, err)
		}
	}
}

// doubleSeconds sums the run times the double journals ("took <command> <seconds>").
func doubleSeconds(b *testing.B, journal string) float64 {
	data, _ := os.ReadFile(journal) // none yet: nothing ran
	total := 0.0
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) == 3 && fields[0] == "took" {
			s, err := strconv.ParseFloat(fields[2], 64)
			if err != nil {
				b.Fatal(err)
			}
			total += s
		}
	}
	return total
}

// BenchmarkClaim20 measures how long 20 simultaneous claim processes of one env take to settle.
func BenchmarkClaim20(b *testing.B) {
	binary := conformance.Compile(b, ".")
	for b.Loop() {
		h := newHarness(b)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		start := time.Now()
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s := h.put(b, binary, map[string]any{"action": "claim"}); s.code == 0 {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(time.Since(start).Seconds(), "settle-s")
		if won != 1 {
			b.Fatalf("%d claimers won", won)
		}
	}
}
