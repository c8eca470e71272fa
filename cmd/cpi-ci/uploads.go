package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// defaultUploadsAge is how old an unfinished upload must be before prune aborts it: older than
// any build still going, young enough that a killed run's parts cost little.
const defaultUploadsAge = 24 * time.Hour

// pruneUploads aborts the multipart uploads under each prefix of a store initiated more than
// olderThan ago (lists them on a dry run), printing one line per upload on out: what killed
// runs left unfinished and no rerun came back for.
func pruneUploads(ctx context.Context, store *alicloud.Store, prefixes []string, olderThan time.Duration, dryRun bool, out io.Writer) (int, error) {
	did := "aborted"
	if dryRun {
		did = "would abort"
	}
	n := 0
	for _, prefix := range prefixes {
		stale, err := store.AbortStaleUploads(ctx, prefix, olderThan, dryRun)
		for _, u := range stale {
			n++
			if _, werr := fmt.Fprintf(out, "%s upload %s of oss://%s/%s (%s old)\n", did, u.ID, store.Bucket(), store.Key(u.Name), time.Since(u.Initiated).Round(time.Second)); werr != nil {
				return n, fmt.Errorf("writing what was pruned: %w", werr)
			}
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
