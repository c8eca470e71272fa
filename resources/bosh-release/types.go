package main

import (
	"regexp"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/problems"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Source configures the bosh-release resource: the shared cloud block and which release line
// to track.
type Source struct {
	alicloud.Cloud
	Name          string         `json:"name" required:"true"`
	VersionFamily version.Family `json:"version_family"`
	// Prereleases includes -rc.N pre-releases and +dev.N candidates; by default only finals.
	Prereleases bool `json:"prereleases"`
}

// namePattern is a release name: bosh's are far shorter than 255 bytes, and an object key
// (which holds it twice) has at most 1,023.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// Validate checks the release name (the kit validates the cloud block it embeds).
func (s Source) Validate() error {
	var found concourse.Problems
	if s.Name != "" && !namePattern.MatchString(s.Name) {
		found.Add("name", "expected a release name of at most 255 letters, digits, '-', '_' and '.', got %s", problems.Quote(s.Name))
	}
	return found.Err()
}

// Version is a published release version: {"version": "61.0.1-rc.3"}.
type Version struct {
	Version string `json:"version" required:"true"`
}

// Validate requires a BOSH version, as every version out emits is.
func (v Version) Validate() error {
	_, err := version.Parse(v.Version)
	return err
}

// GetParams tune in: tarball (false fetches only the files describing the release) and
// preserve_filename (keep the tarball's published name instead of release.tgz).
type GetParams struct {
	artifact.TarballChoice
}

// PutParams choose how out gets the tarball to publish: a built one, or one it builds.
type PutParams struct {
	// File is a glob matching exactly one release tarball in the build directory.
	File string `json:"file"`
	// ReleaseDir is a release directory to run `bosh create-release --tarball` in.
	ReleaseDir string `json:"release_dir"`
	// VersionFile holds the version to create (with release_dir); without it bosh picks the next.
	VersionFile string `json:"version_file"`
	// Final creates a final release (with release_dir).
	Final bool `json:"final"`
	// Version picks the version to create (with release_dir) from the published ones:
	// next-rc, next-dev, next-patch, next-minor or next-major (see next.go).
	Version NextVersion `json:"version"`
	// RCBase is what next-rc bumps of the newest final: major (the default), minor or patch.
	RCBase *version.Part `json:"rc_base"`
	// InitialVersion is what version publishes while nothing it could follow is published.
	InitialVersion *version.Version `json:"initial_version"`
	// Blobs maps blob paths of the release to files in the build directory, added with
	// `bosh add-blob` before the release is created (with release_dir).
	Blobs map[string]string `json:"blobs"`
}

// Validate requires exactly one way to get a tarball.
func (p PutParams) Validate() error {
	var problems concourse.Problems
	switch {
	case p.File == "" && p.ReleaseDir == "":
		problems.Add("file", "missing: give file (a built tarball) or release_dir (to create one)")
	case p.File != "" && p.ReleaseDir != "":
		problems.Add("release_dir", "give either file or release_dir, not both")
	}
	if p.File != "" && p.VersionFile != "" {
		problems.Add("version_file", "goes with release_dir; a tarball's version is in its release.MF")
	}
	if p.File != "" && p.Final {
		problems.Add("final", "goes with release_dir; a tarball is final or not already")
	}
	p.validateNext(&problems)
	return problems.Err()
}
