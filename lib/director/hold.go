package director

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// hold is what an operation lock or a lease object holds: who has it until when. ID names this
// hold publicly (break markers use it); Token, a lease's secret, proves who holds it.
type hold struct {
	ID      string    `json:"id"`
	Holder  string    `json:"holder"`
	Action  string    `json:"action,omitempty"`
	Taken   time.Time `json:"taken"`
	Expires time.Time `json:"expires"`
	Token   string    `json:"token,omitempty"`
}

// HeldError says an env's lock or lease belongs to someone else.
type HeldError struct {
	Env     string
	What    string // "operation lock" or "lease"
	Holder  string
	Action  string
	Expires time.Time
}

func (e *HeldError) Error() string {
	doing := ""
	if e.Action != "" {
		doing = " (" + e.Action + ")"
	}
	return fmt.Sprintf("env %s: the %s is held by %s%s until %s", e.Env, e.What, e.Holder, doing, e.Expires.Format(time.RFC3339))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead (Go 1.24)
	return hex.EncodeToString(b)
}

// acquire creates the hold object name for h atomically. When another unexpired hold has it,
// the error is a *HeldError naming it; an expired one is broken (once: see breakExpired) and
// the create tried again.
func (s Store) acquire(ctx context.Context, env, what, name string, h hold, log Log) (hold, error) {
	h.ID = randomHex(8)
	h.Taken = s.now()
	for attempt := 0; attempt < 5; attempt++ {
		body, err := json.Marshal(h)
		if err != nil {
			return hold{}, err
		}
		created, err := s.Objects.CreateIfAbsent(ctx, name, body, alicloud.PutOptions{ContentType: "application/json", Private: true})
		if alicloud.IsNotFound(err) {
			continue // it existed, then was released before CreateIfAbsent could read it: try again
		}
		if err != nil {
			return hold{}, err
		}
		if created {
			return h, nil
		}
		existing, found, err := s.readHold(ctx, name)
		if err != nil {
			return hold{}, err
		}
		if !found {
			continue // released between our create and our read
		}
		if s.now().Before(existing.Expires) {
			return hold{}, &HeldError{Env: env, What: what, Holder: existing.Holder, Action: existing.Action, Expires: existing.Expires}
		}
		if _, err := s.breakExpired(ctx, env, what, name, existing, log); err != nil {
			return hold{}, err
		}
	}
	return hold{}, fmt.Errorf("env %s: the %s keeps changing hands; try again", env, what)
}

func (s Store) readHold(ctx context.Context, name string) (hold, bool, error) {
	body, _, err := s.Objects.Get(ctx, name)
	if alicloud.IsNotFound(err) {
		return hold{}, false, nil
	}
	if err != nil {
		return hold{}, false, err
	}
	var h hold
	if err := json.Unmarshal(body, &h); err != nil {
		return hold{}, false, fmt.Errorf("reading %s: %w", name, err)
	}
	return h, true, nil
}

// breakExpired removes an expired hold. Breakers race: each first creates the marker
// <env>/broken/<hold id> (forbid-overwrite), and only the one that created it deletes the hold,
// so a slow breaker can never delete the hold a faster one took since. Markers stay: they are
// tiny, and deleting one would reopen the race.
func (s Store) breakExpired(ctx context.Context, env, what, name string, h hold, log Log) (bool, error) {
	marker := env + "/broken/" + h.ID
	body, _ := json.Marshal(map[string]any{"holder": h.Holder, "expired": h.Expires, "broken": s.now()}) // strings and times always encode
	won, err := s.Objects.CreateIfAbsent(ctx, marker, body, alicloud.PutOptions{ContentType: "application/json", Private: true})
	if err != nil {
		return false, err
	}
	if !won {
		return false, nil
	}
	if err := s.Objects.Delete(ctx, name); err != nil {
		return false, err
	}
	logf(log, "env %s: broke the %s of %s, expired at %s", env, what, h.Holder, h.Expires.Format(time.RFC3339))
	return true, nil
}

// Log is where the package reports what it does; the resource's redacting logger is one.
type Log interface {
	Printf(format string, args ...any)
}

func logf(log Log, format string, args ...any) {
	if log != nil {
		log.Printf(format, args...)
	}
}

func lockName(env string) string  { return env + "/lock" }
func leaseName(env string) string { return env + "/lease" }

// Lock is a held operation lock; Unlock gives it back.
type Lock struct {
	s    Store
	env  string
	hold hold
}

// Lock takes env's operation lock for holder (create, destroy and register hold it for their
// whole run). ttl bounds how long a run that died keeps it: after that it can be broken. When
// another run has it, the error is a *HeldError naming the holder.
func (s Store) Lock(ctx context.Context, env, holder, action string, ttl time.Duration, log Log) (*Lock, error) {
	h, err := s.acquire(ctx, env, "operation lock", lockName(env), hold{Holder: holder, Action: action, Expires: s.now().Add(ttl)}, log)
	if err != nil {
		return nil, err
	}
	return &Lock{s: s, env: env, hold: h}, nil
}

// LockWaiting is Lock, retried while the lock is held until wait has passed (short steps such
// as claim and release, whose revisions must not race a create).
func (s Store) LockWaiting(ctx context.Context, env, holder, action string, ttl, wait time.Duration, log Log) (*Lock, error) {
	deadline := time.Now().Add(wait)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		l, err := s.Lock(ctx, env, holder, action, ttl, log)
		var held *HeldError
		if err == nil || !errors.As(err, &held) || time.Now().Add(delay).After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// Unlock releases the lock unless someone broke it meanwhile (then it is theirs to release).
func (l *Lock) Unlock(ctx context.Context) error {
	current, found, err := l.s.readHold(ctx, lockName(l.env))
	if err != nil || !found || current.ID != l.hold.ID {
		return err
	}
	return l.s.Objects.Delete(ctx, lockName(l.env))
}
