package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// In fetches a published version into dir: version, sha1, sha256, url, release.MF, and the
// tarball (release.tgz, or its published name) unless params.Tarball is false. The tarball's
// SHA-1 and SHA-256 must match the record, or nothing is left behind.
func In(ctx context.Context, log *concourse.Logger, objects Objects, source Source, v Version, params GetParams, dir string) (concourse.Response, error) {
	record, err := readRecord(ctx, objects, source.Name, v.Version)
	if err != nil {
		return concourse.Response{}, err
	}
	if params.Tarball == nil || *params.Tarball {
		fileName := "release.tgz"
		if params.PreserveFilename {
			fileName = record.FileName
		}
		target := filepath.Join(dir, fileName)
		transfer := alicloud.TransferOptions{SHA1: true, Progress: alicloud.LogProgress(log, "downloading "+record.FileName, 5*time.Second)}
		got, err := objects.DownloadFile(ctx, record.Tarball, target, transfer)
		if err != nil {
			return concourse.Response{}, fmt.Errorf("downloading %s %s: %w", source.Name, v.Version, err)
		}
		if got.SHA256 != record.SHA256 || got.SHA1 != record.SHA1 {
			_ = os.Remove(target)
			return concourse.Response{}, fmt.Errorf("the tarball of %s %s does not match its record: sha256 %s (want %s), sha1 %s (want %s)",
				source.Name, v.Version, got.SHA256, record.SHA256, got.SHA1, record.SHA1)
		}
	}
	files := map[string]string{
		"version":    record.Version,
		"sha1":       record.SHA1,
		"sha256":     record.SHA256,
		"url":        objects.URL(record.Tarball),
		"release.MF": record.ReleaseMF,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return concourse.Response{}, err
		}
	}
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: record.Version}), Metadata: metadata(record)}, nil
}

// metadata is what the Concourse UI shows for a version: public facts only.
func metadata(r Record) concourse.Metadata {
	var m concourse.Metadata
	m.Add("version", r.Version)
	m.Add("commit_hash", r.CommitHash)
	m.Add("jobs", strconv.Itoa(len(r.Jobs)))
	m.Add("packages", strconv.Itoa(len(r.Packages)))
	m.Add("sha256", r.SHA256)
	m.Add("size", alicloud.Bytes(r.Size))
	return m
}
