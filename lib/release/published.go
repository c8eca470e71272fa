package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Objects is the storage the resource needs; *alicloud.Store is one.
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

// Layout, under the source's prefix:
//
//	<name>/records/<version>.json              the record (written last, never replaced)
//	<name>/tarballs/<version>/<sha256>.tgz     the tarball (one per content, so racing
//	                                           publishers never overwrite each other)
func recordsPrefix(name string) string { return name + "/records/" }
func recordName(name, v string) string { return recordsPrefix(name) + v + ".json" }
func tarballName(name, v, sha256 string) string {
	return path.Join(name, "tarballs", v, sha256+".tgz")
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validName(s string) bool { return namePattern.MatchString(s) }

// publishedVersions lists the versions whose record exists, in BOSH order, from object names
// alone (no object is read): a release with 5,000 versions costs 5 list calls.
func publishedVersions(ctx context.Context, objects Objects, name string) ([]version.Version, []string, error) {
	listed, err := objects.List(ctx, recordsPrefix(name))
	if err != nil {
		return nil, nil, err
	}
	var versions []version.Version
	var skipped []string
	for _, o := range listed {
		text, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, recordsPrefix(name)), ".json")
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

// readRecord reads a version's record, saying plainly when the version is not published.
func readRecord(ctx context.Context, objects Objects, name, v string) (Record, error) {
	var r Record
	_, err := objects.GetJSON(ctx, recordName(name, v), &r)
	if alicloud.IsNotFound(err) {
		return Record{}, fmt.Errorf("release %s version %s is %w (no %s)", name, v, ErrNotPublished, recordName(name, v))
	}
	return r, err
}

func asProblems(err error, target *concourse.Problems) bool { return errors.As(err, target) }
