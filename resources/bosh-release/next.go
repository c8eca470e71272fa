package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// NextVersion is how a release_dir put picks its version from the published ones (params.version).
type NextVersion string

// The choices of params.version; see docs/resources/bosh-release.md.
const (
	NextRC    NextVersion = "next-rc"
	NextDev   NextVersion = "next-dev"
	NextPatch NextVersion = "next-patch"
	NextMinor NextVersion = "next-minor"
	NextMajor NextVersion = "next-major"
)

var nextVersions = []NextVersion{NextRC, NextDev, NextPatch, NextMinor, NextMajor}

// UnmarshalText accepts one of the choices, naming them otherwise.
func (n *NextVersion) UnmarshalText(text []byte) error {
	if !slices.Contains(nextVersions, NextVersion(text)) {
		names := make([]string, len(nextVersions))
		for i, c := range nextVersions {
			names[i] = string(c)
		}
		return fmt.Errorf("expected one of %s, got %q", strings.Join(names, ", "), text)
	}
	*n = NextVersion(text)
	return nil
}

// final says whether the choice makes final versions.
func (n NextVersion) final() bool { return n == NextPatch || n == NextMinor || n == NextMajor }

// validateNext adds the problems of version, rc_base, initial_version and blobs.
func (p PutParams) validateNext(problems *concourse.Problems) {
	if p.File != "" {
		for key, set := range map[string]bool{"version": p.Version != "", "rc_base": p.RCBase != nil, "initial_version": p.InitialVersion != nil, "blobs": p.Blobs != nil} {
			if set {
				problems.Add(key, "goes with release_dir; a tarball's version and blobs are in it already")
			}
		}
		return
	}
	if p.Version != "" && p.VersionFile != "" {
		problems.Add("version", "give either version (picked from the published versions) or version_file, not both")
	}
	if p.Version != "" && p.Final && !p.Version.final() {
		problems.Add("final", "a final release needs a final version; %s makes none", p.Version)
	}
	if p.RCBase != nil && p.Version != NextRC {
		problems.Add("rc_base", "goes with version: next-rc")
	}
	if v := p.InitialVersion; v != nil {
		_, isRC := version.RC(*v)
		switch {
		case p.Version == "":
			problems.Add("initial_version", "goes with version (next-rc, next-dev, next-patch, next-minor or next-major)")
		case p.Version == NextRC && !isRC:
			problems.Add("initial_version", "expected a release candidate such as 1.0.0-rc.1 for version next-rc, got %q", v)
		case p.Version.final() && !v.IsFinal():
			problems.Add("initial_version", "expected a final version such as 1.0.0 for version %s, got %q", p.Version, v)
		}
	}
	for _, blobPath := range slices.Sorted(maps.Keys(p.Blobs)) {
		if !filepath.IsLocal(blobPath) {
			problems.Add("blobs", "expected blob paths inside the release's blobs/ (such as golang/go.tgz), got %q", blobPath)
		}
		if file := p.Blobs[blobPath]; !filepath.IsLocal(file) {
			problems.Add("blobs."+blobPath, "expected a file in the build directory, got %q", file)
		}
	}
}

// pick is the version choice of params.version over the published versions of the source's
// version_family; initial_version when nothing it could follow is published.
func (p PutParams) pick(name string, family version.Family) records.Pick {
	return func(published []version.Version) (version.Version, error) {
		line := family.Filter(published)
		var (
			next version.Version
			ok   bool
			err  error
			what string // what the choice follows
		)
		switch p.Version {
		case NextRC:
			base := version.Major
			if p.RCBase != nil {
				base = *p.RCBase
			}
			next, ok, err = version.NextRC(line, base)
			what = "final or release candidate"
		case NextDev:
			next, ok, err = version.NextDevAfter(line)
			what = "version"
		case NextPatch, NextMinor, NextMajor:
			part := map[NextVersion]version.Part{NextPatch: version.Patch, NextMinor: version.Minor, NextMajor: version.Major}[p.Version]
			next, ok, err = version.NextBump(line, part)
			what = "final"
		}
		if err != nil || ok {
			return next, err
		}
		inFamily := ""
		if !family.MatchesAll() {
			inFamily = " in version_family " + family.String()
		}
		if p.InitialVersion == nil {
			return version.Version{}, fmt.Errorf("params.initial_version: required: no %s of release %s%s is published for %s to follow", what, name, inFamily, p.Version)
		}
		if !family.Matches(*p.InitialVersion) {
			return version.Version{}, fmt.Errorf("params.initial_version %s is outside source.version_family %s", p.InitialVersion, family)
		}
		return *p.InitialVersion, nil
	}
}

// outNext is out for params.version: it adds the blobs, then builds and publishes the version
// the choice picks, building again under the next one when a racing put publishes it first.
func outNext(ctx context.Context, env concourse.Env, releases records.Releases, bosh Creator, family version.Family, p PutParams) (concourse.Response, error) {
	releaseDir, err := env.Subdir("params.release_dir", p.ReleaseDir)
	if err != nil {
		return concourse.Response{}, err
	}
	dir, err := release.OpenDir(releaseDir)
	if err != nil {
		return concourse.Response{}, err
	}
	env.Log.Secrets().Register(dir.Secrets()...)
	if err := addBlobs(ctx, env, bosh, releaseDir, p.Blobs); err != nil {
		return concourse.Response{}, err
	}
	build := func(ctx context.Context, v version.Version) (string, *release.Tarball, func(), error) {
		path, cleanup, err := createTarball(ctx, env, bosh, releaseDir, dir.Name(), v.String(), p.Final)
		if err != nil {
			return "", nil, nil, err
		}
		tarball, err := verify(ctx, env, releases, path)
		if err != nil {
			cleanup()
			return "", nil, nil, err
		}
		return path, tarball, cleanup, nil
	}
	record, err := releases.PublishNext(ctx, env.Log, p.pick(releases.Name, family), build, env.Build.String())
	if err != nil {
		return concourse.Response{}, err
	}
	return response(record), nil
}

// addBlobs runs `bosh add-blob` for every entry of params.blobs (blob path → file in the build
// directory), in the order of the blob paths.
func addBlobs(ctx context.Context, env concourse.Env, bosh Creator, releaseDir string, blobs map[string]string) error {
	for _, blobPath := range slices.Sorted(maps.Keys(blobs)) {
		// Inside the build directory and a regular file, as every path param (Env.File).
		file, err := env.File("params.blobs."+blobPath, blobs[blobPath])
		if err != nil {
			return err
		}
		env.Log.Printf("adding %s as blob %s", blobs[blobPath], blobPath)
		if err := bosh.AddBlob(ctx, releaseDir, file, blobPath); err != nil {
			return err
		}
	}
	return nil
}
