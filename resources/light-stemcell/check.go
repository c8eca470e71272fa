package main

import (
	"context"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// check lists the channel's versions in BOSH order, filtered by version_family and, when
// source.regions is set, by having an image in every one of those regions: all from the given
// version on, or only the latest on the first check.
func check(ctx context.Context, log *concourse.Logger, line records.Line, source Source, from *concourse.Version) ([]concourse.Version, error) {
	all, err := line.Versions(ctx, source.channel())
	if err != nil {
		return nil, err
	}
	eligible := source.VersionFamily.Filter(all)
	if len(source.Regions) > 0 {
		var complete []version.Version
		for _, v := range eligible {
			record, err := line.Read(ctx, source.channel(), v.String())
			if err != nil {
				return nil, err
			}
			if missing := record.Missing(source.Regions); len(missing) > 0 {
				log.Printf("skipping %s: no image in %s", v, strings.Join(missing, ", "))
				continue
			}
			complete = append(complete, v)
		}
		eligible = complete
	}
	if newest := version.Latest(all); newest != nil && (len(eligible) == 0 || newest.Compare(eligible[len(eligible)-1]) > 0) {
		if !source.VersionFamily.Matches(*newest) {
			log.Printf("newer version %s is on the %s channel but skipped: outside version_family %s", newest, source.channel(), source.VersionFamily)
		}
	}
	window := version.Window(eligible, from.Get("version"))
	return concourse.EncodeVersions(window, func(v version.Version) any { return Version{Version: v.String()} }), nil
}
