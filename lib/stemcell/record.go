package stemcell

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Record is what building or publishing a light stemcell writes last: while it is absent, the
// version does not exist on its channel.
type Record struct {
	Stemcell   string            `json:"stemcell"`
	Version    string            `json:"version"`
	Channel    string            `json:"channel"`
	FileName   string            `json:"file_name"` // light-<heavy name>
	Tarball    string            `json:"tarball"`   // its object, relative to the source prefix
	SHA1       string            `json:"sha1"`      // of the light tarball
	SHA256     string            `json:"sha256"`
	Size       int64             `json:"size"`
	HeavySHA1  string            `json:"heavy_sha1"` // stemcell.MF sha1: the image's
	ImageIDs   map[string]string `json:"image_ids"`
	Public     bool              `json:"public"`
	SharedWith []string          `json:"shared_with,omitempty"`
	Manifest   string            `json:"stemcell_mf"`
	CreatedAt  time.Time         `json:"created_at"`
	CreatedBy  string            `json:"created_by"`
}

// Regions lists the regions the record has images in, sorted.
func (r Record) Regions() []string {
	regions := make([]string, 0, len(r.ImageIDs))
	for region := range r.ImageIDs {
		regions = append(regions, region)
	}
	sort.Strings(regions)
	return regions
}

// Layout, under the source's prefix:
//
//	<stemcell>/<channel>/<version>.json       the channel's record (written last)
//	<stemcell>/tarballs/<version>/<file>      the light tarball
func recordsPrefix(stemcell, channel string) string { return stemcell + "/" + channel + "/" }
func recordName(stemcell, channel, v string) string {
	return recordsPrefix(stemcell, channel) + v + ".json"
}
func tarballName(stemcell, v, file string) string { return path.Join(stemcell, "tarballs", v, file) }

// ErrNotFound says a version has no record on a channel.
var ErrNotFound = errors.New("not found")

func readRecord(ctx context.Context, store *alicloud.Store, stemcell, channel, v string) (Record, error) {
	var r Record
	_, err := store.GetJSON(ctx, recordName(stemcell, channel, v), &r)
	if alicloud.IsNotFound(err) {
		return Record{}, fmt.Errorf("%s %s is %w on the %s channel (no %s)", stemcell, v, ErrNotFound, channel, recordName(stemcell, channel, v))
	}
	return r, err
}

// channelVersions lists the versions with a record on a channel, in BOSH order, from object
// names alone.
func channelVersions(ctx context.Context, store *alicloud.Store, stemcell, channel string) ([]version.Version, error) {
	listed, err := store.List(ctx, recordsPrefix(stemcell, channel))
	if err != nil {
		return nil, err
	}
	var versions []version.Version
	for _, o := range listed {
		text, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, recordsPrefix(stemcell, channel)), ".json")
		if !ok || strings.Contains(text, "/") {
			continue
		}
		if v, err := version.Parse(text); err == nil {
			versions = append(versions, v)
		}
	}
	version.Sort(versions)
	return versions, nil
}
