package records

import (
	"context"
	"errors"
	"fmt"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// MaxTries bounds PublishNext: how many versions one publication builds before it gives up
// to the builds racing it.
const MaxTries = 5

// Pick chooses the version to publish from the published ones (in BOSH order).
type Pick func(published []version.Version) (version.Version, error)

// Build makes the verified tarball of version v, at path; cleanup removes what it made.
type Build func(ctx context.Context, v version.Version) (path string, tarball *release.Tarball, cleanup func(), err error)

// PublishNext publishes a build under the version pick chooses from the published ones. No
// number is reserved ahead: Publish's record write, which never overwrites, is the
// reservation. A build that loses the race (the version got published with other content
// meanwhile) is built again under the version pick chooses now, at most MaxTries times in
// all; so no two builds publish one version, and a publication that fails or is killed
// takes no version. Builds of the release take turns (see takeTurn), so racing builds queue
// rather than build in vain. by names who publishes, for the record.
func (r Releases) PublishNext(ctx context.Context, log alicloud.Log, pick Pick, build Build, by string) (Record, error) {
	giveBack, err := r.takeTurn(ctx, log, by)
	if err != nil {
		return Record{}, err
	}
	defer giveBack()
	for try := 1; ; try++ {
		published, _, err := r.Versions(ctx)
		if err != nil {
			return Record{}, err
		}
		v, err := pick(published)
		if err != nil {
			return Record{}, err
		}
		record, err := r.publishBuild(ctx, log, v, build, by)
		switch {
		case err == nil:
			return record, nil
		case !errors.Is(err, ErrOtherContent):
			return Record{}, err
		case try == MaxTries:
			return Record{}, fmt.Errorf("%w; gave up after %d versions, each published by another build first", err, MaxTries)
		}
		log.Printf("%s %s was published by another build meanwhile: building the next version (try %d of %d)", r.Name, v, try+1, MaxTries)
	}
}

// publishBuild builds version v and publishes it, removing the build afterwards.
func (r Releases) publishBuild(ctx context.Context, log alicloud.Log, v version.Version, build Build, by string) (Record, error) {
	path, tarball, cleanup, err := build(ctx, v)
	if err != nil {
		return Record{}, err
	}
	defer cleanup()
	if got := tarball.Manifest.Version; got != v.String() {
		return Record{}, fmt.Errorf("the build of %s %s says version %q in its release.MF", r.Name, v, got)
	}
	return r.Publish(ctx, log, path, tarball, by)
}
