package builder

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// CopyTimes is what earlier builds measured: how long an image copy took from one region to
// another. Build uses it to order its copies (the fastest destinations first while sources are
// scarce, so that they become sources sooner, then the slowest first, so that they do not start
// last) and records what it measures into it. It is advice, never a requirement: an empty
// CopyTimes gives the order of the request's regions.
//
// Its methods are safe for concurrent use.
type CopyTimes struct {
	mu      sync.Mutex
	copies  map[copyPair]CopyTime
	changed bool // Observe was called since the CopyTimes was made or read
}

// CopyTime is the smoothed duration of the copies from one region to another.
type CopyTime struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Seconds float64   `json:"seconds"` // exponentially smoothed: each new copy weighs half
	Copies  int       `json:"copies"`  // how many copies were measured
	Updated time.Time `json:"updated"`
}

// Duration is the smoothed copy time.
func (c CopyTime) Duration() time.Duration { return time.Duration(c.Seconds * float64(time.Second)) }

type copyPair struct{ from, to string }

// copyTimesFile is the stored form of CopyTimes.
type copyTimesFile struct {
	Comment string     `json:"comment,omitempty"`
	Copies  []CopyTime `json:"copies"`
}

const copyTimesComment = "Image copy times measured by the alicloud-light-stemcell resource; they only order the copies of the next build. Safe to delete."

// NewCopyTimes is an empty CopyTimes.
func NewCopyTimes() *CopyTimes { return &CopyTimes{copies: map[copyPair]CopyTime{}} }

// Observe records one copy that took d, made at the time at.
func (t *CopyTimes) Observe(from, to string, d time.Duration, at time.Time) {
	if t == nil || d <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.copies == nil {
		t.copies = map[copyPair]CopyTime{}
	}
	key := copyPair{from, to}
	c, ok := t.copies[key]
	if !ok {
		c = CopyTime{From: from, To: to, Seconds: d.Seconds()}
	} else {
		c.Seconds = (c.Seconds + d.Seconds()) / 2
	}
	c.Copies++
	c.Updated = at.UTC()
	t.copies[key] = c
	t.changed = true
}

// Changed says whether a copy was observed since the CopyTimes was made or read.
func (t *CopyTimes) Changed() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Expect is the expected duration of a copy from one region to another: the pair's own figure
// when it was measured, else the mean of the copies measured into the destination from anywhere;
// false when nothing is known about the destination.
func (t *CopyTimes) Expect(from, to string) (time.Duration, bool) {
	if t == nil {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.copies[copyPair{from, to}]; ok {
		return c.Duration(), true
	}
	sum, n := 0.0, 0
	for k, c := range t.copies {
		if k.to == to {
			sum += c.Seconds
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return CopyTime{Seconds: sum / float64(n)}.Duration(), true
}

// All lists every measured pair, sorted by source then destination.
func (t *CopyTimes) All() []CopyTime {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]CopyTime, 0, len(t.copies))
	for _, c := range t.copies {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b CopyTime) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return out
}

// Len is how many region pairs were measured.
func (t *CopyTimes) Len() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.copies)
}

// MarshalJSON writes the pairs sorted, with a comment saying what the file is.
func (t *CopyTimes) MarshalJSON() ([]byte, error) {
	copies := t.All()
	if copies == nil {
		copies = []CopyTime{}
	}
	return json.Marshal(copyTimesFile{Comment: copyTimesComment, Copies: copies})
}

// UnmarshalJSON reads what MarshalJSON wrote, refusing entries without regions or with a
// duration that is not positive.
func (t *CopyTimes) UnmarshalJSON(data []byte) error {
	var file copyTimesFile
	if err := json.Unmarshal(data, &file); err != nil {
		return err
	}
	copies := make(map[copyPair]CopyTime, len(file.Copies))
	for i, c := range file.Copies {
		if c.From == "" || c.To == "" || !(c.Seconds > 0) {
			return fmt.Errorf("copies[%d]: needs from, to and seconds > 0", i)
		}
		copies[copyPair{c.From, c.To}] = c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.copies, t.changed = copies, false
	return nil
}

// CopyTimesName is the object, under the source's prefix, that holds a stemcell line's copy
// times.
func CopyTimesName(stemcell string) string { return stemcell + "/copy-times.json" }

// ErrCopyTimesUnreadable says a copy-times object exists but is not what SaveCopyTimes writes.
var ErrCopyTimesUnreadable = errors.New("unreadable copy times")

// LoadCopyTimes reads a stemcell line's copy times; a missing object is an empty CopyTimes. On
// error it still returns an empty CopyTimes, and the error wraps ErrCopyTimesUnreadable when the
// object was read but could not be understood.
func LoadCopyTimes(ctx context.Context, store *alicloud.Store, stemcell string) (*CopyTimes, error) {
	name := CopyTimesName(stemcell)
	body, _, err := store.Get(ctx, name)
	if alicloud.IsNotFound(err) {
		return NewCopyTimes(), nil
	}
	if err != nil {
		return NewCopyTimes(), err
	}
	t := NewCopyTimes()
	if err := json.Unmarshal(body, t); err != nil {
		return NewCopyTimes(), fmt.Errorf("%w in oss://%s/%s: %v", ErrCopyTimesUnreadable, store.Bucket(), store.Key(name), err)
	}
	return t, nil
}

// SaveCopyTimes writes a stemcell line's copy times. Concurrent builds of one line may each
// write theirs; the last one wins, which costs at most one build's measurements.
func SaveCopyTimes(ctx context.Context, store *alicloud.Store, stemcell string, t *CopyTimes) error {
	_, err := store.PutJSON(ctx, CopyTimesName(stemcell), t)
	return err
}
