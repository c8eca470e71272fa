package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

// out builds a light stemcell (heavy_stemcell) onto the source's channel, or promotes a
// candidate to the published channel. The record is written last, so a failed out publishes
// nothing.
func out(ctx context.Context, env concourse.Env, s *alicloud.Session, line records.Line, source Source, params PutParams) (concourse.Response, error) {
	if params.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, params.Timeout.Std())
		defer cancel()
	}
	if params.Promote != "" {
		return promote(ctx, env, s, line, source, params)
	}
	return build(ctx, env, s, line, source, params)
}

func build(ctx context.Context, env concourse.Env, s *alicloud.Session, line records.Line, source Source, params PutParams) (concourse.Response, error) {
	heavyPath, err := env.File("params.heavy_stemcell", params.HeavyStemcell)
	if err != nil {
		return concourse.Response{}, err
	}
	channel := source.channel()
	// The heavy stemcell's version and sha1 decide whether to build at all: read them before
	// anything is uploaded or imported.
	heavyManifest, err := readManifest(heavyPath)
	if err != nil {
		return concourse.Response{}, err
	}
	v, heavySHA1 := heavyManifest.Version(), heavyManifest.SHA1()
	if existing, done, err := admit(ctx, env, line, channel, v, heavySHA1, params); done || err != nil {
		return existing, err
	}
	lock, ctx, err := line.Lock(ctx, v, records.LockOptions{Holder: env.Build.String(), Log: env.Log})
	if err != nil {
		return concourse.Response{}, err
	}
	defer func() {
		if err := lock.Release(ctx); err != nil {
			env.Log.Warnf("%v (it expires on its own)", err)
		}
	}()
	// Again under the lock: a build that held it may have recorded the version meanwhile.
	if existing, done, err := admit(ctx, env, line, channel, v, heavySHA1, params); done || err != nil {
		return existing, err
	}
	regions := params.Regions
	if len(regions) == 0 {
		all, err := s.Regions(ctx)
		if err != nil {
			return concourse.Response{}, err
		}
		for _, r := range all {
			regions = append(regions, r.ID)
		}
	}
	base, bucket := params.BaseRegion, params.ImageBucket
	if base == "" {
		base = source.Region
	}
	if bucket == "" {
		bucket = source.Bucket
	}
	heavy, err := os.Open(heavyPath)
	if err != nil {
		return concourse.Response{}, err
	}
	defer func() { _ = heavy.Close() }() // read only: closing cannot lose data
	times, loadErr := builder.LoadCopyTimes(ctx, line.Store, source.Stemcell)
	if loadErr != nil {
		env.Log.Warnf("%v; the copies go in the order of the regions", loadErr)
	}
	result, err := builder.Build(ctx, s, builder.Request{Heavy: heavy, HeavyName: filepath.Base(heavyPath), BaseRegion: base, ImageBucket: bucket,
		Regions: regions, Concurrency: params.Concurrency, CopiesPerSource: params.CopiesPerSource, Log: env.Log, Channel: channel,
		Stemcell: source.Stemcell, CopyTimes: times})
	// Saved unless they could not be read for a passing reason (an unreadable file is replaced):
	// a throttled read must not wipe every earlier measurement.
	if times.Changed() && (loadErr == nil || errors.Is(loadErr, builder.ErrCopyTimesUnreadable)) {
		// Failed builds measure too; the figures only order the next build's copies.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if serr := builder.SaveCopyTimes(sctx, line.Store, source.Stemcell, times); serr != nil {
			env.Log.Warnf("could not save the copy times to %s: %v", builder.CopyTimesName(source.Stemcell), serr)
		}
		cancel()
	}
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, records.ErrLockLost) {
		return concourse.Response{}, fmt.Errorf("%w (%v)", err, cause)
	}
	if err != nil {
		return concourse.Response{}, err
	}
	if m := result.Manifest; m.Version() != v || m.SHA1() != heavySHA1 {
		return concourse.Response{}, fmt.Errorf("the heavy stemcell %s changed while it was built: it was %s (sha1 %s), it is %s (sha1 %s)",
			filepath.Base(heavyPath), v, heavySHA1, m.Version(), m.SHA1())
	}
	if channel == records.ChannelPublished {
		if err := share(ctx, s, result.ImageIDs, params); err != nil {
			return concourse.Response{}, err
		}
	}
	record, err := uploadLight(ctx, env, line, channel, filepath.Base(heavyPath), result, params.public() && channel == records.ChannelPublished)
	if err != nil {
		return concourse.Response{}, err
	}
	if channel == records.ChannelPublished {
		record.Public, record.SharedWith = params.public(), params.ShareWith
	}
	record.NvmeSupport = result.NvmeSupport
	return writeRecord(ctx, env, line, record)
}

// readManifest reads the stemcell.MF of the heavy stemcell at path.
func readManifest(path string) (*stemcell.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	m, err := stemcell.ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("reading the heavy stemcell %s: %w", filepath.Base(path), err)
	}
	return m, nil
}

