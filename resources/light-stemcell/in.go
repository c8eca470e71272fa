package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

// in fetches a version from the source's channel into dir: version, sha1, sha256, url,
// stemcell.MF, image_ids.json and the light tarball (stemcell.tgz, or its own name). Unless
// params.verify is false it first makes sure every image of the version is still Available: a
// director's delete_stemcell deletes the image it is given.
func in(ctx context.Context, log *concourse.Logger, s *alicloud.Session, line records.Line, source Source, v Version, params GetParams, dir string) (concourse.Response, error) {
	record, err := line.Read(ctx, source.channel(), v.Version)
	if err != nil {
		return concourse.Response{}, err
	}
	if params.Region != "" && record.ImageIDs[params.Region] == "" {
		return concourse.Response{}, fmt.Errorf("%s %s has no image in %s; it has images in %s",
			record.Stemcell, record.Version, params.Region, strings.Join(record.Regions(), ", "))
	}
	if params.Verify == nil || *params.Verify {
		lost, err := records.FindLost(ctx, s, record)
		if err != nil {
			return concourse.Response{}, err
		}
		if err := records.LostError(record.Stemcell, lost); err != nil {
			return concourse.Response{}, fmt.Errorf("%w (verify: false fetches it as it is)", err)
		}
	}
	ids, err := json.MarshalIndent(record.ImageIDs, "", "  ")
	if err != nil {
		return concourse.Response{}, fmt.Errorf("encoding image_ids.json: %w", err)
	}
	fetch := artifact.Fetch{
		What: record.Stemcell + " " + record.Version, Object: record.Tarball, Source: record.FileName,
		SHA1: record.SHA1, SHA256: record.SHA256,
		Files: map[string]string{
			"version": record.Version, "sha1": record.SHA1, "sha256": record.SHA256,
			"url": line.Store.URL(record.Tarball), "stemcell.MF": record.Manifest, "image_ids.json": string(ids) + "\n",
		},
	}
	fetch.Tarball = params.FileName("stemcell.tgz", record.FileName)
	if err := fetch.Into(ctx, line.Store, log, dir); err != nil {
		return concourse.Response{}, err
	}
	return response(record, line), nil
}

// response is what in and out answer for a record.
func response(r records.Record, line records.Line) concourse.Response {
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: r.Version}), Metadata: metadata(r, line)}
}

// metadata is what the Concourse UI shows: public facts, an unsigned URL.
func metadata(r records.Record, line records.Line) concourse.Metadata {
	var m concourse.Metadata
	m.Add("version", r.Version)
	m.Add("sha256", r.SHA256)
	m.Add("regions", strconv.Itoa(len(r.ImageIDs)))
	m.Add("url", line.Store.URL(r.Tarball))
	return m
}
