package release

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Check lists published versions of the source's release in BOSH order, filtered by
// version_family and prereleases: all from the given version on (itself included while it is
// still published), or only the latest on the first check.
func Check(ctx context.Context, log *concourse.Logger, objects Objects, source Source, from *concourse.Version) ([]concourse.Version, error) {
	all, skipped, err := publishedVersions(ctx, objects, source.Name)
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
	if len(eligible) == 0 {
		return []concourse.Version{}, nil
	}
	start := len(eligible) - 1
	if from != nil {
		var current Version
		if err := concourse.DecodeVersion(*from, &current); err == nil {
			if v, err := version.Parse(current.Version); err == nil {
				for i, e := range eligible {
					if e.Compare(v) >= 0 {
						start = i
						break
					}
				}
			}
		}
	}
	out := make([]concourse.Version, 0, len(eligible)-start)
	for _, v := range eligible[start:] {
		out = append(out, concourse.EncodeVersion(Version{Version: v.String()}))
	}
	return out, nil
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
