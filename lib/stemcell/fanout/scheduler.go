// Package fanout decides the order of a light stemcell's image copies: which region copies to
// which next, as a tree in which every region that gets its image becomes a source. It only
// decides: no I/O, no clock, no goroutines, no context; the caller runs the copies and reports how
// each one ended.
package fanout

import "time"

// Times is what the scheduler knows of copy durations: the expected duration of a copy from one
// region to another, false when nothing is known. *builder.CopyTimes (lib/stemcell/builder) is one.
type Times interface {
	Expect(from, to string) (time.Duration, bool)
}

// Config is the state a fan-out starts from.
type Config struct {
	// Sources have an image already, the base region first: copies start from them.
	Sources []string
	// Pending need a copy, in the order to take them when nothing tells them apart.
	Pending []string
	// Waiting are regions whose copy an earlier run left in progress: they are in flight, from
	// no source, until Done, Failed or Retry.
	Waiting []string
	// Concurrency is how many copies (waits included) are in flight at most; at least 1.
	Concurrency int
	// PerSource is how many copies are in flight from one source at most; at least 1. A cloud
	// that counts copies against their destination is told by raising it to Concurrency.
	PerSource int
	// Times orders the copies; nil: the order of Pending.
	Times Times
}

// Copy is one image copy to start.
type Copy struct{ From, To string }

// Scheduler is one fan-out's state: the sources, the pending regions, the copies in flight. The
// caller starts the copies Next returns and reports the end of each with Done, Failed or Retry;
// the scheduler never runs, waits for or times anything. It is not safe for concurrent use.
type Scheduler struct {
	concurrency, perSource int
	times                  Times

	sources  []string          // regions with an image, in the order they got it
	pending  []string          // regions not started yet
	from     map[string]string // in flight: destination → source ("" for a wait)
	inFlight map[string]int    // copies in flight, by source
	sent     map[string]int    // copies started, by source
}

// New is a scheduler at the start of a fan-out; it keeps none of c's slices.
func New(c Config) *Scheduler {
	s := &Scheduler{
		concurrency: max(c.Concurrency, 1),
		perSource:   max(c.PerSource, 1),
		times:       c.Times,
		sources:     append([]string(nil), c.Sources...),
		pending:     append([]string(nil), c.Pending...),
		from:        map[string]string{},
		inFlight:    map[string]int{},
		sent:        map[string]int{},
	}
	for _, r := range c.Waiting {
		s.from[r] = ""
	}
	return s
}

// Next takes the copies to start now and counts them in flight: as many as the concurrency and
// the per-source limit allow. Each comes from the source that has sent the fewest copies (then
// the least busy, then the first). While the sources there will be once the copies in flight
// end cannot run the other pending copies, the destination expected fastest goes first, as it
// makes a new source soonest; once they can, the slowest goes first, so that it does not end
// last.
func (s *Scheduler) Next() []Copy {
	var out []Copy
	for len(s.pending) > 0 && len(s.from) < s.concurrency {
		from := ""
		for _, src := range s.sources {
			if s.inFlight[src] >= s.perSource {
				continue
			}
			if from == "" || s.sent[src] < s.sent[from] || s.sent[src] == s.sent[from] && s.inFlight[src] < s.inFlight[from] {
				from = src
			}
		}
		if from == "" {
			break
		}
		fastFirst := s.perSource*(len(s.sources)+len(s.from)) < min(len(s.pending)-1, s.concurrency)
		to := s.take(from, fastFirst)
		s.from[to] = from
		s.inFlight[from]++
		s.sent[from]++
		out = append(out, Copy{From: from, To: to})
	}
	return out
}

// take removes from pending the destination to copy to next from region from: the one expected
// fastest when fastFirst, else the one expected slowest; the first of equals. A destination
// nothing is known about is expected to take the mean of the others; when nothing is known at
// all, pending keeps its order.
func (s *Scheduler) take(from string, fastFirst bool) string {
	best := 0
	if s.times != nil {
		expected := make([]time.Duration, len(s.pending))
		known := make([]bool, len(s.pending))
		var sum time.Duration
		n := 0
		for i, to := range s.pending {
			if expected[i], known[i] = s.times.Expect(from, to); known[i] {
				sum += expected[i]
				n++
			}
		}
		if n > 0 {
			for i := range s.pending {
				if !known[i] {
					expected[i] = sum / time.Duration(n)
				}
			}
			for i := range s.pending {
				if fastFirst && expected[i] < expected[best] || !fastFirst && expected[i] > expected[best] {
					best = i
				}
			}
		}
	}
	to := s.pending[best]
	s.pending = append(s.pending[:best:best], s.pending[best+1:]...)
	return to
}

// Done says the copy (or wait) to region to ended with its image: to is a source from now on.
// A region not in flight is ignored, as by Failed and Retry.
func (s *Scheduler) Done(to string) {
	if s.end(to) {
		s.sources = append(s.sources, to)
	}
}

// Failed says the copy (or wait) to region to ended without an image and to is given up.
func (s *Scheduler) Failed(to string) { s.end(to) }

// Retry says the copy (or wait) to region to ended without an image and to is to be copied
// again: it is pending, after the others.
func (s *Scheduler) Retry(to string) {
	if s.end(to) {
		s.pending = append(s.pending, to)
	}
}

func (s *Scheduler) end(to string) bool {
	from, ok := s.from[to]
	if !ok {
		return false
	}
	delete(s.from, to)
	if from != "" {
		s.inFlight[from]--
	}
	return true
}

// InFlight is how many copies and waits have not ended.
func (s *Scheduler) InFlight() int { return len(s.from) }

// Pending lists the regions no copy was started to, in the order they would be considered.
func (s *Scheduler) Pending() []string { return append([]string(nil), s.pending...) }
