package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Creator runs `bosh create-release --tarball` for out's release_dir form.
type Creator interface {
	CreateRelease(ctx context.Context, releaseDir, tarball, version string, final bool) error
}

// Out publishes a release tarball: one from the build directory, or one it creates with the
// bosh CLI. Every archive in it is verified against release.MF, its name must be the source's,
// and its version is the one published. Publication is immutable: the same version with the same
// content is a no-op success, with other content an error. The record is written last, so a
// failed out publishes nothing; a tarball it uploaded is removed again.
func Out(ctx context.Context, env concourse.Env, objects Objects, bosh Creator, source Source, params PutParams) (concourse.Response, error) {
	log := env.Log
	path, cleanup, err := tarballToPublish(ctx, env, bosh, params)
	if err != nil {
		return concourse.Response{}, err
	}
	defer cleanup()

	log.Printf("verifying %s", filepath.Base(path))
	tarball, err := InspectFile(path)
	if err != nil {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: %w", filepath.Base(path), err)
	}
	m := tarball.Manifest
	if m.Name != source.Name {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: it is release %q, but source.name is %q", filepath.Base(path), m.Name, source.Name)
	}
	v, err := version.Parse(m.Version)
	if err != nil {
		return concourse.Response{}, fmt.Errorf("refusing to publish %s: its release.MF version: %w", filepath.Base(path), err)
	}

	if existing, err := readRecord(ctx, objects, source.Name, v.String()); err == nil {
		return sameOrConflict(log, existing, tarball)
	} else if !errors.Is(err, ErrNotPublished) {
		return concourse.Response{}, err
	}

	record := Record{
		Name: m.Name, Version: v.String(), SHA1: tarball.SHA1, SHA256: tarball.SHA256, Size: tarball.Size,
		CommitHash: m.CommitHash, UncommittedChanges: m.UncommittedChanges,
		FileName: filepath.Base(path), Tarball: tarballName(m.Name, v.String(), tarball.SHA256),
		ReleaseMF: string(m.Raw), PublishedAt: time.Now().UTC(), PublishedBy: env.Build.String(),
	}
	for _, j := range m.Jobs {
		record.Jobs = append(record.Jobs, j.Name)
	}
	for _, p := range m.Packages {
		record.Packages = append(record.Packages, p.Name)
	}

	uploaded, err := uploadTarball(ctx, log, objects, path, record)
	if err != nil {
		return concourse.Response{}, err
	}
	body, _ := json.MarshalIndent(record, "", "  ")
	created, err := objects.CreateIfAbsent(ctx, recordName(record.Name, record.Version), body, alicloud.PutOptions{ContentType: "application/json"})
	if err != nil || !created {
		if uploaded {
			_ = objects.Delete(context.WithoutCancel(ctx), record.Tarball)
		}
		if err != nil {
			return concourse.Response{}, fmt.Errorf("publishing %s %s: %w", record.Name, record.Version, err)
		}
		// Someone published the version between our look and our write.
		winner, err := readRecord(ctx, objects, record.Name, record.Version)
		if err != nil {
			return concourse.Response{}, err
		}
		return sameOrConflict(log, winner, tarball)
	}
	log.Printf("published %s %s (sha256 %s)", record.Name, record.Version, record.SHA256)
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: record.Version}), Metadata: metadata(record)}, nil
}

// sameOrConflict answers a publication of a version that already exists.
func sameOrConflict(log *concourse.Logger, existing Record, tarball *Tarball) (concourse.Response, error) {
	if existing.SHA256 != tarball.SHA256 {
		return concourse.Response{}, fmt.Errorf("release %s version %s is already published with other content (sha256 %s, this tarball's is %s): published versions are immutable; bump the version",
			existing.Name, existing.Version, existing.SHA256, tarball.SHA256)
	}
	log.Printf("%s %s is already published with the same content: nothing to do", existing.Name, existing.Version)
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: existing.Version}), Metadata: metadata(existing)}, nil
}

// uploadTarball stores the tarball under its content-addressed name; it reports whether this
// call created the object (an identical one may be left by an earlier, failed out).
func uploadTarball(ctx context.Context, log *concourse.Logger, objects Objects, path string, record Record) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	opts := alicloud.UploadOptions{ForbidOverwrite: true, PutOptions: alicloud.PutOptions{ContentType: "application/x-gzip"}}
	opts.SHA1 = true
	opts.Progress = alicloud.LogProgress(log, "uploading "+record.FileName, 5*time.Second)
	info, err := objects.Upload(ctx, record.Tarball, f, opts)
	switch {
	case alicloud.HasCode(err, "FileAlreadyExists"):
		return false, nil // the name holds the content's SHA-256: it is this very tarball
	case err != nil:
		return false, fmt.Errorf("uploading %s: %w", record.FileName, err)
	case info.SHA256 != record.SHA256:
		_ = objects.Delete(context.WithoutCancel(ctx), record.Tarball)
		return false, fmt.Errorf("uploading %s: the file changed while it was published (sha256 %s, verified %s)", record.FileName, info.SHA256, record.SHA256)
	}
	return true, nil
}

// tarballToPublish finds the file to publish, creating it with bosh when asked.
func tarballToPublish(ctx context.Context, env concourse.Env, bosh Creator, p PutParams) (string, func(), error) {
	none := func() {}
	if p.File != "" {
		matches, err := filepath.Glob(filepath.Join(env.Dir, p.File))
		if err != nil {
			return "", none, fmt.Errorf("params.file: %w", err)
		}
		if len(matches) != 1 {
			return "", none, fmt.Errorf("params.file %q matches %d files in %s, expected exactly one: %v", p.File, len(matches), env.Dir, relativeAll(env.Dir, matches))
		}
		return matches[0], none, nil
	}
	releaseDir := filepath.Join(env.Dir, p.ReleaseDir)
	dir, err := OpenDir(releaseDir)
	if err != nil {
		return "", none, err
	}
	env.Log.Secrets().Register(dir.Secrets()...)
	v := ""
	if p.VersionFile != "" {
		content, err := os.ReadFile(filepath.Join(env.Dir, p.VersionFile))
		if err != nil {
			return "", none, fmt.Errorf("params.version_file: %w", err)
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
	tarball := filepath.Join(tmp, dir.Name()+".tgz")
	if v != "" {
		tarball = filepath.Join(tmp, dir.Name()+"-"+v+".tgz")
	}
	env.Log.Printf("creating release %s %s with bosh", dir.Name(), v)
	if err := bosh.CreateRelease(ctx, releaseDir, tarball, v, p.Final); err != nil {
		os.RemoveAll(tmp)
		return "", none, err
	}
	return tarball, func() { os.RemoveAll(tmp) }, nil
}

func relativeAll(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i], _ = filepath.Rel(dir, p)
	}
	return out
}
