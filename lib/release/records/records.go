// Package records is the OSS layout of published BOSH releases and the operations on it: list a
// release's versions, read a version's record, publish a verified tarball.
//
// Every name it writes is persisted: keys and JSON fields never change, so what earlier releases
// of the pack published stays readable. It knows no Concourse types.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Objects is the storage the records live in; *alicloud.Store is one.
type Objects interface {
	List(ctx context.Context, prefix string) ([]alicloud.ObjectInfo, error)
	GetJSON(ctx context.Context, name string, v any) (alicloud.ObjectInfo, error)
	CreateIfAbsent(ctx context.Context, name string, body []byte, opts alicloud.PutOptions) (bool, error)
	Upload(ctx context.Context, name string, r io.Reader, opts alicloud.UploadOptions) (alicloud.ObjectInfo, error)
	DownloadFile(ctx context.Context, name, path string, opts alicloud.TransferOptions) (alicloud.ObjectInfo, error)
	Delete(ctx context.Context, name string) error
	URL(name string) string
}

// Record is what publishing a version writes last: while it is absent, the version does not
// exist. It is immutable once written.
type Record struct {
	Name               string    `json:"name"`
	Version            string    `json:"version"`
	SHA1               string    `json:"sha1"`
	SHA256             string    `json:"sha256"`
	Size               int64     `json:"size"`
	CommitHash         string    `json:"commit_hash"`
	UncommittedChanges bool      `json:"uncommitted_changes"`
	Jobs               []string  `json:"jobs"`
	Packages           []string  `json:"packages"`
	FileName           string    `json:"file_name"` // the tarball's name as published
	Tarball            string    `json:"tarball"`   // its object, relative to the source prefix
	ReleaseMF          string    `json:"release_mf"`
	PublishedAt        time.Time `json:"published_at"`
	PublishedBy        string    `json:"published_by"`
}

// Releases are the records of one release (by name) in a bucket. Layout, under the source's
// prefix:
//
//	<name>/records/<version>.json              the record (written last, never replaced)
//	<name>/tarballs/<version>/<sha256>.tgz     the tarball (one per content, so racing
//	                                           publishers never overwrite each other)
type Releases struct {
	Objects Objects
	Name    string
}

func (r Releases) prefix() string             { return r.Name + "/records/" }
func (r Releases) recordName(v string) string { return r.prefix() + v + ".json" }
func (r Releases) tarballName(v, sha256 string) string {
	return path.Join(r.Name, "tarballs", v, sha256+".tgz")
}

// Versions lists the versions whose record exists, in BOSH order, from object names alone (no
// object is read): a release with 5,000 versions costs 5 list calls. Records whose names are
// not BOSH versions are returned apart, to be reported.
func (r Releases) Versions(ctx context.Context) (versions []version.Version, skipped []string, err error) {
	listed, err := r.Objects.List(ctx, r.prefix())
	if err != nil {
		return nil, nil, err
	}
	for _, o := range listed {
		text, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, r.prefix()), ".json")
		if !ok || strings.Contains(text, "/") {
			continue
		}
		v, err := version.Parse(text)
		if err != nil {
			skipped = append(skipped, o.Name)
			continue
		}
		versions = append(versions, v)
	}
	version.Sort(versions)
	return versions, skipped, nil
}

// ErrNotPublished says a version has no record.
var ErrNotPublished = errors.New("not published")

// Read reads a version's record, saying plainly when the version is not published.
func (r Releases) Read(ctx context.Context, v string) (Record, error) {
	var record Record
	_, err := r.Objects.GetJSON(ctx, r.recordName(v), &record)
	if alicloud.IsNotFound(err) {
		return Record{}, fmt.Errorf("release %s version %s is %w (no %s)", r.Name, v, ErrNotPublished, r.recordName(v))
	}
	if err == nil && (record.Version != v || record.Name != r.Name) {
		return Record{}, fmt.Errorf("the record %s is inconsistent: it says release %s version %s", r.recordName(v), record.Name, record.Version)
	}
	return record, err
}

