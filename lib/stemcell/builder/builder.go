package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/panics"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/fanout"
)

// Tags Build puts on every image it makes; a rerun finds the images of a version by the first two
// and adopts only those of the same heavy stemcell (TagHeavySHA1). The keys are persisted:
// TagChannel is spelled "stage", as the first releases of the pack wrote it.
const (
	TagStemcell        = "stemcell"
	TagStemcellVersion = "stemcell-version"
	TagChannel         = "stage" // the channel the image was built or promoted for
	TagSourceImage     = "source-image"
	TagHeavySHA1       = "heavy-sha1" // stemcell.MF sha1 of the heavy stemcell the image was made from
)

// IsLightStemcellImage reports whether an image's tags are those Build puts on a light
// stemcell's image: the one test of "is this image a published light stemcell's" for every
// caller that must keep such an image out of bosh's reach (delete-env, delete-stemcell).
func IsLightStemcellImage(tags map[string]string) bool {
	return tags[TagStemcell] != "" && tags[TagStemcellVersion] != ""
}

// NvmeSupported is the cloud_properties.nvme_support value (and the ECS Features.NvmeSupport
// value) of a stemcell whose images must support NVMe disks.
const NvmeSupported = "supported"

const (
	// DefaultConcurrency is how many copies Build runs at once when the request says nothing:
	// enough for every public region, so only the per-source limit shapes the fan-out (a cap of
	// 10 measured twice the wall time of the uncapped tree: four rounds of copies instead of two).
	DefaultConcurrency = 32
	// MaxCopiesPerSource is how many copies Build runs at once from one source region by default:
	// ECS runs at most five image copies per region and queues the rest.
	MaxCopiesPerSource = 5
	// MinImageDiskGiB is the smallest system disk an imported image gets.
	MinImageDiskGiB = 5
)

// progressInterval is how often Build logs the progress of one import or copy at most.
var progressInterval = 5 * time.Second

// cleanupTimeout bounds the clean-up Build does after a failure or cancellation.
const cleanupTimeout = 3 * time.Minute

// Request asks Build for a light stemcell.
type Request struct {
	Heavy       io.Reader // the heavy stemcell tarball, streamed once
	HeavyName   string    // its file name, e.g. bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz
	BaseRegion  string    // where root.img is uploaded and imported
	ImageBucket string    // a bucket in BaseRegion for the raw image (a temporary object)
	Regions     []string  // every region that must end with an Available image
	Concurrency int       // copies in flight at most (default DefaultConcurrency)
	// CopiesPerSource is how many copies run at once from one source region (default
	// MaxCopiesPerSource); raise it where the cloud counts copies against their destination.
	CopiesPerSource int
	Log             alicloud.Log // progress; nil: none
	Channel         string       // the channel the images are for ("candidate" or "published"), tagged on each
	// Wait tunes the polling of imports and copies (OnPoll is Build's own); zero: the defaults.
	Wait alicloud.WaitOptions
	// Stemcell, when set, is the line the heavy stemcell must be (its stemcell.MF name): the
	// resource keeps records under it and prunes images by it.
	Stemcell string
	// CopyTimes orders the copies by what earlier builds measured, and Build adds what it
	// measures (each successful copy, from CopyImage to Available); nil: request order.
	CopyTimes *CopyTimes
}

// Result is what Build made.
type Result struct {
	Manifest *stemcell.Manifest // the light manifest (cloud_properties.image_id set)
	Members  []stemcell.Member  // from the heavy tarball, for WriteLight
	ImageIDs map[string]string  // region → image id, every requested region
	Reused   []string           // regions whose image came from an earlier run, sorted
	// NvmeSupport is NvmeSupported when every image carries Features.NvmeSupport (the heavy
	// stemcell's cloud_properties.nvme_support says so), else "".
	NvmeSupport string
}

