package main

import (
	"context"
	"slices"
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
		if eligible, err = complete(ctx, log, line, source, eligible, from.Get("version")); err != nil {
			return nil, err
		}
	}
	if newest := version.Latest(all); newest != nil && (len(eligible) == 0 || newest.Compare(eligible[len(eligible)-1]) > 0) {
		if !source.VersionFamily.Matches(*newest) {
			log.Printf("newer version %s is on the %s channel but skipped: outside version_family %s", newest, source.channel(), source.VersionFamily)
		}
	}
	window := version.Window(eligible, from.Get("version"))
	return concourse.EncodeVersions(window, func(v version.Version) any { return Version{Version: v.String()} }), nil
}

// complete keeps the versions (sorted oldest first) with an image in every one of
// source.regions, as far as the window from current needs them: it reads the records newest
// first and stops once the window is known (every version from current on, and the first
// complete one below when none is), so a check reads a few records, not the whole line.
func complete(ctx context.Context, log *concourse.Logger, line records.Line, source Source, sorted []version.Version, current string) ([]version.Version, error) {
	from, err := version.Parse(current)
	hasFrom := current != "" && err == nil
	var kept []version.Version // newest first
	for i := len(sorted) - 1; i >= 0; i-- {
		v := sorted[i]
		below := !hasFrom || v.Compare(from) < 0
		if below && len(kept) > 0 {
			break // the window is known: it starts at or above v
		}
		record, err := line.Read(ctx, source.channel(), v.String())
		if err != nil {
			return nil, err
		}
		if missing := record.Missing(source.Regions); len(missing) > 0 {
			log.Printf("skipping %s: no image in %s", v, strings.Join(missing, ", "))
			continue
		}
		kept = append(kept, v)
		if below {
			break // the latest complete version below the current one (or the latest of all)
		}
	}
	slices.Reverse(kept)
	return kept, nil
}
