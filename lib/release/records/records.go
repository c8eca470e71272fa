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
	Head(ctx context.Context, name string) (alicloud.ObjectInfo, error)
	AbortUploadsOf(ctx context.Context, name string) ([]alicloud.PendingUpload, error)
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
//	<name>/locks/next-version/<gen>.json       the turn of PublishNext (a lease.Lock, while a
//	                                           build holds it)
type Releases struct {
	Objects Objects
	Name    string
}

func (r Releases) prefix() string             { return r.Name + "/records/" }
func (r Releases) recordName(v string) string { return r.prefix() + v + ".json" }

// TarballsPrefix is the prefix of every tarball object of the release.
func (r Releases) TarballsPrefix() string { return r.Name + "/tarballs/" }

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

// ErrOtherContent says a version is published with content other than the tarball's: the
// version is taken.
var ErrOtherContent = errors.New("already published with other content")

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

// cleanupTimeout bounds the clean-up of a failed publish: Concourse kills a step 10 s after
// SIGTERM, and a clean-up cut short is repaired by the next run of the same put.
const cleanupTimeout = 5 * time.Second

// Publish publishes the verified tarball at path as its release.MF version. Publication is
// immutable: the same version with the same content is a success that verifies (and, when it
// is lost, restores) the tarball behind the record; with other content it is an error, and so
// is a version BOSH orders equal to a published one but spelled otherwise. The record is
// written last, so a failed publish publishes nothing; a tarball this call uploaded is removed
// again unless a record (a racing publisher's) points at it. by names who publishes (a build),
// for the record.
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
		return r.republish(ctx, log, path, existing, tarball)
	} else if !errors.Is(err, ErrNotPublished) {
		return Record{}, err
	}
	published, _, err := r.Versions(ctx)
	if err != nil {
		return Record{}, err
	}
	if err := version.CheckSpelling("release "+r.Name, published, v); err != nil {
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
	if err != nil {
		if uploaded {
			r.cleanup(ctx, log, path, record)
		}
		return Record{}, fmt.Errorf("publishing %s %s: %w", record.Name, record.Version, err)
	}
	if !created {
		// Someone published the version between our look and our write. With the same
		// content their record points at the very tarball we may have uploaded: it stays.
		winner, err := r.Read(ctx, record.Version)
		if err != nil {
			if uploaded {
				r.cleanup(ctx, log, path, record)
			}
			return Record{}, err
		}
		if uploaded && winner.Tarball != record.Tarball {
			r.cleanup(ctx, log, path, record)
		}
		return r.republish(ctx, log, path, winner, tarball)
	}
	if !uploaded {
		// The tarball was found, not made: the run that made it may fail and remove it after
		// our look. Look again now that the record exists (that run looks for it after removing).
		if err := r.ensureTarball(ctx, log, path, record); err != nil {
			return Record{}, fmt.Errorf("published %s %s, but %w", record.Name, record.Version, err)
		}
	}
	r.abortLeftovers(ctx, log, record.Tarball)
	log.Printf("published %s %s (sha256 %s)", record.Name, record.Version, record.SHA256)
	return record, nil
}

// republish answers a publication of a version that already exists: with other content it is
// refused; with the same, the tarball behind the record is verified and restored when lost.
func (r Releases) republish(ctx context.Context, log alicloud.Log, path string, existing Record, tarball *release.Tarball) (Record, error) {
	if existing.SHA256 != tarball.SHA256 {
		return Record{}, fmt.Errorf("release %s version %s is %w (sha256 %s, this tarball's is %s): published versions are immutable; bump the version",
			existing.Name, existing.Version, ErrOtherContent, existing.SHA256, tarball.SHA256)
	}
	if err := r.ensureTarball(ctx, log, path, existing); err != nil {
		return Record{}, fmt.Errorf("%s %s is published, but %w", existing.Name, existing.Version, err)
	}
	r.abortLeftovers(ctx, log, existing.Tarball)
	log.Printf("%s %s is already published with the same content: nothing to do", existing.Name, existing.Version)
	return existing, nil
}

// ensureTarball makes sure the tarball behind a record holds the file at path (the record's
// content, verified by its caller): same size and CRC-64, by HEAD. A missing or different one
// is uploaded again from path.
func (r Releases) ensureTarball(ctx context.Context, log alicloud.Log, path string, record Record) error {
	info, err := r.Objects.Head(ctx, record.Tarball)
	crc := ""
	if err == nil {
		if crc, err = fileCRC64(path); err != nil {
			return err
		}
	}
	switch {
	case err == nil && info.Size == record.Size && (info.CRC64 == "" || info.CRC64 == crc):
		return nil
	case err == nil:
		log.Warnf("the tarball %s of %s %s differs from the published content (%d bytes, CRC-64 %s; expected %d bytes, CRC-64 %s): uploading it again",
			record.Tarball, record.Name, record.Version, info.Size, info.CRC64, record.Size, crc)
	case alicloud.IsNotFound(err):
		log.Warnf("the tarball %s of %s %s is missing: uploading it again", record.Tarball, record.Name, record.Version)
	default:
		return fmt.Errorf("checking its tarball: %w", err)
	}
	if _, err := r.put(ctx, log, path, record, false); err != nil {
		return fmt.Errorf("restoring its tarball: %w", err)
	}
	log.Printf("restored the tarball %s of %s %s", record.Tarball, record.Name, record.Version)
	return nil
}

