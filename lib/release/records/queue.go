package records

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// The turn of PublishNext: one build of a release picks and builds its version at a time, so
// that racing builds queue instead of all building the same version and all but one building
// again (ten racers would need ten tries each). The turn is only advice: the record write
// alone decides who gets a version, so a turn taken over from a build thought gone, or a
// racing `file` put, costs a rebuild and never a duplicate or a gap.
const (
	turnRenew = 3 * time.Second  // how often the holder shows it is alive
	turnTTL   = 10 * time.Second // a turn not renewed this long (by the waiter's clock) is taken over
	turnPoll  = 250 * time.Millisecond
	turnWait  = 30 * time.Minute // the longest a build waits for its turn in all
)

// turnBody is what the turn object holds (persisted).
type turnBody struct {
	ID      string    `json:"id"`
	By      string    `json:"by"`
	Renewed time.Time `json:"renewed"`
}

func (r Releases) turnName() string { return r.Name + "/locks/next-version.json" }

// takeTurn waits for the release's turn and holds it, renewing it, until the returned release
// is called. A turn whose holder stops renewing it (killed) is taken over after turnTTL, as
// seen on this machine's clock, so clocks of different workers never need to agree.
func (r Releases) takeTurn(ctx context.Context, log alicloud.Log, by string) (func(), error) {
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	mine := turnBody{ID: hex.EncodeToString(raw[:]), By: by}
	deadline := time.Now().Add(turnWait)
	var seen turnBody
	var seenAt time.Time
	for {
		mine.Renewed = time.Now().UTC()
		body, err := json.Marshal(mine)
		if err != nil {
			return nil, err
		}
		created, err := r.Objects.CreateIfAbsent(ctx, r.turnName(), body, alicloud.PutOptions{ContentType: "application/json"})
		if err != nil {
			return nil, fmt.Errorf("taking the turn to pick a version of %s: %w", r.Name, err)
		}
		if created {
			break
		}
		var held turnBody
		_, err = r.Objects.GetJSON(ctx, r.turnName(), &held)
		switch {
		case alicloud.IsNotFound(err):
			continue // given back meanwhile
		case err != nil:
			return nil, fmt.Errorf("reading the turn to pick a version of %s: %w", r.Name, err)
		case held.ID != seen.ID || !held.Renewed.Equal(seen.Renewed):
			if held.ID != seen.ID {
				log.Printf("waiting for %s, which is picking and publishing a version of %s", describeBy(held.By), r.Name)
			}
			seen, seenAt = held, time.Now()
		case time.Since(seenAt) > turnTTL:
			log.Warnf("taking over the turn of %s to pick a version of %s: not renewed for %s", describeBy(held.By), r.Name, turnTTL)
			if err := r.Objects.Delete(ctx, r.turnName()); err != nil {
				return nil, fmt.Errorf("taking over the turn to pick a version of %s: %w", r.Name, err)
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gave up waiting %s for the turn to pick a version of %s, held by %s", turnWait, r.Name, describeBy(held.By))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(turnPoll):
		}
	}

	renewCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.renewTurn(renewCtx, log, mine)
	}()
	return func() {
		stop()
		wg.Wait()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		var held turnBody
		if _, err := r.Objects.GetJSON(cctx, r.turnName(), &held); err != nil || held.ID != mine.ID {
			return // taken over meanwhile, or already gone: not ours to give back
		}
		if err := r.Objects.Delete(cctx, r.turnName()); err != nil {
			log.Warnf("could not give back the turn to pick a version of %s: %v; the next build takes it over in %s", r.Name, err, turnTTL)
		}
	}, nil
}

// renewTurn rewrites the held turn every turnRenew until ctx is done, and stops when the turn
// was taken over (its holder was thought gone).
func (r Releases) renewTurn(ctx context.Context, log alicloud.Log, mine turnBody) {
	ticker := time.NewTicker(turnRenew)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		var held turnBody
		if _, err := r.Objects.GetJSON(ctx, r.turnName(), &held); err == nil && held.ID != mine.ID {
			log.Warnf("the turn to pick a version of %s was taken over by %s; the record write still decides who gets the version", r.Name, describeBy(held.By))
			return
		}
		mine.Renewed = time.Now().UTC()
		body, err := json.Marshal(mine)
		if err == nil {
			_, err = r.Objects.Put(ctx, r.turnName(), body, alicloud.PutOptions{ContentType: "application/json"})
		}
		if err != nil && ctx.Err() == nil {
			log.Warnf("could not renew the turn to pick a version of %s: %v", r.Name, err)
		}
	}
}

func describeBy(by string) string {
	if by == "" {
		return "another build"
	}
	return "build " + by
}
