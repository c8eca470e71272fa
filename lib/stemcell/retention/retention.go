// Package retention deletes what a stemcell line no longer needs: unpublished images past an age,
// and whole versions (records, images with their snapshots, tarballs).
//
// It finds images by the tags lib/stemcell/builder puts on them and versions by the records of
// lib/stemcell/records; it never touches an image of a published version unless told to
// delete that version.
package retention

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

// ecsCreationTime is how DescribeImages writes CreationTime (UTC).
const ecsCreationTime = "2006-01-02T15:04:05Z"

// PrunedImage is an image PruneUnpublished deleted, or would delete on a dry run.
type PrunedImage struct {
	Region  string
	ID      string
	Version string
	Age     time.Duration
}

// PruneUnpublished deletes, with their snapshots, the images of the stemcell line (found by
// their TagStemcell tag) in regions that are older than olderThan and whose version has no
// record on the published channel. Images of a published version are never touched, nor are
// images without a version tag or a readable creation time. On a dry run nothing is deleted.
// Empty regions means every region ECS offers the account. It returns the images it deleted (or
// would delete), sorted by version, region and id; a failure to delete one image does not stop
// the others, and every failure is in the error.
func PruneUnpublished(ctx context.Context, s *alicloud.Session, store *alicloud.Store, stemcell string, regions []string,
	olderThan time.Duration, dryRun bool, log alicloud.Log) ([]PrunedImage, error) {
	if log == nil {
		log = alicloud.Discard
	}
	if err := checkLine(s, store, stemcell); err != nil {
		return nil, fmt.Errorf("pruning unpublished images: %w", err)
	}
	if olderThan < 0 {
		return nil, fmt.Errorf("pruning unpublished images of %s: a negative age %s", stemcell, olderThan)
	}
	regions, err := regionsOrAll(ctx, s, regions)
	if err != nil {
		return nil, fmt.Errorf("pruning unpublished images of %s: %w", stemcell, err)
	}

	published := map[string]bool{}
	isPublished := func(v string) (bool, error) {
		if p, ok := published[v]; ok {
			return p, nil
		}
		p, err := records.Line{Store: store, Stemcell: stemcell}.Exists(ctx, records.ChannelPublished, v)
		if err != nil {
			return false, fmt.Errorf("looking for the published record of %s %s: %w", stemcell, v, err)
		}
		published[v] = p
		return p, nil
	}

	var pruned []PrunedImage
	var errs []error
	for _, region := range regions {
		images, err := s.Images(ctx, region, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: stemcell}})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, image := range images {
			tags := image.TagMap()
			v := tags[builder.TagStemcellVersion]
			if tags[builder.TagStemcell] != stemcell || v == "" {
				log.Warnf("skipping image %s in %s: it has no %s tag", image.ID, region, builder.TagStemcellVersion)
				continue
			}
			created, err := time.Parse(ecsCreationTime, image.CreationTime)
			if err != nil {
				log.Warnf("skipping image %s in %s: its creation time %q is not one ECS writes", image.ID, region, image.CreationTime)
				continue
			}
			age := time.Since(created)
			if age <= olderThan {
				continue
			}
			p, err := isPublished(v)
			if err != nil {
				return pruned, errors.Join(append(errs, err)...)
			}
			if p {
				continue
			}
			entry := PrunedImage{Region: region, ID: image.ID, Version: v, Age: age.Truncate(time.Second)}
			if dryRun {
				log.Printf("would delete image %s in %s (%s %s, %s old, unpublished)", image.ID, region, stemcell, v, entry.Age)
				pruned = append(pruned, entry)
				continue
			}
			if err := s.DeleteImage(ctx, region, image.ID); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Printf("deleted image %s in %s (%s %s, %s old, unpublished) with its snapshots", image.ID, region, stemcell, v, entry.Age)
			pruned = append(pruned, entry)
		}
	}
	sort.Slice(pruned, func(i, j int) bool {
		a, b := pruned[i], pruned[j]
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.ID < b.ID
	})
	if len(errs) > 0 {
		return pruned, fmt.Errorf("pruning unpublished images of %s: %w", stemcell, errors.Join(errs...))
	}
	return pruned, nil
}