// upload stores the tarball under its content-addressed name; it reports whether this call
// created the object. An object already there (an earlier, failed publish's, or a racing
// one's) is this very tarball when its size and CRC-64 say so; otherwise it is replaced.
func (r Releases) upload(ctx context.Context, log alicloud.Log, path string, record Record) (bool, error) {
	info, err := r.put(ctx, log, path, record, true)
	switch {
	case alicloud.HasCode(err, "FileAlreadyExists"):
		return false, r.ensureTarball(ctx, log, path, record)
	case err != nil && ctx.Err() == nil:
		// A racing publisher of the same content may have completed it meanwhile (and aborted
		// our upload as a leftover of its own key): then it is there, which is all we need.
		if exists, _ := r.holds(ctx, path, record); exists {
			return false, nil
		}
		return false, fmt.Errorf("uploading %s: %w", record.FileName, err)
	case err != nil:
		return false, fmt.Errorf("uploading %s: %w", record.FileName, err)
	case info.SHA256 != record.SHA256:
		r.remove(ctx, log, record.Tarball)
		return false, fmt.Errorf("uploading %s: the file changed while it was published (sha256 %s, verified %s)", record.FileName, info.SHA256, record.SHA256)
	}
	return true, nil
}

// holds says whether the tarball object exists with the size and CRC-64 of the file at path.
func (r Releases) holds(ctx context.Context, path string, record Record) (bool, error) {
	info, err := r.Objects.Head(ctx, record.Tarball)
	if err != nil {
		return false, err
	}
	crc, err := fileCRC64(path)
	if err != nil {
		return false, err
	}
	return info.Size == record.Size && info.CRC64 == crc, nil
}

// put uploads the file at path as the record's tarball.
func (r Releases) put(ctx context.Context, log alicloud.Log, path string, record Record, forbidOverwrite bool) (alicloud.ObjectInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return alicloud.ObjectInfo{}, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	opts := alicloud.UploadOptions{ForbidOverwrite: forbidOverwrite, PutOptions: alicloud.PutOptions{ContentType: "application/x-gzip"}}
	opts.SHA1 = true
	opts.Progress = alicloud.LogProgress(log, "uploading "+record.FileName, 5*time.Second)
	return r.Objects.Upload(ctx, record.Tarball, f, opts)
}

// cleanup removes the tarball a failed publish uploaded, even when ctx is done, unless a
// record of the same content points at it: a racing publisher that found our tarball and wrote
// its record. It looks for that record before removing and again after, restoring the tarball
// when the record appeared meanwhile (the racer looks for the tarball after writing it, so one
// of the two always sees the other). Failures are logged: the error that made us clean up is
// the one to return.
func (r Releases) cleanup(ctx context.Context, log alicloud.Log, path string, record Record) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if r.pointsAt(cctx, record) {
		log.Printf("keeping %s: a record of %s %s points at it", record.Tarball, record.Name, record.Version)
		return
	}
	r.remove(cctx, log, record.Tarball)
	if r.pointsAt(cctx, record) {
		if _, err := r.put(cctx, log, path, record, false); err != nil {
			log.Warnf("the record of %s %s appeared while its tarball was removed, and restoring it failed: %v; a rerun of this put restores it", record.Name, record.Version, err)
			return
		}
		log.Printf("restored %s: a record of %s %s appeared meanwhile", record.Tarball, record.Name, record.Version)
	}
}

// pointsAt says whether the version's record exists and names this tarball.
func (r Releases) pointsAt(ctx context.Context, record Record) bool {
	existing, err := r.Read(ctx, record.Version)
	return err == nil && existing.Tarball == record.Tarball
}

// abortLeftovers aborts the multipart uploads of the tarball's name, now that the tarball is
// there: what a run killed while uploading the same content left. Other names are never touched.
func (r Releases) abortLeftovers(ctx context.Context, log alicloud.Log, name string) {
	aborted, err := r.Objects.AbortUploadsOf(ctx, name)
	if err != nil {
		log.Warnf("could not abort the unfinished uploads of %s: %v", name, err)
	}
	for _, u := range aborted {
		log.Printf("aborted the unfinished upload %s of %s (started %s), left by an earlier run", u.ID, name, u.Initiated.Format(time.RFC3339))
	}
}

// remove deletes an object this publish uploaded, even when ctx is done; a failure is logged,
// because the error that made us clean up is the one to return.
func (r Releases) remove(ctx context.Context, log alicloud.Log, name string) {
	if err := r.Objects.Delete(context.WithoutCancel(ctx), name); err != nil {
		log.Warnf("could not remove %s after the failed publish: %v", name, err)
	}
}

// fileCRC64 is the CRC-64 of a file, as OSS reports an object's.
func fileCRC64(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	crc, _, err := alicloud.CRC64(f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	return crc, nil
}
