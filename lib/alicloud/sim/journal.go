package sim

import (
	"sync"
	"sync/atomic"
	"time"
)

// journalLimit bounds the journal: the oldest entries are dropped first.
const journalLimit = 10_000

// Entry is one served request. It never holds secrets, tokens or signatures.
type Entry struct {
	Seq         uint64        `json:"seq"`
	Time        time.Time     `json:"time"` // by Config.Clock, when the request ended
	Service     string        `json:"service"`
	Action      string        `json:"action"`
	Region      string        `json:"region,omitempty"`
	Bucket      string        `json:"bucket,omitempty"`
	Key         string        `json:"key,omitempty"`
	AccessKeyID string        `json:"access_key_id,omitempty"` // as claimed by the request, even when auth failed
	Status      int           `json:"status"`                  // 0: no answer (reset or hang)
	ErrorCode   string        `json:"error_code,omitempty"`
	RequestID   string        `json:"request_id,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Fault       string        `json:"fault,omitempty"` // id of the fault that fired, or "qps-limit"
}

type journal struct {
	inFlight atomic.Int64
	mu       sync.Mutex
	limit    int
	seq      uint64
	entries  []Entry // ring once full
	start    int
}

func newJournal(limit int) *journal { return &journal{limit: limit} }

func (j *journal) add(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	if len(j.entries) < j.limit {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.start] = e
	j.start = (j.start + 1) % j.limit
}

func (j *journal) list() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, len(j.entries))
	out = append(out, j.entries[j.start:]...)
	return append(out, j.entries[:j.start]...)
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.start = nil, 0
}

// Journal returns the recorded requests, oldest first (at most the last 10,000).
// Journal returns the requests answered so far. A request is recorded once its handler returns,
// which can be just after the client has read the answer; Journal first waits (up to 250 ms)
// for requests in flight to be recorded, so a test that reads it right after a call sees the
// call. A request that hangs on purpose is not waited for longer than that.
func (s *Server) Journal() []Entry {
	s.journal.settle(250 * time.Millisecond)
	return s.journal.list()
}

// begin and end count requests in flight, for settle.
func (j *journal) begin() { j.inFlight.Add(1) }
func (j *journal) end()   { j.inFlight.Add(-1) }

// settle waits until no request is in flight, or at most max.
func (j *journal) settle(max time.Duration) {
	deadline := time.Now().Add(max)
	for j.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}