// Build turns a heavy stemcell into the images of a light one: it streams root.img into OSS in
// the base region, imports it there (unless an earlier run left an Available image of this
// version), copies it to every requested region as a tree (each region that becomes Available is
// a source for the next copies, at most MaxCopiesPerSource per source), tags every image with
// the stemcell name, version, heavy stemcell sha1, channel and source image, and deletes the raw
// object. Images stay private. The image platform is the one the CPI's own import chooses, and
// when cloud_properties.nvme_support is "supported" the import and every copy get
// Features.NvmeSupport, as the CPI does (CopyImage does not carry it). With CopyTimes from earlier builds, the copies go fastest first while more sources
// are needed, then slowest first; Build adds the times it measures to them.
//
// Images of this version found by their tags are reused when Available and deleted when
// CreateFailed or UnAvailable; ones still in progress are waited for. Only images made from the
// same heavy stemcell (its sha1 in TagHeavySHA1) are reused: those of another heavy stemcell of
// this version are leftovers of a failed build and are deleted (the caller makes sure no record
// names them). Images without that tag were made before the pack wrote it and are reused. When a copy fails, the
// other regions go on; at the end every image of the run that is not Available is deleted (a
// copy in progress is cancelled), the Available ones are kept for a rerun, and the error names
// the failed regions and the kept images.
//
// When BaseRegion is not one of Regions, its image is made (it is the first source) and kept,
// but it is not in the result's ImageIDs.
func Build(ctx context.Context, s *alicloud.Session, req Request) (result *Result, err error) {
	if err := req.check(s); err != nil {
		return nil, err
	}
	log := req.Log
	if log == nil {
		log = alicloud.Discard
	}
	perSource := req.CopiesPerSource
	if perSource <= 0 {
		perSource = MaxCopiesPerSource
	}
	concurrency := req.Concurrency
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	regions := UniqueRegions(req.Regions)

	store, err := s.StoreIn(req.BaseRegion, req.ImageBucket, "")
	if err != nil {
		return nil, fmt.Errorf("building a light stemcell: %w", err)
	}
	fileName, fileVersion, named := parseHeavyName(req.HeavyName)
	key := rootImageKey(req.HeavyName)
	// A killed run of the same build left its upload of this key unfinished: its parts cost
	// until aborted. Only this key's are: another build's upload is never touched.
	if aborted, err := store.AbortUploadsOf(ctx, key); err != nil {
		log.Warnf("could not abort the unfinished uploads of oss://%s/%s: %v", req.ImageBucket, key, err)
	} else {
		for _, u := range aborted {
			log.Printf("aborted the unfinished upload %s of oss://%s/%s, left by an earlier run", u.ID, req.ImageBucket, key)
		}
	}
	uploaded := false
	defer func() {
		if !uploaded {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := store.Delete(dctx, key); derr != nil {
			log.Warnf("could not delete the raw image oss://%s/%s: %v", req.ImageBucket, key, derr)
		}
	}()

	heavy, err := stemcell.ReadHeavy(req.Heavy, func(root io.Reader, size int64) error {
		uploaded = true
		progress := alicloud.LogProgress(log, fmt.Sprintf("uploading root.img to oss://%s/%s", req.ImageBucket, key), progressInterval)
		_, err := store.Upload(ctx, key, root, alicloud.UploadOptions{TransferOptions: alicloud.TransferOptions{
			Progress: func(done, _ int64) { progress(done, size) },
		}})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the heavy stemcell %s: %w", req.HeavyName, err)
	}
	m := heavy.Manifest
	name, version := m.Name(), m.Version()
	// bosh.io names a stemcell bosh-…-go_agent and its file bosh-stemcell-V-…-go_agent.tgz.
	if named && (strings.TrimSuffix(name, "-go_agent") != fileName || version != fileVersion) {
		return nil, fmt.Errorf("the heavy stemcell %s holds %s/%s according to its stemcell.MF", req.HeavyName, name, version)
	}
	if req.Stemcell != "" && name != req.Stemcell {
		return nil, fmt.Errorf("the heavy stemcell %s is %s according to its stemcell.MF, not %s: its images would be tagged for another line than its records", req.HeavyName, name, req.Stemcell)
	}

	nvme := ""
	if m.CloudProperties().NVMeSupport == NvmeSupported {
		nvme = NvmeSupported
	}
	b := &builder{
		s: s, req: req, log: log, concurrency: concurrency, perSource: perSource, nvme: nvme,
		imageName: ImageName(name, version),
		tags:      map[string]string{TagStemcell: name, TagStemcellVersion: version, TagChannel: req.Channel, TagHeavySHA1: m.SHA1()},
		created:   map[string]string{},
		ids:       map[string]string{},
		times:     req.CopyTimes,
	}
	if b.times == nil {
		b.times = NewCopyTimes()
	}
	if err := b.run(ctx, key, regions, heavy); err != nil {
		return nil, fmt.Errorf("building light stemcell %s/%s: %w", name, version, err)
	}

	ids := make(map[string]string, len(regions))
	for _, r := range regions {
		ids[r] = b.ids[r]
	}
	light := m.Clone()
	light.SetImageIDs(ids)
	sort.Strings(b.reused)
	return &Result{Manifest: light, Members: heavy.Members, ImageIDs: ids, Reused: b.reused, NvmeSupport: nvme}, nil
}

func (req Request) check(s *alicloud.Session) error {
	var missing []string
	if s == nil {
		missing = append(missing, "a session")
	}
	if req.Heavy == nil {
		missing = append(missing, "the heavy stemcell")
	}
	if req.BaseRegion == "" {
		missing = append(missing, "the base region")
	}
	if req.ImageBucket == "" {
		missing = append(missing, "the image bucket")
	}
	if len(UniqueRegions(req.Regions)) == 0 {
		missing = append(missing, "regions")
	}
	if req.Channel == "" {
		missing = append(missing, "the channel")
	}
	if len(missing) > 0 {
		return fmt.Errorf("building a light stemcell: the request has no %s", strings.Join(missing, ", no "))
	}
	return nil
}

// UniqueRegions returns regions without blanks and duplicates, in their order.
func UniqueRegions(regions []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range regions {
		if r = strings.TrimSpace(r); r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

var heavyNamePattern = regexp.MustCompile(`^bosh-stemcell-([0-9][^-]*)-(.+?)(?:-go_agent)?\.tgz$`)

// parseHeavyName reads the stemcell name and version from a heavy stemcell's conventional file
// name: bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz → bosh-alicloud-kvm-ubuntu-noble, 1.484.
func parseHeavyName(file string) (name, version string, ok bool) {
	match := heavyNamePattern.FindStringSubmatch(path.Base(file))
	if match == nil {
		return "", "", false
	}
	return "bosh-" + match[2], match[1], true
}

// RootImagesPrefix is where Build uploads root.img in the image bucket, while it imports it:
// root-img/<line>/<version>/root.img for a heavy stemcell named as bosh.io names them, and
// root-img/unnamed/<digest of the file name>/root.img otherwise. The key is the same on every
// run of a build, so a rerun replaces (and then deletes) what a killed run left, and aborts its
// unfinished upload; prune finds what no rerun came for.
const RootImagesPrefix = "root-img/"

// RootImagePrefix is the prefix of a line's root.img objects in the image bucket.
func RootImagePrefix(line string) string { return RootImagesPrefix + line + "/" }

// UnnamedRootImagePrefix is the prefix of the root.img objects of heavy stemcells not named
// as bosh.io names them.
const UnnamedRootImagePrefix = RootImagesPrefix + "unnamed/"

// rootImageKey is the object Build uploads a heavy stemcell's root.img as (see RootImagesPrefix).
func rootImageKey(heavyName string) string {
	if name, version, ok := parseHeavyName(heavyName); ok {
		return RootImagePrefix(name) + version + "/root.img"
	}
	sum := sha256.Sum256([]byte(path.Base(heavyName)))
	return UnnamedRootImagePrefix + hex.EncodeToString(sum[:8]) + "/root.img"
}

// ImageName is the ECS image name of a stemcell version, the same in every region: name-version
// made valid for ECS (2 to 128 characters, a letter first, letters, digits and ".-_:" only, not
// starting with "aliyun", "acs:", "http://" or "https://").
func ImageName(name, version string) string {
	var b strings.Builder
	for _, c := range name + "-" + version {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune(".-_:", c) {
			b.WriteRune(c)
		} else {
			b.WriteRune('-')
		}
	}
	out := b.String()
	lower := strings.ToLower(out)
	first := []rune(out + " ")[0]
	if !unicode.IsLetter(first) || strings.HasPrefix(lower, "aliyun") || strings.HasPrefix(lower, "acs:") || strings.HasPrefix(lower, "http") {
		out = "stemcell-" + out
	}
	if runes := []rune(out); len(runes) > 128 {
		out = string(runes[:128])
	}
	return out
}

// builder is one run of Build once the heavy stemcell is read.
type builder struct {
	s           *alicloud.Session
	req         Request
	log         alicloud.Log
	concurrency int
	perSource   int
	imageName   string
	tags        map[string]string
	times       *CopyTimes
	nvme        string // Features.NvmeSupport every image gets, or ""

	mu      sync.Mutex
	created map[string]string // region → image this run made or adopted, until it is good

	ids    map[string]string // region → Available, tagged image (the sources); only run's goroutine
	reused []string
}

func (b *builder) track(region, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.created[region] = id
}

func (b *builder) good(region, id string) {
	b.ids[region] = id
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.created[region] == id {
		delete(b.created, region)
	}
}

func (b *builder) tagsFrom(source string) map[string]string {
	out := make(map[string]string, len(b.tags)+1)
	for k, v := range b.tags {
		out[k] = v
	}
	out[TagSourceImage] = source
	return out
}

// found is what an earlier run left in one region.
type found struct {
	region     string
	available  string // an Available image
	channel    string // its channel tag
	inProgress string // an image still Waiting or Creating
	err        error
}

// run makes an Available image in the base region and every region, or fails and cleans up.
func (b *builder) run(ctx context.Context, key string, regions []string, heavy *stemcell.Heavy) (err error) {
	all := regions
	if !slices.Contains(regions, b.req.BaseRegion) {
		all = append([]string{b.req.BaseRegion}, regions...)
	}
	defer func() {
		if err == nil {
			return
		}
		b.cleanup(ctx)
		err = fmt.Errorf("%w; %s", err, b.kept())
	}()

	// What earlier runs left.
	earlier := b.survey(ctx, all)
	for _, f := range earlier {
		if f.err != nil {
			return f.err
		}
	}
	adopted := map[string]string{}
	for _, f := range earlier {
		switch {
		case f.available != "":
			b.ids[f.region] = f.available
			b.reused = append(b.reused, f.region)
			b.log.Printf("%s: Available %s (from an earlier run)", f.region, f.available)
			if err := b.features(ctx, f.region, f.available); err != nil {
				return err
			}
			if f.channel != b.req.Channel {
				if err := b.s.TagImage(ctx, f.region, f.available, map[string]string{TagChannel: b.req.Channel}); err != nil {
					return err
				}
			}
		case f.inProgress != "":
			adopted[f.region] = f.inProgress
			b.track(f.region, f.inProgress)
		}
	}

	base := b.req.BaseRegion
	if b.ids[base] == "" {
		if id := adopted[base]; id != "" {
			delete(adopted, base)
			b.log.Printf("%s: waiting for %s, left in progress by an earlier run", base, id)
			if _, err := b.wait(ctx, base, id, "importing into"); err == nil {
				b.good(base, id)
				b.reused = append(b.reused, base)
			} else if ctx.Err() != nil {
				return err
			} else {
				b.log.Warnf("%s: %v; importing again", base, err)
				if err := b.delete(ctx, base, id); err != nil {
					return err
				}
			}
		}
	}
	if b.ids[base] == "" {
		if err := b.importImage(ctx, key, heavy); err != nil {
			return fmt.Errorf("import into %s failed: %w", base, err)
		}
	}
	if !slices.Contains(regions, base) {
		b.reused = remove1(b.reused, base)
	}

	failed := b.fanOut(ctx, regions, adopted)
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled: %w", ctx.Err())
	}
	if len(failed) > 0 {
		names := make([]string, 0, len(failed))
		for r := range failed {
			names = append(names, r)
		}
		sort.Strings(names)
		text := make([]string, len(names))
		for i, r := range names {
			text[i] = fmt.Sprintf("%s (%v)", r, failed[r])
		}
		return fmt.Errorf("no image in %s: %s", strings.Join(names, ", "), strings.Join(text, "; "))
	}
	return nil
}

func remove1(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// survey looks for this version's images in every region, deleting the failed ones.
func (b *builder) survey(ctx context.Context, regions []string) []found {
	out := make([]found, len(regions))
	query := alicloud.ImageQuery{Tags: map[string]string{TagStemcell: b.tags[TagStemcell], TagStemcellVersion: b.tags[TagStemcellVersion]}}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var f found
			if err := panics.Catch(func() error { f = b.surveyRegion(ctx, region, query); return nil }); err != nil {
				f = found{region: region, err: err}
			}
			out[i] = f
		}()
	}
	wg.Wait()
	return out
}

// surveyRegion looks for this version's images in one region, deleting the failed ones.
func (b *builder) surveyRegion(ctx context.Context, region string, query alicloud.ImageQuery) found {
	f := found{region: region}
	images, err := b.s.Images(ctx, region, query)
	if err != nil {
		f.err = err
		return f
	}
	for _, img := range images {
		heavy, tagged := img.TagMap()[TagHeavySHA1]
		if tagged && heavy != b.tags[TagHeavySHA1] {
			b.log.Printf("%s: deleting image %s (%s), left by an earlier run from another heavy stemcell (sha1 %s, not %s)",
				region, img.ID, img.Status, heavy, b.tags[TagHeavySHA1])
			if err := b.delete(ctx, region, img.ID); err != nil {
				f.err = err
			}
			continue
		}
		if !tagged && img.Status == alicloud.ImageAvailable {
			b.log.Warnf("%s: image %s has no %s tag (an earlier release of the pack made it): reused as made from this heavy stemcell", region, img.ID, TagHeavySHA1)
		}
		switch img.Status {
		case alicloud.ImageAvailable:
			if f.available == "" {
				f.available, f.channel = img.ID, img.TagMap()[TagChannel]
			} else {
				b.log.Warnf("%s: image %s is another Available image of this stemcell version; using %s", region, img.ID, f.available)
			}
		case alicloud.ImageCreateFailed, alicloud.ImageUnavailable:
			b.log.Printf("%s: deleting image %s (%s) left by an earlier run", region, img.ID, img.Status)
			if err := b.delete(ctx, region, img.ID); err != nil {
				f.err = err
			}
		default:
			if f.inProgress == "" {
				f.inProgress = img.ID
			}
		}
	}
	if f.available != "" && f.inProgress != "" {
		// The Available one will do; the other may be another run's copy: leave it be.
		f.inProgress = ""
	}
	return f
}

func (b *builder) importImage(ctx context.Context, key string, heavy *stemcell.Heavy) error {
	cp := heavy.Manifest.CloudProperties()
	arch, osType := cp.Architecture, cp.OSType
	if arch == "" {
		arch = "x86_64"
	}
	if osType == "" {
		osType = "linux"
	}
	disk := max((cp.Disk+1023)/1024, MinImageDiskGiB)
	base := b.req.BaseRegion
	id, err := b.s.ImportImage(ctx, base, alicloud.ImportRequest{
		Name:         b.imageName,
		Description:  fmt.Sprintf("BOSH stemcell %s/%s", b.tags[TagStemcell], b.tags[TagStemcellVersion]),
		Bucket:       b.req.ImageBucket,
		Object:       key,
		DiskSizeGiB:  disk,
		Format:       "RAW",
		Architecture: arch,
		OSType:       osType,
		Platform:     Platform(cp),
		NvmeSupport:  b.nvme,
		Tags:         b.tagsFrom(""),
	})
	if err != nil {
		return err
	}
	b.track(base, id)
	b.log.Printf("%s: importing root.img as %s (%s)", base, id, b.imageName)
	if _, err := b.wait(ctx, base, id, "importing into"); err != nil {
		return err
	}
	b.good(base, id)
	b.log.Printf("%s: Available %s (imported)", base, id)
	return nil
}

// wait waits for an image, logging its progress at most every progressInterval.
func (b *builder) wait(ctx context.Context, region, id, doing string) (alicloud.Image, error) {
	opts := b.req.Wait
	var last time.Time
	opts.OnPoll = func(img alicloud.Image) {
		if img.Status == alicloud.ImageAvailable || time.Since(last) < progressInterval {
			return
		}
		last = time.Now()
		b.log.Printf("%s %s: %d%% (%s)", doing, region, img.Percent(), img.Status)
	}
	return b.s.WaitImage(ctx, region, id, opts)
}

func (b *builder) delete(ctx context.Context, region, id string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	return b.s.DeleteImage(dctx, region, id)
}

// copyDone is the end of one copy (or of the wait for an adopted one).
type copyDone struct {
	region, from, id string
	adopted          bool
	took             time.Duration // from CopyImage to Available seen
	err              error
}

// fanOut copies to every region without an image yet, as a tree, and returns the regions that
// failed. Adopted images (in progress from an earlier run) are waited for first. The order of
// the copies is the scheduler's (package fanout); fanOut only runs them and reports their ends.
func (b *builder) fanOut(ctx context.Context, regions []string, adopted map[string]string) map[string]error {
	failed := map[string]error{}
	results := make(chan copyDone)
	plan := fanout.Config{
		Sources:     []string{b.req.BaseRegion},
		Concurrency: b.concurrency,
		PerSource:   b.perSource,
		Times:       b.times,
	}
	for _, r := range regions {
		if r != b.req.BaseRegion && b.ids[r] != "" {
			plan.Sources = append(plan.Sources, r)
		}
	}
	for _, r := range regions {
		if b.ids[r] != "" {
			continue
		}
		if id := adopted[r]; id != "" {
			plan.Waiting = append(plan.Waiting, r)
			b.log.Printf("%s: waiting for %s, left in progress by an earlier run", r, id)
			go func() {
				err := panics.Catch(func() error {
					if _, err := b.wait(ctx, r, id, "copying to"); err != nil {
						return err
					}
					return b.features(ctx, r, id)
				})
				results <- copyDone{region: r, id: id, adopted: true, err: err}
			}()
			continue
		}
		plan.Pending = append(plan.Pending, r)
	}

	if n := b.times.Len(); n > 0 && len(plan.Pending) > 1 {
		b.log.Printf("ordering %d copies by %d copy times measured earlier: the fastest first while more sources are needed, then the slowest first", len(plan.Pending), n)
	}
	sched := fanout.New(plan)
	for {
		if ctx.Err() == nil {
			for _, c := range sched.Next() {
				srcID := b.ids[c.From]
				go func() {
					var d copyDone
					if err := panics.Catch(func() error { d = b.copyImage(ctx, c.From, srcID, c.To); return nil }); err != nil {
						d = copyDone{region: c.To, from: c.From, err: err}
					}
					results <- d
				}()
			}
		}
		if sched.InFlight() == 0 {
			break
		}
		d := <-results
		switch {
		case d.err == nil:
			b.good(d.region, d.id)
			sched.Done(d.region)
			if d.adopted {
				b.reused = append(b.reused, d.region)
				b.log.Printf("%s: Available %s (from an earlier run)", d.region, d.id)
			} else {
				b.times.Observe(d.from, d.region, d.took, time.Now())
				b.log.Printf("%s: Available %s (from %s, %s)", d.region, d.id, d.from, d.took.Round(time.Second))
			}
		case d.adopted && ctx.Err() == nil:
			b.log.Warnf("%s: %v; copying again", d.region, d.err)
			if err := b.delete(ctx, d.region, d.id); err != nil {
				failed[d.region] = err
				sched.Failed(d.region)
				continue
			}
			b.mu.Lock()
			delete(b.created, d.region)
			b.mu.Unlock()
			sched.Retry(d.region)
		default:
			if ctx.Err() == nil {
				b.log.Warnf("%s: %v", d.region, d.err)
			}
			failed[d.region] = d.err
			sched.Failed(d.region)
		}
	}
	for _, r := range sched.Pending() {
		failed[r] = errors.New("not copied")
	}
	return failed
}

// copyImage copies the image id of region from to region to and waits for it. A CopyImage
// that was sent returns its copy even when ctx ends meanwhile, so every copy started is tracked
// and can be cancelled.
func (b *builder) copyImage(ctx context.Context, from, id, to string) copyDone {
	d := copyDone{region: to, from: from}
	start := time.Now()
	tags := b.tagsFrom(id)
	copyID, err := b.s.CopyImage(ctx, from, id, to, b.imageName, tags)
	if err != nil {
		d.err = err
		return d
	}
	d.id = copyID
	b.track(to, copyID)
	b.log.Printf("copying %s from %s to %s as %s", id, from, to, copyID)
	img, err := b.wait(ctx, to, copyID, "copying to")
	if err != nil {
		d.err = err
		return d
	}
	d.took = time.Since(start)
	if !hasTags(img, tags) {
		// CopyImage puts its tags on the copy; tag again only when they did not arrive.
		if d.err = b.s.TagImage(ctx, to, copyID, tags); d.err != nil {
			return d
		}
	}
	d.err = b.features(ctx, to, copyID)
	return d
}

// features gives an image the features the stemcell asks for: CopyImage does not carry
// Features.NvmeSupport from its source, so the CPI (and Build) set it on every copy.
func (b *builder) features(ctx context.Context, region, id string) error {
	if b.nvme == "" {
		return nil
	}
	return b.s.SetNvmeSupport(ctx, region, id, b.nvme)
}

// Platform is the ECS image platform of a stemcell, chosen as the CPI's create_stemcell does:
// "Others Linux" for a name containing "-bionic-" (the CPI does so to keep ECS from turning on
// IPv6 settings), else by os_distro (ubuntu, centos, opensuse), else "Others Linux".
func Platform(cp stemcell.CloudProperties) string {
	if strings.Contains(cp.Name, "-bionic-") {
		return "Others Linux"
	}
	switch strings.ToLower(cp.OSDistro) {
	case "ubuntu":
		return "Ubuntu"
	case "centos":
		return "CentOS"
	case "opensuse":
		return "OpenSUSE"
	}
	return "Others Linux"
}

// hasTags says whether an image (as DescribeImages showed it) carries every one of tags.
func hasTags(img alicloud.Image, tags map[string]string) bool {
	have := img.TagMap()
	for k, v := range tags {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// cleanup deletes every image of the run that is not Available and tagged (cancelling copies in
// progress), with a fresh context: it runs after failures and cancellations.
func (b *builder) cleanup(ctx context.Context) {
	b.mu.Lock()
	todo := make(map[string]string, len(b.created))
	for r, id := range b.created {
		todo[r] = id
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for region, id := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := panics.Catch(func() error { return b.delete(ctx, region, id) }); err != nil {
				b.log.Warnf("could not delete image %s in %s: %v", id, region, err)
				return
			}
			b.log.Printf("%s: deleted %s", region, id)
		}()
	}
	wg.Wait()
}

// kept describes the Available images kept for a rerun.
func (b *builder) kept() string {
	if len(b.ids) == 0 {
		return "no image kept"
	}
	regions := make([]string, 0, len(b.ids))
	for r := range b.ids {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	text := make([]string, len(regions))
	for i, r := range regions {
		text[i] = r + ": " + b.ids[r]
	}
	return fmt.Sprintf("kept %d Available image(s) for a rerun: %s", len(regions), strings.Join(text, ", "))
}
