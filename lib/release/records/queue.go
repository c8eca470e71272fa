package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/lease"
)

// The turn of PublishNext: one build of a release picks and builds its version at a time, so
// that racing builds queue instead of all building the same version and all but one building
// again (ten racers would need ten tries each). The turn is only advice: the record write
// alone decides who gets a version, so a turn taken over from a build thought gone, or a
// racing `file` put, costs a rebuild and never a duplicate or a gap.
const (
	turnRenew = 3 * time.Second  // how often the holder shows it is alive
	turnTTL   = 10 * time.Second // a turn not renewed this long is taken over (its build was killed)
	turnPoll  = 250 * time.Millisecond
	turnWait  = 30 * time.Minute // the longest a build waits for its turn in all
)

func (r Releases) turnPrefix() string { return r.Name + "/locks/next-version/" }

// takeTurn waits for the release's turn and holds it (a lease.Lock, renewed in the
// background) until the returned give-back is called. by names the build, for the others.
func (r Releases) takeTurn(ctx context.Context, log alicloud.Log, by string) (func(), error) {
	what := "the next version of " + r.Name
	deadline := time.Now().Add(turnWait)
	waitingFor := ""
	for {
		turn, _, err := lease.Take(ctx, r.Objects, r.turnPrefix(), what, lease.Options{Holder: by, Renew: turnRenew, TTL: turnTTL, Log: log})
		if err == nil {
			return func() {
				if err := turn.Release(ctx); err != nil {
					log.Warnf("could not give back the turn to pick %s: %v; the next build takes it over in %s", what, err, turnTTL)
				}
			}, nil
		}
		var locked *lease.LockedError
		if !errors.As(err, &locked) {
			return nil, err
		}
		if locked.BuildID != waitingFor {
			log.Printf("waiting for %s, which is picking and publishing %s", locked.Holder, what)
			waitingFor = locked.BuildID
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gave up waiting %s for the turn to pick %s: %w", turnWait, what, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(turnPoll):
		}
	}
}
