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

// Creator runs `bosh create-release --tarball` for out's release_dir form; boshcli.CLI is one.
type Creator interface {
	CreateRelease(ctx context.Context, releaseDir, tarball, version string, final bool) error
}

// out publishes a release tarball: one from the build directory, or one it creates with the bosh
// CLI. Every archive in it is verified against release.MF, its name must be the source's, and
// its version is the one published (see records.Releases.Publish).
func out(ctx context.Context, env concourse.Env, releases records.Releases, bosh Creator, params PutParams) (concourse.Response, error) {
	path, cleanup, err := tarballToPublish(ctx, env, bosh, params)
	if err != nil {
		return concourse.Response{}, err
	}
	defer cleanup()

	env.Log.Printf("verifying %s", filepath.Base(path))
	tarball, err := release.InspectFile(ctx, path)
	if err != nil {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: %w", filepath.Base(path), err)
	}
	if name := tarball.Manifest.Name; name != releases.Name {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: it is release %q, but source.name is %q", filepath.Base(path), name, releases.Name)
	}
	if _, err := version.Parse(tarball.Manifest.Version); err != nil {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: its release.MF version: %w", filepath.Base(path), err)
	}
	record, err := releases.Publish(ctx, env.Log, path, tarball, env.Build.String())
	if err != nil {
		return concourse.Response{}, err
	}
	return response(record), nil
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
	tmp, err := os.MkdirTemp("", "bosh-release-")
	if err != nil {
		return "", none, err
	}
	removeTmp := func() {
		if err := os.RemoveAll(tmp); err != nil {
			env.Log.Warnf("could not remove %s: %v", tmp, err)
		}
	}
	tarball := filepath.Join(tmp, dir.Name()+".tgz")
	if v != "" {
		tarball = filepath.Join(tmp, dir.Name()+"-"+v+".tgz")
	}
	env.Log.Printf("creating release %s %s with bosh", dir.Name(), v)
	if err := bosh.CreateRelease(ctx, releaseDir, tarball, v, p.Final); err != nil {
		removeTmp()
		return "", none, err
	}
	return tarball, removeTmp, nil
}
