// Package lease is the pack's one build lock over OSS: one holder at a time takes it, renews it
// while it works and gives it back; a holder that stops renewing (killed) loses it at its expiry,
// and the next taker takes it over. It knows no domain: callers name the prefix and what it locks.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// Defaults: a held lock is renewed every minute and expires when three renewals are missed (a
// build killed with SIGKILL holds it that long).
const (
	DefaultRenew = time.Minute
	DefaultTTL   = 3 * time.Minute
)

// Store is where locks live; *alicloud.Store is one.
type Store interface {
	List(ctx context.Context, prefix string) ([]alicloud.ObjectInfo, error)
	GetJSON(ctx context.Context, name string, v any) (alicloud.ObjectInfo, error)
	CreateIfAbsent(ctx context.Context, name string, body []byte, opts alicloud.PutOptions) (bool, error)
	Delete(ctx context.Context, name string) error
}

// Options tune Take.
type Options struct {
	Holder string        // who holds it, for the error another build gets (e.g. the build metadata)
	Renew  time.Duration // how often the expiry is pushed on; default DefaultRenew
	TTL    time.Duration // how long a lock lives without renewal; default DefaultTTL
	Log    alicloud.Log  // the take-over of an expired lock, lost locks; nil: none
}

// lockBody is what a lock object holds (persisted).
type lockBody struct {
	BuildID    string    `json:"build_id"`
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// LockedError says another build holds the lock.
type LockedError struct {
	What            string // what the lock locks, e.g. "bosh-alicloud-kvm-ubuntu-noble 1.484"
	Holder, BuildID string
	Age             time.Duration // since the holder acquired it
	ExpiresIn       time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another build of %s is running: %s (build id %s) has held its lock for %s (it expires in %s unless renewed); wait for it, or for the lock to expire if that build is gone",
		e.What, e.Holder, e.BuildID, e.Age.Round(time.Second), e.ExpiresIn.Round(time.Second))
}

// Lock is a held build lock: while it is held, no other holder takes it. Each renewal and each
// take-over creates the next generation of the lock object with forbid-overwrite, so of two
// builds racing for it exactly one wins, and a holder learns that it lost the lock (it was taken
// over after expiring) at its next renewal.
type Lock struct {
	store  Store
	prefix string
	what   string
	opts   Options
	body   lockBody // owned by the renewing goroutine once Take returns
	gen    int
	// buildID is body.BuildID, set once in Take and read by anyone.
	buildID string
	cancel  context.CancelCauseFunc
	stop    chan struct{}
	done    chan struct{}
}

// ErrLost ends the context of a build whose lock was taken over.
var ErrLost = errors.New("the build lock was lost")

func (lk *Lock) name(gen int) string { return Name(lk.prefix, gen) }

// Name is the object of the lock under prefix at a generation (the first is 1).
func Name(prefix string, gen int) string { return prefix + fmt.Sprintf("%08d.json", gen) }

