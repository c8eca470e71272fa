package main

import (
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
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
	var problems concourse.Problems
	if s.Channel != "" && s.Channel != records.ChannelPublished && s.Channel != records.ChannelCandidate {
		problems.Add("channel", "expected %q or %q, got %q", records.ChannelPublished, records.ChannelCandidate, s.Channel)
	}
	return problems.Err()
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

// GetParams tune in: tarball and preserve_filename (keep light-<heavy name> instead of stemcell.tgz) as for every
// artifact; region fails the get unless that region has an image; verify: false skips the check
// that every image is still Available.
type GetParams struct {
	artifact.TarballChoice
	Region string `json:"region"`
	Verify *bool  `json:"verify"` // default true
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
	var problems concourse.Problems
	switch {
	case p.HeavyStemcell == "" && p.Promote == "":
		problems.Add("heavy_stemcell", "missing: give heavy_stemcell (to build) or promote (to publish a candidate)")
	case p.HeavyStemcell != "" && p.Promote != "":
		problems.Add("promote", "give either heavy_stemcell or promote, not both")
	}
	if p.Concurrency < 0 {
		problems.Add("concurrency", "expected 1 or more, got %d", p.Concurrency)
	}
	if p.CopiesPerSource < 0 {
		problems.Add("copies_per_source", "expected 1 or more, got %d", p.CopiesPerSource)
	}
	return problems.Err()
}

func (p PutParams) public() bool { return p.Public == nil || *p.Public }