// admit decides, before a build, whether version v of the heavy stemcell with sha1 heavySHA1
// may be built onto channel: a version recorded from this heavy stemcell is done (done, with its
// response: a rerun is a no-op), one recorded from another is refused (versions are immutable,
// and a version has one heavy stemcell on both channels), and a candidate of a published version
// is refused (it would give published images the candidate channel).
func admit(ctx context.Context, env concourse.Env, line records.Line, channel, v, heavySHA1 string, params PutParams) (concourse.Response, bool, error) {
	// A version BOSH orders equal to a recorded one but spelled otherwise (1.484.0 beside 1.484)
	// is refused before anything is built: directors match versions as strings.
	if err := line.CheckSpelling(ctx, v); err != nil {
		return concourse.Response{}, false, err
	}
	for _, ch := range []string{channel, other(channel)} {
		// A HEAD first: most builds are of a new version, and a record is read only when there.
		exists, err := line.Exists(ctx, ch, v)
		if err != nil {
			return concourse.Response{}, false, err
		}
		if !exists {
			continue
		}
		r, err := line.Read(ctx, ch, v)
		switch {
		case errors.Is(err, records.ErrNotFound):
			continue
		case err != nil:
			return concourse.Response{}, false, err
		case r.HeavySHA1 != heavySHA1:
			return concourse.Response{}, false, fmt.Errorf("%s %s is already on the %s channel, built from another heavy stemcell (sha1 %s; this one's is %s): versions are immutable, build another version",
				r.Stemcell, r.Version, ch, r.HeavySHA1, heavySHA1)
		case ch == channel:
			if missing := r.Missing(params.Regions); len(missing) > 0 {
				env.Log.Warnf("%s %s was recorded without images in %s; versions are immutable: build another version for them", r.Stemcell, r.Version, strings.Join(missing, ", "))
			}
			env.Log.Printf("%s %s is already on the %s channel from this heavy stemcell (sha1 %s): nothing to do", r.Stemcell, r.Version, ch, heavySHA1)
			return response(r, line), true, nil
		case ch == records.ChannelPublished:
			return concourse.Response{}, false, fmt.Errorf("%s %s is already published (sha256 %s): a candidate of a published version is refused, build another version",
				r.Stemcell, r.Version, r.SHA256)
		}
	}
	return concourse.Response{}, false, nil
}

func other(channel string) string {
	if channel == records.ChannelPublished {
		return records.ChannelCandidate
	}
	return records.ChannelPublished
}

// uploadLight writes the light tarball to a temporary file, then uploads it.
func uploadLight(ctx context.Context, env concourse.Env, line records.Line, channel, heavyName string, result *builder.Result, public bool) (records.Record, error) {
	manifest, err := lightManifest(result.Manifest, result.ImageIDs)
	if err != nil {
		return records.Record{}, err
	}
	tmp, err := os.CreateTemp("", "light-stemcell-*.tgz")
	if err != nil {
		return records.Record{}, err
	}
	defer func() {
		// The tarball is uploaded (or the upload failed) by now: only a temporary file is left.
		_ = tmp.Close()
		if err := os.Remove(tmp.Name()); err != nil {
			env.Log.Warnf("could not remove %s: %v", tmp.Name(), err)
		}
	}()
	if err := stemcell.WriteLight(tmp, result.Manifest, result.Members, result.ImageIDs); err != nil {
		return records.Record{}, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return records.Record{}, err
	}
	m := result.Manifest
	file := stemcell.LightName(heavyName)
	object := line.TarballName(channel, m.Version(), file)
	info, err := line.Store.Upload(ctx, object, tmp, alicloud.UploadOptions{
		TransferOptions: alicloud.TransferOptions{SHA1: true, Progress: alicloud.LogProgress(env.Log, "uploading "+file, 5*time.Second)},
		PutOptions:      alicloud.PutOptions{ContentType: "application/x-gzip", PublicRead: public},
	})
	if err != nil {
		return records.Record{}, err
	}
	return records.Record{
		Stemcell: line.Stemcell, Version: m.Version(), Channel: channel, FileName: file, Tarball: object,
		SHA1: info.SHA1, SHA256: info.SHA256, Size: info.Size, HeavySHA1: m.SHA1(), ImageIDs: result.ImageIDs,
		Manifest: manifest, CreatedAt: time.Now().UTC(), CreatedBy: env.Build.String(),
	}, nil
}

// writeRecord writes a channel's record, last and only once.
func writeRecord(ctx context.Context, env concourse.Env, line records.Line, record records.Record) (concourse.Response, error) {
	created, err := line.Create(ctx, record)
	if err != nil {
		return concourse.Response{}, err
	}
	if !created {
		existing, err := line.Read(ctx, record.Channel, record.Version)
		if err != nil {
			return concourse.Response{}, err
		}
		if existing.SHA256 != record.SHA256 {
			return concourse.Response{}, fmt.Errorf("%s %s is already on the %s channel with other content", record.Stemcell, record.Version, record.Channel)
		}
	}
	env.Log.Printf("%s %s is on the %s channel: %d regions", record.Stemcell, record.Version, record.Channel, len(record.ImageIDs))
	return response(record, line), nil
}

