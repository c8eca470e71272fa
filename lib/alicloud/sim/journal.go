package sim

import (
	"sync"
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
	mu      sync.Mutex
	limit   int
	seq     uint64
	entries []Entry // ring once full
	start   int
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
func (s *Server) Journal() []Entry { return s.journal.list() }
