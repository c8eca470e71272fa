package main

import (
	"fmt"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/problems"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// The channels (records.ChannelPublished, records.ChannelCandidate): out on the candidate
// channel builds candidates, on the published channel it publishes; check and in read the
// channel's records.

// Source configures the alicloud-light-stemcell resource.
type Source struct {
	alicloud.Cloud
	Stemcell      string         `json:"stemcell" required:"true"` // line name, e.g. bosh-alicloud-kvm-ubuntu-noble
	VersionFamily version.Family `json:"version_family"`
	// Regions: versions lacking an image in any of these are not emitted.
	Regions []string `json:"regions"`
	Channel string   `json:"channel"` // published (default) or candidate
}

// Validate checks the channel (the kit validates the cloud block it embeds).
func (s Source) Validate() error {
	var found concourse.Problems
	if s.Stemcell != "" && !stemcell.IsName(s.Stemcell) {
		found.Add("stemcell", "expected a stemcell line name of at most 255 letters, digits, '.', '_', '+' and '-' (such as bosh-alicloud-kvm-ubuntu-noble), got %s", problems.Quote(s.Stemcell))
	}
	checkRegions(&found, "regions", s.Regions)
	if s.Channel != "" && s.Channel != records.ChannelPublished && s.Channel != records.ChannelCandidate {
		found.Add("channel", "expected %q or %q, got %s", records.ChannelPublished, records.ChannelCandidate, problems.Quote(s.Channel))
	}
	return found.Err()
}

// checkRegions requires every region of a list to be a region id.
func checkRegions(found *concourse.Problems, key string, regions []string) {
	for i, r := range regions {
		if !alicloud.IsRegionID(r) {
			found.Add(fmt.Sprintf("%s[%d]", key, i), "expected a region id such as cn-hangzhou, got %s", problems.Quote(r))
		}
	}
}

func (s Source) channel() string {
	if s.Channel == "" {
		return records.ChannelPublished
	}
	return s.Channel
}

// Version is a light stemcell version: {"version": "1.484"}.
type Version struct {
	Version string `json:"version" required:"true"`
}

// Validate requires a BOSH version, as every version out emits is.
func (v Version) Validate() error {
	_, err := version.Parse(v.Version)
	return err
}

// GetParams tune in: tarball and preserve_filename (keep light-<heavy name> instead of stemcell.tgz) as for every
// artifact; region fails the get unless that region has an image; verify: false skips the check
// that every image is still Available.
type GetParams struct {
	artifact.TarballChoice
	Region string `json:"region"`
	Verify *bool  `json:"verify"` // default true
}

// Validate requires region to be a region id.
func (p GetParams) Validate() error {
	var found concourse.Problems
	if p.Region != "" && !alicloud.IsRegionID(p.Region) {
		found.Add("region", "expected a region id such as cn-hangzhou, got %s", problems.Quote(p.Region))
	}
	return found.Err()
}

// PutParams choose what out does: build (heavy_stemcell) or promote (published channel only).
type PutParams struct {
	// Build.
	HeavyStemcell string   `json:"heavy_stemcell"` // glob in the build directory, one match
	Regions       []string `json:"regions"`        // default: every region ECS offers
	BaseRegion    string   `json:"base_region"`    // default: source.region
	ImageBucket   string   `json:"image_bucket"`   // bucket in base_region for the raw image; default source.bucket
	Concurrency   int      `json:"concurrency"`    // copies in flight; default 32
	// CopiesPerSource: copies at once from one source region; default 5, the ECS per-region
	// limit (raise it where the limit counts destinations).
	CopiesPerSource int                `json:"copies_per_source"`
	Timeout         concourse.Duration `json:"timeout"` // the whole build; default none
	// Promote: a candidate version, or a file holding it.
	Promote string `json:"promote"`
	// Sharing, for promote and for build on the published channel.
	Public    *bool    `json:"public"`     // public images and tarball; default true
	ShareWith []string `json:"share_with"` // account ids the images are shared with
}

// Validate requires exactly one action.
func (p PutParams) Validate() error {
	var found concourse.Problems
	switch {
	case p.HeavyStemcell == "" && p.Promote == "":
		found.Add("heavy_stemcell", "missing: give heavy_stemcell (to build) or promote (to publish a candidate)")
	case p.HeavyStemcell != "" && p.Promote != "":
		found.Add("promote", "give either heavy_stemcell or promote, not both")
	}
	checkRegions(&found, "regions", p.Regions)
	if p.BaseRegion != "" && !alicloud.IsRegionID(p.BaseRegion) {
		found.Add("base_region", "expected a region id such as cn-hangzhou, got %s", problems.Quote(p.BaseRegion))
	}
	if p.Concurrency < 0 {
		found.Add("concurrency", "expected 1 or more, got %d", p.Concurrency)
	}
	if p.CopiesPerSource < 0 {
		found.Add("copies_per_source", "expected 1 or more, got %d", p.CopiesPerSource)
	}
	return found.Err()
}

func (p PutParams) public() bool { return p.Public == nil || *p.Public }
