package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// in fetches a published version into dir: version, sha1, sha256, url, release.MF, next-final
// (the final version it promotes to, see version.FinalOf), and the
// tarball (release.tgz, or its published name) unless params.Tarball is false. The tarball's
// SHA-1 and SHA-256 must match the record, or nothing is left behind.
func in(ctx context.Context, log *concourse.Logger, releases records.Releases, v Version, params GetParams, dir string) (concourse.Response, error) {
	record, err := releases.Read(ctx, v.Version)
	if err != nil {
		return concourse.Response{}, err
	}
	final, err := nextFinal(record.Version)
	if err != nil {
		return concourse.Response{}, err
	}
	fetch := artifact.Fetch{
		What: record.Name + " " + record.Version, Object: record.Tarball, Source: record.FileName,
		SHA1: record.SHA1, SHA256: record.SHA256,
		Files: map[string]string{
			"version":    record.Version,
			"sha1":       record.SHA1,
			"sha256":     record.SHA256,
			"url":        releases.Objects.URL(record.Tarball),
			"release.MF": record.ReleaseMF,
			"next-final": final,
		},
	}
	fetch.Tarball = params.FileName("release.tgz", record.FileName)
	if err := fetch.Into(ctx, releases.Objects, log, dir); err != nil {
		return concourse.Response{}, err
	}
	return response(record), nil
}

// response is what in and out answer for a record.
func response(r records.Record) concourse.Response {
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: r.Version}), Metadata: metadata(r)}
}

// metadata is what the Concourse UI shows for a version: public facts only.
func metadata(r records.Record) concourse.Metadata {
	var m concourse.Metadata
	m.Add("version", r.Version)
	m.Add("commit_hash", r.CommitHash)
	m.Add("jobs", strconv.Itoa(len(r.Jobs)))
	m.Add("packages", strconv.Itoa(len(r.Packages)))
	m.Add("sha256", r.SHA256)
	m.Add("size", alicloud.Bytes(r.Size))
	return m
}

// nextFinal is the next-final file of a published version: the final it promotes to.
func nextFinal(v string) (string, error) {
	parsed, err := version.Parse(v)
	if err != nil {
		return "", fmt.Errorf("the record of version %s: %w", v, err)
	}
	final, err := version.FinalOf(parsed)
	if err != nil {
		return "", fmt.Errorf("the final version of %s: %w", v, err)
	}
	return final.String(), nil
}
