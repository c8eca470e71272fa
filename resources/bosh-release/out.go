package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Creator runs the bosh CLI for out's release_dir form: `bosh add-blob` and `bosh
// create-release --tarball`; boshcli.CLI is one.
type Creator interface {
	AddBlob(ctx context.Context, releaseDir, file, blobPath string) error
	CreateRelease(ctx context.Context, releaseDir, tarball, version string, final bool) error
}

// out publishes a release tarball: one from the build directory, or one it creates with the bosh
// CLI, under a version params.version picks from the published ones of family when given. Every
// archive in it is verified against release.MF, its name must be the source's, and its version
// is the one published (see records.Releases.Publish).
func out(ctx context.Context, env concourse.Env, releases records.Releases, bosh Creator, family version.Family, params PutParams) (concourse.Response, error) {
	if params.Version != "" {
		return outNext(ctx, env, releases, bosh, family, params)
	}
	path, cleanup, err := tarballToPublish(ctx, env, bosh, params)
	if err != nil {
		return concourse.Response{}, err
	}
	defer cleanup()

	tarball, err := verify(ctx, env, releases, path)
	if err != nil {
		return concourse.Response{}, err
	}
	record, err := releases.Publish(ctx, env.Log, path, tarball, env.Build.String())
	if err != nil {
		return concourse.Response{}, err
	}
	return response(record), nil
}

// verify inspects the tarball at path before it is published: its archives against release.MF,
// its name against the source's, its version's spelling.
func verify(ctx context.Context, env concourse.Env, releases records.Releases, path string) (*release.Tarball, error) {
	env.Log.Printf("verifying %s", filepath.Base(path))
	tarball, err := release.InspectFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("refusing to publish %s: %w", filepath.Base(path), err)
	}
	if name := tarball.Manifest.Name; name != releases.Name {
		return nil, fmt.Errorf("refusing to publish %s: it is release %q, but source.name is %q", filepath.Base(path), name, releases.Name)
	}
	if _, err := version.Parse(tarball.Manifest.Version); err != nil {
		return nil, fmt.Errorf("refusing to publish %s: its release.MF version: %w", filepath.Base(path), err)
	}
	return tarball, nil
}

// tarballToPublish finds the file to publish, creating it with bosh when asked.
func tarballToPublish(ctx context.Context, env concourse.Env, bosh Creator, p PutParams) (string, func(), error) {
	none := func() {}
	if p.File != "" {
		path, err := env.File("params.file", p.File)
		return path, none, err
	}
	releaseDir, err := env.Subdir("params.release_dir", p.ReleaseDir)
	if err != nil {
		return "", none, err
	}
	dir, err := release.OpenDir(releaseDir)
	if err != nil {
		return "", none, err
	}
	env.Log.Secrets().Register(dir.Secrets()...)
	if err := addBlobs(ctx, env, bosh, releaseDir, p.Blobs); err != nil {
		return "", none, err
	}
	v := ""
	if p.VersionFile != "" {
		content, err := env.ReadFile("params.version_file", p.VersionFile)
		if err != nil {
			return "", none, err
		}
		v = strings.TrimSpace(string(content))
		if _, err := version.Parse(v); err != nil {
			return "", none, fmt.Errorf("params.version_file %s: %w", p.VersionFile, err)
		}
	}
	return createTarball(ctx, env, bosh, releaseDir, dir.Name(), v, p.Final)
}

// createTarball runs `bosh create-release --tarball` in releaseDir into a temporary directory;
// cleanup removes it. An empty v lets bosh pick the version.
func createTarball(ctx context.Context, env concourse.Env, bosh Creator, releaseDir, name, v string, final bool) (string, func(), error) {
	none := func() {}
	tmp, err := os.MkdirTemp("", "bosh-release-")
	if err != nil {
		return "", none, err
	}
	removeTmp := func() {
		if err := os.RemoveAll(tmp); err != nil {
			env.Log.Warnf("could not remove %s: %v", tmp, err)
		}
	}
	tarball := filepath.Join(tmp, name+".tgz")
	if v != "" {
		tarball = filepath.Join(tmp, name+"-"+v+".tgz")
	}
	env.Log.Printf("creating release %s %s with bosh", name, v)
	if err := bosh.CreateRelease(ctx, releaseDir, tarball, v, final); err != nil {
		removeTmp()
		return "", none, err
	}
	return tarball, removeTmp, nil
}
