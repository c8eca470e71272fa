package director

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// Lease is who may change an env until when. Token proves it: it is kept in the lease object
// and in revisions (both private), handed to the holder by `in`, and never put in a version or
// metadata.
type Lease struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
	Token   string    `json:"token"`
}

// Expired reports whether the lease has run out at t.
func (l Lease) Expired(t time.Time) bool { return !t.Before(l.Expires) }

// shortLockTTL bounds the operation lock of a claim or release, which only writes a revision.
const shortLockTTL = 2 * time.Minute

// lockWait is how long claim and release wait for a create or destroy to finish with the lock.
const lockWait = 30 * time.Second

// carried is the revision after latest with everything about the env kept.
func carried(latest Revision, found bool) Revision {
	if !found {
		return Revision{}
	}
	return Revision{
		Env: latest.Env, Base: latest.Number, Parts: latest.Parts, Metadata: latest.Metadata, Lease: latest.Lease,
		LightStemcells: latest.LightStemcells, CacheKey: latest.CacheKey,
		Status: statusAfter(latest),
	}
}

// statusAfter is what a revision that changes only the lease says of the env: as before.
func statusAfter(latest Revision) Status {
	switch latest.Status {
	case StatusClaimed, StatusReleased:
		if latest.Live() {
			return StatusCreated
		}
		if latest.Destroyed() {
			return StatusDestroyed
		}
		return ""
	}
	return latest.Status
}

// Claim takes the lease of env for owner for ttl, and records it in a revision (whose number
// is the version to hand on). It fails at once with a *HeldError when another unexpired lease
// is held; an expired one is broken and logged.
func (s Store) Claim(ctx context.Context, env, owner string, ttl time.Duration, log Log) (Revision, error) {
	lease := Lease{Owner: owner, Expires: s.now().Add(ttl), Token: randomHex(24)}
	h, err := s.acquire(ctx, env, "lease", leaseName(env), hold{Holder: owner, Action: "claim", Expires: lease.Expires, Token: lease.Token}, log)
	if err != nil {
		return Revision{}, err
	}
	lease.Expires = h.Expires
	r, err := s.leaseRevision(ctx, env, owner, "claim", StatusClaimed, &lease, log)
	if err != nil {
		// Nothing records the lease: give it back rather than keep an env nobody can use.
		if undo := s.Objects.Delete(context.WithoutCancel(ctx), leaseName(env)); undo != nil {
			return Revision{}, fmt.Errorf("%w (and giving the lease back failed: %v)", err, undo)
		}
		return Revision{}, err
	}
	logf(log, "env %s: leased to %s until %s (revision %d)", env, owner, lease.Expires.Format(time.RFC3339), r.Number)
	return r, nil
}

