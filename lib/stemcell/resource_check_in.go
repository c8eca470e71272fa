package stemcell

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Check lists the channel's versions in BOSH order, filtered by version_family and, when
// source.regions is set, by having an image in every one of those regions: all from the given
// version on, or only the latest on the first check.
func Check(ctx context.Context, log *concourse.Logger, store *alicloud.Store, source Source, from *concourse.Version) ([]concourse.Version, error) {
	all, err := channelVersions(ctx, store, source.Stemcell, source.channel())
	if err != nil {
		return nil, err
	}
	eligible := source.VersionFamily.Filter(all)
	if len(source.Regions) > 0 {
		var complete []version.Version
		for _, v := range eligible {
			record, err := readRecord(ctx, store, source.Stemcell, source.channel(), v.String())
			if err != nil {
				return nil, err
			}
			if missing := missingRegions(record, source.Regions); len(missing) > 0 {
				log.Printf("skipping %s: no image in %s", v, strings.Join(missing, ", "))
				continue
			}
			complete = append(complete, v)
		}
		eligible = complete
	}
	if newest := version.Latest(all); newest != nil && (len(eligible) == 0 || newest.Compare(eligible[len(eligible)-1]) > 0) {
		if !source.VersionFamily.Matches(*newest) {
			log.Printf("newer version %s is on the %s channel but skipped: outside version_family %s", newest, source.channel(), source.VersionFamily)
		}
	}
	if len(eligible) == 0 {
		return []concourse.Version{}, nil
	}
	start := len(eligible) - 1
	if from != nil {
		var current Version
		if concourse.DecodeVersion(*from, &current) == nil {
			if v, err := version.Parse(current.Version); err == nil {
				for i, e := range eligible {
					if e.Compare(v) >= 0 {
						start = i
						break
					}
				}
			}
		}
	}
	out := make([]concourse.Version, 0, len(eligible)-start)
	for _, v := range eligible[start:] {
		out = append(out, concourse.EncodeVersion(Version{Version: v.String()}))
	}
	return out, nil
}

func missingRegions(r Record, regions []string) []string {
	var missing []string
	for _, region := range regions {
		if r.ImageIDs[region] == "" {
			missing = append(missing, region)
		}
	}
	return missing
}

// In fetches a version from the source's channel into dir: version, sha1, sha256, url,
// stemcell.MF, image_ids.json and the light tarball (stemcell.tgz, or its own name).
func In(ctx context.Context, log *concourse.Logger, store *alicloud.Store, source Source, v Version, params GetParams, dir string) (concourse.Response, error) {
	record, err := readRecord(ctx, store, source.Stemcell, source.channel(), v.Version)
	if err != nil {
		return concourse.Response{}, err
	}
	if params.Region != "" && record.ImageIDs[params.Region] == "" {
		return concourse.Response{}, fmt.Errorf("%s %s has no image in %s; it has images in %s",
			record.Stemcell, record.Version, params.Region, strings.Join(record.Regions(), ", "))
	}
	if params.Tarball == nil || *params.Tarball {
		name := "stemcell.tgz"
		if params.PreserveFilename {
			name = record.FileName
		}
		transfer := alicloud.TransferOptions{SHA1: true, Progress: alicloud.LogProgress(log, "downloading "+record.FileName, 5*time.Second)}
		got, err := store.DownloadFile(ctx, record.Tarball, filepath.Join(dir, name), transfer)
		if err != nil {
			return concourse.Response{}, err
		}
		if got.SHA256 != record.SHA256 || got.SHA1 != record.SHA1 {
			_ = os.Remove(filepath.Join(dir, name))
			return concourse.Response{}, fmt.Errorf("the tarball of %s %s does not match its record (sha256 %s, want %s)", record.Stemcell, record.Version, got.SHA256, record.SHA256)
		}
	}
	ids, _ := json.MarshalIndent(record.ImageIDs, "", "  ")
	files := map[string]string{
		"version": record.Version, "sha1": record.SHA1, "sha256": record.SHA256,
		"url": store.URL(record.Tarball), "stemcell.MF": record.Manifest, "image_ids.json": string(ids) + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return concourse.Response{}, err
		}
	}
	return concourse.Response{Version: concourse.EncodeVersion(Version{Version: record.Version}), Metadata: recordMetadata(record, store)}, nil
}

// recordMetadata is what the Concourse UI shows: public facts, an unsigned URL.
func recordMetadata(r Record, store *alicloud.Store) concourse.Metadata {
	var m concourse.Metadata
	m.Add("version", r.Version)
	m.Add("sha256", r.SHA256)
	m.Add("regions", strconv.Itoa(len(r.ImageIDs)))
	m.Add("url", store.URL(r.Tarball))
	return m
}
