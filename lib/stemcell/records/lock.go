package records

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/lease"
)

// Lock defaults: a held lock is renewed every minute and expires when three renewals are
// missed (a build killed with SIGKILL holds its version that long).
const (
	DefaultLockRenew = lease.DefaultRenew
	DefaultLockTTL   = lease.DefaultTTL
)

// LockOptions tune Line.Lock.
type LockOptions = lease.Options

// LockedError says another build holds a version's lock.
type LockedError = lease.LockedError

// Lock is a held build lock of one version: while it is held, no other build of the version
// starts (see lease.Lock).
type Lock = lease.Lock

// ErrLockLost ends the context of a build whose lock was taken over.
var ErrLockLost = lease.ErrLost

func (l Line) lockPrefix(v string) string { return l.Stemcell + "/locks/" + v + "/" }

// LockName is the object of a version's build lock at generation 1 (later generations count up).
func (l Line) LockName(v string) string { return lease.Name(l.lockPrefix(v), 1) }

// Lock takes the build lock of a version, or fails with a *LockedError naming the build that
// holds it. A lock whose holder stopped renewing it past its expiry is taken over, and that is
// logged. The lock is renewed in the background until Release; the returned context (from ctx)
// ends with ErrLockLost as its cause if the lock is lost meanwhile.
func (l Line) Lock(ctx context.Context, v string, opts LockOptions) (*Lock, context.Context, error) {
	return lease.Take(ctx, l.Store, l.lockPrefix(v), l.Stemcell+" "+v, opts)
}