// ClaimOne claims the first member of envs (tried in random order, so claimers spread) with
// no unexpired lease, waiting up to wait for one to become free (0: fail at once naming every
// holder).
func (s Store) ClaimOne(ctx context.Context, envs []string, owner string, ttl, wait time.Duration, log Log) (Revision, error) {
	deadline := time.Now().Add(wait)
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		var held []string
		for _, i := range rand.Perm(len(envs)) {
			r, err := s.Claim(ctx, envs[i], owner, ttl, log)
			var h *HeldError
			switch {
			case err == nil:
				return r, nil
			case errors.As(err, &h):
				held = append(held, h.Error())
			default:
				return Revision{}, err
			}
		}
		if !time.Now().Add(delay).Before(deadline) {
			return Revision{}, fmt.Errorf("no env of the pool is free: %s", strings.Join(held, "; "))
		}
		select {
		case <-ctx.Done():
			return Revision{}, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// leaseRevision writes a revision that changes only the lease, under the operation lock.
func (s Store) leaseRevision(ctx context.Context, env, who, action string, status Status, lease *Lease, log Log) (Revision, error) {
	lock, err := s.LockWaiting(ctx, env, who, action, shortLockTTL, lockWait, log)
	if err != nil {
		return Revision{}, err
	}
	defer func() { _ = lock.Unlock(context.WithoutCancel(ctx)) }() // an unlock that fails leaves a lock that expires
	latest, found, err := s.Latest(ctx, env)
	if err != nil {
		return Revision{}, err
	}
	r := carried(latest, found)
	r.Env, r.Status, r.Action, r.Who, r.Lease, r.Error = env, status, action, who, lease, ""
	return s.Write(ctx, r)
}

// Holder returns env's current unexpired lease; ok is false when none is held.
func (s Store) Holder(ctx context.Context, env string) (Lease, bool, error) {
	h, found, err := s.readHold(ctx, leaseName(env))
	if err != nil || !found || !s.now().Before(h.Expires) {
		return Lease{}, false, err
	}
	return Lease{Owner: h.Holder, Expires: h.Expires, Token: h.Token}, true, nil
}

// Authorize checks that token may change env: required when env is leased, and then it must be
// the lease's. It renews a held lease (renew > 0: by renew; 0: by its own length; < 0: not) and
// returns it (nil when env is not leased).
func (s Store) Authorize(ctx context.Context, env, token string, renew time.Duration) (*Lease, error) {
	h, found, err := s.readHold(ctx, leaseName(env))
	if err != nil {
		return nil, err
	}
	leased := found && s.now().Before(h.Expires)
	switch {
	case !leased && token == "":
		return nil, nil
	case !leased:
		return nil, fmt.Errorf("env %s: params.lease is given, but the env holds no lease (released or expired): claim it again", env)
	case token == "":
		return nil, &HeldError{Env: env, What: "lease", Holder: h.Holder, Expires: h.Expires}
	case subtle.ConstantTimeCompare([]byte(token), []byte(h.Token)) != 1:
		return nil, fmt.Errorf("env %s: params.lease is not the token of the lease held by %s until %s", env, h.Holder, h.Expires.Format(time.RFC3339))
	}
	if renew >= 0 {
		if renew == 0 {
			renew = h.Expires.Sub(h.Taken)
		}
		h.Taken = s.now()
		h.Expires = h.Taken.Add(renew)
		body, _ := json.Marshal(h) // strings and times always encode
		if _, err := s.Objects.Put(ctx, leaseName(env), body, alicloud.PutOptions{ContentType: "application/json", Private: true}); err != nil {
			return nil, err
		}
	}
	return &Lease{Owner: h.Holder, Expires: h.Expires, Token: h.Token}, nil
}

// Release gives env's lease back; only its token may. The released revision is returned.
func (s Store) Release(ctx context.Context, env, token, who string, log Log) (Revision, error) {
	if _, err := s.Authorize(ctx, env, token, -1); err != nil {
		return Revision{}, err
	}
	if token == "" {
		return Revision{}, fmt.Errorf("env %s holds no lease to release", env)
	}
	if err := s.Objects.Delete(ctx, leaseName(env)); err != nil {
		return Revision{}, err
	}
	r, err := s.leaseRevision(ctx, env, who, "release", StatusReleased, nil, log)
	if err == nil {
		logf(log, "env %s: lease released (revision %d)", env, r.Number)
	}
	return r, err
}

// BreakExpired breaks env's lease when it has expired, recording a released revision; it
// reports whether it broke one.
func (s Store) BreakExpired(ctx context.Context, env, who string, log Log) (bool, error) {
	h, found, err := s.readHold(ctx, leaseName(env))
	if err != nil || !found || s.now().Before(h.Expires) {
		return false, err
	}
	broke, err := s.breakExpired(ctx, env, "lease", leaseName(env), h, log)
	if err != nil || !broke {
		return false, err
	}
	_, err = s.leaseRevision(ctx, env, who, "break-expired", StatusReleased, nil, log)
	return true, err
}

// Envs lists the envs under the store (every folder with revisions or a lease).
func (s Store) Envs(ctx context.Context) ([]string, error) {
	listed, err := s.Objects.List(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range listed {
		env, rest, ok := strings.Cut(o.Name, "/")
		if ok && (strings.HasPrefix(rest, "revisions/") || rest == "lease") && !seen[env] {
			seen[env] = true
			out = append(out, env)
		}
	}
	return out, nil
}