// Publish publishes the verified tarball at path as its release.MF version. Publication is
// immutable: the same version with the same content is a no-op success, with other content an
// error. The record is written last, so a failed publish publishes nothing; a tarball it
// uploaded is removed again. by names who publishes (a build), for the record.
func (r Releases) Publish(ctx context.Context, log alicloud.Log, path string, tarball *release.Tarball, by string) (Record, error) {
	m := tarball.Manifest
	if m.Name != r.Name {
		return Record{}, fmt.Errorf("it is release %q, not %q", m.Name, r.Name)
	}
	v, err := version.Parse(m.Version)
	if err != nil {
		return Record{}, fmt.Errorf("its release.MF version: %w", err)
	}
	if existing, err := r.Read(ctx, v.String()); err == nil {
		return sameOrConflict(log, existing, tarball)
	} else if !errors.Is(err, ErrNotPublished) {
		return Record{}, err
	}

	record := Record{
		Name: m.Name, Version: v.String(), SHA1: tarball.SHA1, SHA256: tarball.SHA256, Size: tarball.Size,
		CommitHash: m.CommitHash, UncommittedChanges: m.UncommittedChanges,
		FileName: filepath.Base(path), Tarball: r.tarballName(v.String(), tarball.SHA256),
		ReleaseMF: string(m.Raw), PublishedAt: time.Now().UTC(), PublishedBy: by,
	}
	for _, j := range m.Jobs {
		record.Jobs = append(record.Jobs, j.Name)
	}
	for _, p := range m.Packages {
		record.Packages = append(record.Packages, p.Name)
	}

	uploaded, err := r.upload(ctx, log, path, record)
	if err != nil {
		return Record{}, err
	}
	body, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return Record{}, fmt.Errorf("encoding the record of %s %s: %w", record.Name, record.Version, err)
	}
	created, err := r.Objects.CreateIfAbsent(ctx, r.recordName(record.Version), body, alicloud.PutOptions{ContentType: "application/json"})
	if err != nil || !created {
		if uploaded {
			r.remove(ctx, log, record.Tarball)
		}
		if err != nil {
			return Record{}, fmt.Errorf("publishing %s %s: %w", record.Name, record.Version, err)
		}
		// Someone published the version between our look and our write.
		winner, err := r.Read(ctx, record.Version)
		if err != nil {
			return Record{}, err
		}
		return sameOrConflict(log, winner, tarball)
	}
	log.Printf("published %s %s (sha256 %s)", record.Name, record.Version, record.SHA256)
	return record, nil
}

// sameOrConflict answers a publication of a version that already exists.
func sameOrConflict(log alicloud.Log, existing Record, tarball *release.Tarball) (Record, error) {
	if existing.SHA256 != tarball.SHA256 {
		return Record{}, fmt.Errorf("release %s version %s is already published with other content (sha256 %s, this tarball's is %s): published versions are immutable; bump the version",
			existing.Name, existing.Version, existing.SHA256, tarball.SHA256)
	}
	log.Printf("%s %s is already published with the same content: nothing to do", existing.Name, existing.Version)
	return existing, nil
}

// upload stores the tarball under its content-addressed name; it reports whether this call
// created the object (an identical one may be left by an earlier, failed publish).
func (r Releases) upload(ctx context.Context, log alicloud.Log, path string, record Record) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	opts := alicloud.UploadOptions{ForbidOverwrite: true, PutOptions: alicloud.PutOptions{ContentType: "application/x-gzip"}}
	opts.SHA1 = true
	opts.Progress = alicloud.LogProgress(log, "uploading "+record.FileName, 5*time.Second)
	info, err := r.Objects.Upload(ctx, record.Tarball, f, opts)
	switch {
	case alicloud.HasCode(err, "FileAlreadyExists"):
		return false, nil // the name holds the content's SHA-256: it is this very tarball
	case err != nil:
		return false, fmt.Errorf("uploading %s: %w", record.FileName, err)
	case info.SHA256 != record.SHA256:
		r.remove(ctx, log, record.Tarball)
		return false, fmt.Errorf("uploading %s: the file changed while it was published (sha256 %s, verified %s)", record.FileName, info.SHA256, record.SHA256)
	}
	return true, nil
}

// remove deletes an object this publish uploaded, even when ctx is done; a failure is logged,
// because the error that made us clean up is the one to return.
func (r Releases) remove(ctx context.Context, log alicloud.Log, name string) {
	if err := r.Objects.Delete(context.WithoutCancel(ctx), name); err != nil {
		log.Warnf("could not remove %s after the failed publish: %v", name, err)
	}
}