// share makes every image public or shares it with accounts, verifying each.
func share(ctx context.Context, s *alicloud.Session, images map[string]string, params PutParams) error {
	want := alicloud.Sharing{Public: params.public(), Accounts: params.ShareWith}
	for _, region := range (records.Record{ImageIDs: images}).Regions() {
		if err := s.ShareImage(ctx, region, images[region], want); err != nil {
			return err
		}
	}
	return nil
}

// promote publishes a candidate: images shared (public by default) and verified, the tarball
// made public-read when public, the published record written last. The candidate record stays.
func promote(ctx context.Context, env concourse.Env, s *alicloud.Session, line records.Line, source Source, params PutParams) (concourse.Response, error) {
	if source.channel() != records.ChannelPublished {
		return concourse.Response{}, fmt.Errorf("promote publishes to the published channel; this source's channel is %q", source.channel())
	}
	v := params.Promote // a version, or a file in the build directory holding it
	if content, err := env.ReadFile("params.promote", params.Promote); err == nil {
		v = strings.TrimSpace(string(content))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return concourse.Response{}, err
	}
	candidate, err := line.Read(ctx, records.ChannelCandidate, v)
	if err != nil {
		return concourse.Response{}, fmt.Errorf("promoting: %w", err)
	}
	if err := line.CheckSpelling(ctx, v); err != nil {
		return concourse.Response{}, fmt.Errorf("promoting: %w", err)
	}
	if published, err := line.Read(ctx, records.ChannelPublished, v); err == nil {
		return republish(env, line, candidate, published, params)
	} else if !errors.Is(err, records.ErrNotFound) {
		return concourse.Response{}, err
	}
	if err := share(ctx, s, candidate.ImageIDs, params); err != nil {
		return concourse.Response{}, err
	}
	if err := retag(ctx, s, candidate.ImageIDs, records.ChannelPublished); err != nil {
		return concourse.Response{}, err
	}
	if params.public() {
		if err := line.Store.SetPublicRead(ctx, candidate.Tarball, true); err != nil {
			return concourse.Response{}, err
		}
	}
	published := candidate
	published.Channel, published.Public, published.SharedWith = records.ChannelPublished, params.public(), params.ShareWith
	published.CreatedAt, published.CreatedBy = time.Now().UTC(), env.Build.String()
	return writeRecord(ctx, env, line, published)
}

// republish answers a promote of a version already published: with the params it was published
// with, nothing to do; with others, a failure naming each, before anything changes (a published
// version's visibility is what its record says).
func republish(env concourse.Env, line records.Line, candidate, published records.Record, params PutParams) (concourse.Response, error) {
	if published.SHA256 != candidate.SHA256 {
		return concourse.Response{}, fmt.Errorf("%s %s is already published with other content than its candidate (sha256 %s, the candidate's is %s): versions are immutable",
			published.Stemcell, published.Version, published.SHA256, candidate.SHA256)
	}
	var diffs []string
	if published.Public != params.public() {
		diffs = append(diffs, fmt.Sprintf("public: recorded %t, given %t", published.Public, params.public()))
	}
	recorded, given := slices.Sorted(slices.Values(published.SharedWith)), slices.Sorted(slices.Values(params.ShareWith))
	if !slices.Equal(recorded, given) {
		diffs = append(diffs, fmt.Sprintf("share_with: recorded [%s], given [%s]", strings.Join(recorded, ", "), strings.Join(given, ", ")))
	}
	if len(diffs) > 0 {
		return concourse.Response{}, fmt.Errorf("%s %s is already published with other params (%s): nothing was changed; a published version keeps the visibility it was published with",
			published.Stemcell, published.Version, strings.Join(diffs, "; "))
	}
	env.Log.Printf("%s %s is already published with these params: nothing to do", published.Stemcell, published.Version)
	return response(published, line), nil
}

// retag tags every image with the channel it is recorded on now.
func retag(ctx context.Context, s *alicloud.Session, images map[string]string, channel string) error {
	for _, region := range (records.Record{ImageIDs: images}).Regions() {
		if err := s.TagImage(ctx, region, images[region], map[string]string{builder.TagChannel: channel}); err != nil {
			return err
		}
	}
	return nil
}

// lightManifest is the stemcell.MF the record keeps (and in writes): the light tarball's, read
// back and validated, so a record never holds a manifest the CPI could not use or one that
// lacks an image the build made.
func lightManifest(m *stemcell.Manifest, ids map[string]string) (string, error) {
	light := m.Clone()
	light.SetImageIDs(ids)
	text, err := light.Marshal()
	if err != nil {
		return "", fmt.Errorf("writing the light stemcell.MF of %s %s: %w", m.Name(), m.Version(), err)
	}
	back, err := stemcell.ParseManifest(text)
	if err == nil {
		err = back.Validate()
	}
	if err == nil && (len(ids) == 0 || !maps.Equal(back.ImageIDs(), ids)) {
		err = fmt.Errorf("it names the images %v, not the %d built", back.ImageIDs(), len(ids))
	}
	if err != nil {
		return "", fmt.Errorf("the light stemcell.MF of %s %s would not be valid: %w", m.Name(), m.Version(), err)
	}
	return string(text), nil
}