// DeleteVersion deletes a version of the stemcell line entirely: every image of it in regions
// (found by its tags, and the ones its records name in any region) with their snapshots, then
// its tarball objects, and its records on both channels last: a run that fails midway leaves
// the records, so a rerun still knows the images outside regions. Empty regions means every
// region ECS offers the account. Running it again, or on a version that is partly gone, is fine.
func DeleteVersion(ctx context.Context, s *alicloud.Session, store *alicloud.Store, stemcell, version string, regions []string, log alicloud.Log) error {
	if log == nil {
		log = alicloud.Discard
	}
	if err := checkLine(s, store, stemcell); err != nil {
		return fmt.Errorf("deleting a version: %w", err)
	}
	if version == "" || strings.ContainsAny(version, "/\\") || version == "." || version == ".." {
		return fmt.Errorf("deleting a version of %s: %q is not a version", stemcell, version)
	}
	fail := func(err error) error { return fmt.Errorf("deleting %s %s: %w", stemcell, version, err) }
	regions, err := regionsOrAll(ctx, s, regions)
	if err != nil {
		return fail(err)
	}

	// What the records know, before they go.
	images := map[string]map[string]bool{} // region → ids
	addImage := func(region, id string) {
		if images[region] == nil {
			images[region] = map[string]bool{}
		}
		images[region][id] = true
	}
	tarballs := map[string]bool{}
	channels := records.Channels
	line := records.Line{Store: store, Stemcell: stemcell}
	for _, channel := range channels {
		r, err := line.Read(ctx, channel, version)
		switch {
		case errors.Is(err, records.ErrNotFound):
			continue
		case err != nil:
			// An unreadable record is deleted all the same; its images are found by tags.
			log.Warnf("could not read the %s record of %s %s: %v", channel, stemcell, version, err)
			continue
		}
		for region, id := range r.ImageIDs {
			if id != "" {
				addImage(region, id)
			}
		}
		if prefix := line.TarballsPrefix(version); strings.HasPrefix(r.Tarball, prefix) {
			tarballs[r.Tarball] = true
		}
	}

	var errs []error
	query := alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: stemcell, builder.TagStemcellVersion: version}}
	for _, region := range regions {
		found, err := s.Images(ctx, region, query)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, image := range found {
			addImage(region, image.ID)
		}
	}
	for _, region := range pruneKeys(images) {
		for _, id := range pruneKeys(images[region]) {
			if err := s.DeleteImage(ctx, region, id); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Printf("deleted image %s in %s with its snapshots", id, region)
		}
	}
	if len(errs) > 0 {
		// Keep the records and the tarball while images remain: the records name the images
		// outside regions, which a rerun must still find.
		return fail(errors.Join(errs...))
	}

	listed, err := store.List(ctx, line.TarballsPrefix(version))
	if err != nil {
		return fail(err)
	}
	for _, o := range listed {
		tarballs[o.Name] = true
	}
	for _, name := range pruneKeys(tarballs) {
		if err := deleteObject(ctx, store, name, log); err != nil {
			return fail(err)
		}
	}
	for _, channel := range channels {
		if err := deleteObject(ctx, store, line.RecordName(channel, version), log); err != nil {
			return fail(err)
		}
	}
	return nil
}

// deleteObject deletes an object when it is there, saying so: a rerun deletes nothing twice and
// logs only what it did.
func deleteObject(ctx context.Context, store *alicloud.Store, name string, log alicloud.Log) error {
	exists, err := store.Exists(ctx, name)
	if err != nil || !exists {
		return err
	}
	if err := store.Delete(ctx, name); err != nil {
		return err
	}
	log.Printf("deleted object %s", store.Key(name))
	return nil
}

func checkLine(s *alicloud.Session, store *alicloud.Store, stemcell string) error {
	switch {
	case s == nil:
		return errors.New("no session")
	case store == nil:
		return errors.New("no store")
	case stemcell == "" || strings.ContainsAny(stemcell, "/\\"):
		return fmt.Errorf("%q is not a stemcell line", stemcell)
	}
	return nil
}

// regionsOrAll returns regions without blanks and duplicates, or every region ECS offers when
// there are none.
func regionsOrAll(ctx context.Context, s *alicloud.Session, regions []string) ([]string, error) {
	if unique := builder.UniqueRegions(regions); len(unique) > 0 {
		return unique, nil
	}
	all, err := s.Regions(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing regions: %w", err)
	}
	out := make([]string, 0, len(all))
	for _, r := range all {
		out = append(out, r.ID)
	}
	return out, nil
}

func pruneKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
