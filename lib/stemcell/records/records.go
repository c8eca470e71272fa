// Package records is the OSS layout of light stemcells: each channel's records (what building or
// promoting a version writes last), the light tarballs and the build locks, for one stemcell
// line; and the check that the images a record names still exist.
//
// Every name it writes is persisted: keys and JSON fields never change, so what earlier releases
// of the pack wrote stays readable. It knows no Concourse types.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

// Channels of light stemcell records: building on the candidate channel makes candidates,
// promoting or building on the published channel publishes.
const (
	ChannelPublished = "published"
	ChannelCandidate = "candidate"
)

// Channels are both channels, published first.
var Channels = []string{ChannelPublished, ChannelCandidate}

// Record is what building or publishing a light stemcell writes last: while it is absent, the
// version does not exist on its channel.
type Record struct {
	Stemcell  string            `json:"stemcell"`
	Version   string            `json:"version"`
	Channel   string            `json:"channel"`
	FileName  string            `json:"file_name"` // light-<heavy name>
	Tarball   string            `json:"tarball"`   // its object, relative to the source prefix
	SHA1      string            `json:"sha1"`      // of the light tarball
	SHA256    string            `json:"sha256"`
	Size      int64             `json:"size"`
	HeavySHA1 string            `json:"heavy_sha1"` // stemcell.MF sha1: the image's
	ImageIDs  map[string]string `json:"image_ids"`
	// NvmeSupport is "supported" when every image has Features.NvmeSupport (the heavy
	// stemcell's cloud_properties.nvme_support asked for it).
	NvmeSupport string    `json:"nvme_support,omitempty"`
	Public      bool      `json:"public"`
	SharedWith  []string  `json:"shared_with,omitempty"`
	Manifest    string    `json:"stemcell_mf"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
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

// Missing lists the regions of regions the record has no image in, in their order.
func (r Record) Missing(regions []string) []string {
	var missing []string
	for _, region := range regions {
		if r.ImageIDs[region] == "" {
			missing = append(missing, region)
		}
	}
	return missing
}

// Line is the records of one stemcell line (by its stemcell.MF name) in a bucket. Layout, under
// the source's prefix:
//
//	<stemcell>/<channel>/<version>.json             the channel's record (written last)
//	<stemcell>/tarballs/<version>/<channel>/<file>  the light tarball a build on that channel wrote
//	<stemcell>/locks/<version>/<generation>.json    the build lock of a version (lock.go)
//
// Builds on the two channels never share a tarball object (a promote's published record names
// the candidate's). Records written before the channel was in the tarball's name name
// <stemcell>/tarballs/<version>/<file>; readers follow the record's tarball field.
type Line struct {
	Store    *alicloud.Store
	Stemcell string
}

func (l Line) prefix(channel string) string { return l.Stemcell + "/" + channel + "/" }

// RecordName is the object of a version's record on a channel.
func (l Line) RecordName(channel, v string) string { return l.prefix(channel) + v + ".json" }

// TarballName is the object of the light tarball called file that a build of a version on a
// channel writes.
func (l Line) TarballName(channel, v, file string) string {
	return path.Join(l.Stemcell, "tarballs", v, channel, file)
}

// TarballsPrefix is the prefix of every tarball object of a version, on either channel.
func (l Line) TarballsPrefix(v string) string { return path.Join(l.Stemcell, "tarballs", v) + "/" }

// ErrNotFound says a version has no record on a channel.
var ErrNotFound = errors.New("not found")

// Read reads a version's record on a channel, wrapping ErrNotFound when it has none.
func (l Line) Read(ctx context.Context, channel, v string) (Record, error) {
	var r Record
	_, err := l.Store.GetJSON(ctx, l.RecordName(channel, v), &r)
	if alicloud.IsNotFound(err) {
		return Record{}, fmt.Errorf("%s %s is %w on the %s channel (no %s)", l.Stemcell, v, ErrNotFound, channel, l.RecordName(channel, v))
	}
	if err == nil && (r.Version != v || r.Stemcell != l.Stemcell) {
		return Record{}, fmt.Errorf("the record %s is inconsistent: it says %s %s", l.RecordName(channel, v), r.Stemcell, r.Version)
	}
	return r, err
}

// Exists says whether a version has a record on a channel.
func (l Line) Exists(ctx context.Context, channel, v string) (bool, error) {
	return l.Store.Exists(ctx, l.RecordName(channel, v))
}

// Create writes a record unless its version already has one on its channel; it reports whether
// it wrote it.
func (l Line) Create(ctx context.Context, r Record) (bool, error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encoding the record of %s %s: %w", r.Stemcell, r.Version, err)
	}
	return l.Store.CreateIfAbsent(ctx, l.RecordName(r.Channel, r.Version), body, alicloud.PutOptions{ContentType: "application/json"})
}

// Versions lists the versions with a record on a channel, in BOSH order, from object names
// alone.
func (l Line) Versions(ctx context.Context, channel string) ([]version.Version, error) {
	prefix := l.prefix(channel)
	listed, err := l.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var versions []version.Version
	for _, o := range listed {
		text, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, prefix), ".json")
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

// CheckSpelling refuses a version BOSH orders equal to one with a record on either channel but
// spelled otherwise ("1.484.0" when "1.484" exists), naming the recorded spelling: directors
// match stemcell versions as text (see version.CheckSpelling).
func (l Line) CheckSpelling(ctx context.Context, v string) error {
	parsed, err := version.Parse(v)
	if err != nil {
		return err
	}
	var recorded []version.Version
	for _, channel := range Channels {
		vs, err := l.Versions(ctx, channel)
		if err != nil {
			return err
		}
		recorded = append(recorded, vs...)
	}
	return version.CheckSpelling("stemcell "+l.Stemcell, recorded, parsed)
}
