// Package artifact fetches a published artifact (a release or stemcell tarball and the files
// that describe it) into a directory, as a resource's in does: download, verify against the
// recorded digests, write the files.
//
// It is the one home of that step for every resource; it knows no Concourse types and no
// domain: callers say what the artifact is called and which files describe it.
package artifact

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

// TarballChoice is what a get step says of an artifact's tarball: whether to fetch it, and under
// which name. Resources embed it in their get params (keys tarball and preserve_filename).
type TarballChoice struct {
	Tarball          *bool `json:"tarball"`           // false: everything but the tarball
	PreserveFilename bool  `json:"preserve_filename"` // keep its published name instead of the default
}

// FileName is the file to write the tarball to: "" when it is not wanted, published when the
// name is preserved, else def.
func (c TarballChoice) FileName(def, published string) string {
	switch {
	case c.Tarball != nil && !*c.Tarball:
		return ""
	case c.PreserveFilename:
		return published
	}
	return def
}

// Downloader is where artifacts are kept; *alicloud.Store is one.
type Downloader interface {
	DownloadFile(ctx context.Context, name, path string, opts alicloud.TransferOptions) (alicloud.ObjectInfo, error)
}

// Fetch describes one artifact to fetch.
type Fetch struct {
	What    string // names it in errors and progress, e.g. "cpi 61.0.1"
	Object  string // the tarball's object name
	Source  string // the tarball's own file name, for progress
	SHA1    string // recorded digests the download must match
	SHA256  string
	Tarball string            // file name to write the tarball to; empty: no tarball
	Files   map[string]string // the describing files: name → content
}

// Into downloads the tarball (unless Tarball is empty) into dir and verifies it, then writes the
// describing files (0644). A tarball that does not match its record is removed again, so nothing
// unverified is left behind. Every file lands in dir itself: names must be plain file names, and
// a file is written beside its name and renamed onto it, so a symbolic link planted in dir is
// replaced, never written through.
func (f Fetch) Into(ctx context.Context, store Downloader, log alicloud.Log, dir string) error {
	// Names can come from records (a tarball's published name): only plain names in dir.
	for name := range f.Files {
		if err := plainName(name); err != nil {
			return err
		}
	}
	if f.Tarball != "" {
		if err := plainName(f.Tarball); err != nil {
			return err
		}
		target := filepath.Join(dir, f.Tarball)
		transfer := alicloud.TransferOptions{SHA1: true, Progress: alicloud.LogProgress(log, "downloading "+f.Source, 5*time.Second)}
		got, err := store.DownloadFile(ctx, f.Object, target, transfer)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", f.What, err)
		}
		if got.SHA256 != f.SHA256 || got.SHA1 != f.SHA1 {
			if err := os.Remove(target); err != nil {
				log.Warnf("could not remove the unverified %s: %v", target, err)
			}
			return fmt.Errorf("the tarball of %s does not match its record: sha256 %s (want %s), sha1 %s (want %s)",
				f.What, got.SHA256, f.SHA256, got.SHA1, f.SHA1)
		}
	}
	names := make([]string, 0, len(f.Files))
	for name := range f.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := WriteFile(dir, name, []byte(f.Files[name]), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// plainName refuses a name that is not one plain file name in a directory.
func plainName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0) {
		return fmt.Errorf("refusing to write %q: not a plain file name", name)
	}
	return nil
}

// WriteFile writes content to dir/name (a plain file name) with mode, through a temporary file
// renamed onto it: a rename replaces a link planted in dir rather than following it.
func WriteFile(dir, name string, content []byte, mode os.FileMode) error {
	if err := plainName(name); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".part-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone once renamed; else a partial file
	_, err = tmp.Write(content)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
