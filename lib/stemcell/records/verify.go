package records

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/panics"
)

// Lost is an image a record names that no longer exists or is not Available: the CPI's
// delete_stemcell deletes the image it is given, so a director that deletes a light stemcell
// deletes the published image.
type Lost struct {
	Channel, Version string
	Region, ID       string
	Status           string // "" when the image is gone
}

func (l Lost) String() string {
	if l.Status == "" {
		return fmt.Sprintf("%s (%s is gone)", l.Region, l.ID)
	}
	return fmt.Sprintf("%s (%s is %s)", l.Region, l.ID, l.Status)
}

// verifyRegions is how many regions FindLost asks at once; verifyBatch how many ids one
// DescribeImages names (its ImageId takes up to 100).
const (
	verifyRegions = 8
	verifyBatch   = 100
)

// FindLost looks up every image the records name, with one DescribeImages per region (per 100
// images), at most verifyRegions regions at once, and returns the ones lost, record by record
// and region by region.
func FindLost(ctx context.Context, s *alicloud.Session, rs ...Record) ([]Lost, error) {
	byRegion := map[string][]string{}
	for _, r := range rs {
		for region, id := range r.ImageIDs {
			byRegion[region] = append(byRegion[region], id)
		}
	}
	regions := make([]string, 0, len(byRegion))
	for region := range byRegion {
		regions = append(regions, region)
	}
	sort.Strings(regions)
	status := make([]map[string]string, len(regions)) // per region: id → status
	errs := make([]error, len(regions))
	sem := make(chan struct{}, verifyRegions)
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = panics.Catch(func() error {
				found := map[string]string{}
				ids := unique(byRegion[region])
				for len(ids) > 0 {
					batch := ids[:min(verifyBatch, len(ids))]
					ids = ids[len(batch):]
					images, err := s.Images(ctx, region, alicloud.ImageQuery{IDs: batch})
					if err != nil {
						return err
					}
					for _, img := range images {
						found[img.ID] = img.Status
					}
				}
				status[i] = found
				return nil
			})
		}()
	}
	wg.Wait()
	var failed []string
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("verifying the images: %s", strings.Join(failed, "; "))
	}
	index := map[string]int{}
	for i, region := range regions {
		index[region] = i
	}
	var lost []Lost
	for _, r := range rs {
		for _, region := range r.Regions() {
			id := r.ImageIDs[region]
			if st := status[index[region]][id]; st != alicloud.ImageAvailable {
				lost = append(lost, Lost{Channel: r.Channel, Version: r.Version, Region: region, ID: id, Status: st})
			}
		}
	}
	return lost, nil
}

func unique(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// LostError is the error for lost images of a line: it names every lost region of every
// version and how to rebuild them. Records never change, so a rebuild is a delete of the
// version and a new build of it (directors upload it again), or a new version.
func LostError(stemcell string, lost []Lost) error {
	if len(lost) == 0 {
		return nil
	}
	type key struct{ channel, version string }
	var order []key
	byVersion := map[key][]string{}
	for _, l := range lost {
		k := key{l.Channel, l.Version}
		if _, ok := byVersion[k]; !ok {
			order = append(order, k)
		}
		byVersion[k] = append(byVersion[k], l.String())
	}
	parts := make([]string, len(order))
	versions := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s %s (%s channel) has lost its images in %s", stemcell, k.version, k.channel, strings.Join(byVersion[k], ", "))
		versions[i] = k.version
	}
	versions = unique(versions)
	version := versions[0]
	if len(versions) > 1 {
		version = "V (for each of " + strings.Join(versions, ", ") + ")"
	}
	return fmt.Errorf("%s. A director's delete_stemcell deletes the image it is given (bosh delete-stemcell, clean-up, delete-env), "+
		"and so does create_stemcell with encrypted: true in the CPI config. To rebuild them, run `cpi-ci stemcell delete-version --stemcell %s --version %s` "+
		"and put the heavy stemcell of that version again (directors that have it must upload it again), or publish a new version",
		strings.Join(parts, "; "), stemcell, version)
}
