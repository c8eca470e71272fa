package main

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// check lists published versions of the source's release in BOSH order, filtered by
// version_family and prereleases: all from the given version on (itself included while it is
// still published), or only the latest on the first check.
func check(ctx context.Context, log *concourse.Logger, releases records.Releases, source Source, from *concourse.Version) ([]concourse.Version, error) {
	all, skipped, err := releases.Versions(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		log.Warnf("ignoring %s: its name is not a BOSH version", s)
	}
	var eligible []version.Version
	for _, v := range source.VersionFamily.Filter(all) {
		if source.Prereleases || v.IsFinal() {
			eligible = append(eligible, v)
		}
	}
	if newest := version.Latest(all); newest != nil && len(eligible) > 0 && newest.Compare(eligible[len(eligible)-1]) > 0 {
		log.Printf("newer version %s is published but skipped: %s", newest, whySkipped(*newest, source))
	}
	window := version.Window(eligible, from.Get("version"))
	return concourse.EncodeVersions(window, func(v version.Version) any { return Version{Version: v.String()} }), nil
}

func whySkipped(v version.Version, source Source) string {
	switch {
	case !source.VersionFamily.Matches(v):
		return "outside version_family " + source.VersionFamily.String()
	case !v.IsFinal() && !source.Prereleases:
		return "a pre-release or dev version, and prereleases is false"
	}
	return "filtered"
}