// Take takes the lock under prefix (what names what it locks, for messages), or fails with a
// *LockedError naming the build that holds it. A lock whose holder stopped renewing it past its
// expiry is taken over, and that is logged. The lock is renewed in the background until
// Release; the returned context (from ctx) ends with ErrLost as its cause if the lock is lost
// meanwhile.
func Take(ctx context.Context, store Store, prefix, what string, opts Options) (*Lock, context.Context, error) {
	if opts.Renew <= 0 {
		opts.Renew = DefaultRenew
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Log == nil {
		opts.Log = alicloud.Discard
	}
	if opts.Holder == "" {
		opts.Holder = "an unnamed build"
	}
	lk := &Lock{store: store, prefix: prefix, what: what, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	lk.buildID = newBuildID()
	lk.body = lockBody{BuildID: lk.buildID, Holder: opts.Holder}
	for range 3 {
		gens, err := lk.generations(ctx)
		if err != nil {
			return nil, nil, err
		}
		next := 1
		var expired *lockBody
		if len(gens) > 0 {
			newest := gens[len(gens)-1]
			var held lockBody
			_, err := store.GetJSON(ctx, lk.name(newest), &held)
			if alicloud.IsNotFound(err) {
				continue // released meanwhile
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading the build lock of %s: %w", what, err)
			}
			now := time.Now()
			if now.Before(held.ExpiresAt) {
				return nil, nil, &LockedError{What: what, Holder: held.Holder, BuildID: held.BuildID,
					Age: now.Sub(held.AcquiredAt), ExpiresIn: held.ExpiresAt.Sub(now)}
			}
			expired, next = &held, newest+1
		}
		now := time.Now().UTC()
		lk.body.AcquiredAt, lk.body.ExpiresAt = now, now.Add(opts.TTL)
		created, err := lk.create(ctx, next)
		if err != nil {
			return nil, nil, err
		}
		if !created {
			continue // another build was faster: the next round names it
		}
		lk.gen = next
		if expired != nil {
			opts.Log.Warnf("took over the build lock of %s from %s (build id %s): it expired %s ago",
				what, expired.Holder, expired.BuildID, now.Sub(expired.ExpiresAt).Round(time.Second))
		}
		lk.deleteOlder(ctx)
		lctx, cancel := context.WithCancelCause(ctx)
		lk.cancel = cancel
		go lk.renew(lctx)
		return lk, lctx, nil
	}
	return nil, nil, fmt.Errorf("taking the build lock of %s: other builds kept taking it", what)
}

func (lk *Lock) create(ctx context.Context, gen int) (bool, error) {
	body, _ := json.Marshal(lk.body) // strings and times always encode
	created, err := lk.store.CreateIfAbsent(ctx, lk.name(gen), body, alicloud.PutOptions{ContentType: "application/json"})
	if err != nil {
		return false, fmt.Errorf("taking the build lock of %s: %w", lk.what, err)
	}
	return created, nil
}

// generations lists the lock's generations, lowest first.
func (lk *Lock) generations(ctx context.Context) ([]int, error) {
	prefix := lk.prefix
	listed, err := lk.store.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("reading the build lock of %s: %w", lk.what, err)
	}
	var gens []int
	for _, o := range listed {
		text, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, prefix), ".json")
		if n, err := strconv.Atoi(text); ok && err == nil && n > 0 {
			gens = append(gens, n)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// deleteOlder deletes the generations below the held one; a failure leaves them to the next.
func (lk *Lock) deleteOlder(ctx context.Context) {
	gens, err := lk.generations(ctx)
	if err != nil {
		return
	}
	for _, g := range gens {
		if g < lk.gen {
			_ = lk.store.Delete(ctx, lk.name(g)) // stale generations only cost a list entry
		}
	}
}

// renew pushes the expiry on every Renew by creating the next generation, and ends the lock's
// context when the lock turns out to have been taken over.
func (lk *Lock) renew(ctx context.Context) {
	defer close(lk.done)
	ticker := time.NewTicker(lk.opts.Renew)
	defer ticker.Stop()
	for {
		select {
		case <-lk.stop:
			return
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := lk.renewOnce(ctx); err != nil {
			if errors.Is(err, ErrLost) {
				lk.opts.Log.Warnf("%v", err)
				lk.cancel(err)
				return
			}
			lk.opts.Log.Warnf("could not renew the build lock of %s (it expires at %s): %v",
				lk.what, lk.body.ExpiresAt.Format(time.RFC3339), err)
		}
	}
}

func (lk *Lock) renewOnce(ctx context.Context) error {
	gens, err := lk.generations(ctx)
	if err != nil {
		return err
	}
	if len(gens) == 0 || gens[len(gens)-1] != lk.gen {
		return fmt.Errorf("%w: %s is locked by another build now (this one missed its renewals past the expiry)", ErrLost, lk.what)
	}
	body := lk.body
	body.ExpiresAt = time.Now().UTC().Add(lk.opts.TTL)
	next := &Lock{store: lk.store, prefix: lk.prefix, what: lk.what, body: body}
	created, err := next.create(ctx, lk.gen+1)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("%w: %s was taken over by another build", ErrLost, lk.what)
	}
	lk.body, lk.gen = body, lk.gen+1
	lk.deleteOlder(ctx)
	return nil
}

// Release stops the renewal and deletes the lock (every generation up to the held one), with a
// fresh context: it runs after failures and cancellations too.
func (lk *Lock) Release(ctx context.Context) error {
	close(lk.stop)
	<-lk.done
	lk.cancel(nil)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	gens, err := lk.generations(rctx)
	if err != nil {
		return err
	}
	for _, g := range gens {
		if g > lk.gen {
			continue // a later holder's: not ours to delete
		}
		if err := lk.store.Delete(rctx, lk.name(g)); err != nil {
			return fmt.Errorf("releasing the build lock of %s: %w", lk.what, err)
		}
	}
	return nil
}

// BuildID is the id this lock holder wrote into the lock. It never changes, so it is kept apart
// from the body the renewals rewrite (a caller may ask while a renewal runs).
func (lk *Lock) BuildID() string { return lk.buildID }

func newBuildID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics on a broken system source)
	return hex.EncodeToString(b)
}
