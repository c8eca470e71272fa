package builder_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

const heavyFileName = "bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz"

// lines is a Log that keeps what it is told.
type lines = testtools.Log

// ecsCallsByRegion counts the journal's ECS calls from seq on, by RegionId.
func ecsCallsByRegion(entries []sim.Entry, after uint64) (map[string]int, map[string]int) {
	byRegion, byAction := map[string]int{}, map[string]int{}
	for _, e := range entries {
		if e.Service == "ecs" && e.Seq > after {
			byRegion[e.Region]++
			byAction[e.Action]++
		}
	}
	return byRegion, byAction
}

func lastSeq(entries []sim.Entry) uint64 {
	if len(entries) == 0 {
		return 0
	}
	return entries[len(entries)-1].Seq
}

func testBuild(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect  = NewWithT(t).Expect
		c       *testtools.Cloud
		s       *alicloud.Session
		log     *lines
		tarball []byte
		ctx     context.Context
		regions []string
		request func() builder.Request
	)

	it.Before(func() {
		c = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 200 * time.Millisecond
			cfg.CopyDuration = 300 * time.Millisecond
		})
		var err error
		s, err = alicloud.NewSession(alicloud.Cloud{
			AccessKeyID: testtools.KeyID, AccessKeySecret: testtools.KeySecret, Region: testtools.Region,
			Bucket: testtools.Bucket, OSSEndpoint: c.URL, ECSEndpoint: c.URL,
		}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: 5 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		log = &lines{}
		tarball, _ = stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("root image "), 10_000))
		regions = c.Sim.Regions()
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		request = func() builder.Request {
			return builder.Request{
				Heavy: bytes.NewReader(tarball), HeavyName: heavyFileName,
				BaseRegion: testtools.Region, ImageBucket: testtools.Bucket, Regions: regions,
				Log: log, Channel: "candidate",
				Wait: alicloud.WaitOptions{FirstPoll: 300 * time.Millisecond},
			}
		}
	})

	// imagesOfVersion lists this version's images of every status in every region.
	imagesOfVersion := func() []alicloud.Image {
		var all []alicloud.Image
		for _, r := range regions {
			images, err := s.Images(ctx, r, alicloud.ImageQuery{Tags: map[string]string{"stemcell": "bosh-alicloud-kvm-ubuntu-noble", "stemcell-version": "1.484"}})
			Expect(err).NotTo(HaveOccurred())
			all = append(all, images...)
		}
		return all
	}

	it("makes a tagged Available image in every region, as a tree, and removes the raw image", func() {
		result, err := builder.Build(ctx, s, request())
		Expect(err).NotTo(HaveOccurred(), log.String())
		journal := c.Sim.Journal()

		Expect(result.ImageIDs).To(HaveLen(len(regions)))
		Expect(result.Reused).To(BeEmpty())
		Expect(result.Manifest.ImageIDs()).To(Equal(result.ImageIDs))
		Expect(result.Manifest.Validate()).To(Succeed())
		var light bytes.Buffer
		Expect(stemcell.WriteLight(&light, result.Manifest, result.Members, result.ImageIDs)).To(Succeed())

		base := result.ImageIDs[testtools.Region]
		for _, image := range imagesOfVersion() {
			Expect(image.Status).To(Equal(alicloud.ImageAvailable), image.Region)
			Expect(result.ImageIDs[image.Region]).To(Equal(image.ID))
			Expect(image.IsPublic).To(BeFalse())
			tags := image.TagMap()
			Expect(tags).To(HaveKeyWithValue("stemcell", "bosh-alicloud-kvm-ubuntu-noble"))
			Expect(tags).To(HaveKeyWithValue("stemcell-version", "1.484"))
			Expect(tags).To(HaveKeyWithValue("stage", "candidate"))
			Expect(image.Name).To(Equal("bosh-alicloud-kvm-ubuntu-noble-1.484"))
			if image.Region == testtools.Region {
				Expect(tags).To(HaveKeyWithValue("source-image", ""))
				Expect(image.Platform).To(Equal("Ubuntu"))
				Expect(image.Architecture).To(Equal("x86_64"))
			} else {
				Expect(tags["source-image"]).To(HavePrefix("m-"))
				Expect(tags["source-image"]).NotTo(Equal(image.ID))
			}
		}
		Expect(base).NotTo(BeEmpty())
		Expect(c.Keys(t, "")).To(BeEmpty())

		// A tree: some copies come from a region other than the base.
		fromElsewhere := map[string]string{}
		for _, e := range c.Sim.ImageEvents() {
			if e.Status == "Available" && e.SourceRegion != "" && e.SourceRegion != testtools.Region {
				fromElsewhere[e.Region] = e.SourceRegion
			}
		}
		Expect(fromElsewhere).NotTo(BeEmpty())
		Expect(log.String()).To(ContainSubstring("Available"))
		Expect(log.String()).To(MatchRegexp(`[a-z0-9-]+: Available m-\S+ \(from [a-z0-9-]+, [0-9.]+m?s\)`))

		// ECS calls per region stay bounded.
		byRegion, byAction := ecsCallsByRegion(journal, 0)
		most, where := 0, ""
		for r, n := range byRegion {
			if n > most {
				most, where = n, r
			}
		}
		t.Logf("ECS calls by region: %v (most: %d in %s); by action: %v; %d copies from a region other than the base",
			byRegion, most, where, byAction, len(fromElsewhere))
		for _, r := range regions {
			Expect(byRegion[r]).To(BeNumerically("<=", 12), r)
		}
		Expect(byAction["CopyImage"]).To(Equal(len(regions) - 1))
		Expect(byAction["ImportImage"]).To(Equal(1))
	})

	it("orders the copies by measured copy times and measures every copy it makes", func() {
		// Half the destinations were measured fast, half slow.
		times := builder.NewCopyTimes()
		fast := map[string]bool{}
		measured := time.Now().Add(-time.Hour)
		i := 0
		for _, r := range regions {
			if r == testtools.Region {
				continue
			}
			d := 10 * time.Minute
			if i%2 == 1 {
				fast[r], d = true, time.Minute
			}
			times.Observe(testtools.Region, r, d, measured)
			i++
		}
		req := request()
		req.CopyTimes = times
		_, err := builder.Build(ctx, s, req)
		Expect(err).NotTo(HaveOccurred(), log.String())
		Expect(log.String()).To(ContainSubstring("ordering 28 copies by 28 copy times measured earlier"))

		// The base region's first five copies: four fast ones make sources soonest; with the
		// sources those four make, the fifth is a slow one, which then need not start last.
		var first []string
		for _, e := range c.Sim.ImageEvents() {
			if e.Status == "Waiting" && e.SourceRegion == testtools.Region && len(first) < 5 {
				first = append(first, e.Region)
			}
		}
		Expect(first).To(HaveLen(5))
		nFast := 0
		for _, r := range first {
			if fast[r] {
				nFast++
			}
		}
		Expect(nFast).To(Equal(4), "first copies: %v", first)

		// Every copy was measured, from the source it came from.
		for _, e := range c.Sim.ImageEvents() {
			if e.Status != alicloud.ImageAvailable || e.SourceRegion == "" {
				continue
			}
			var pair *builder.CopyTime
			for _, ct := range times.All() {
				if ct.From == e.SourceRegion && ct.To == e.Region {
					pair = &ct
				}
			}
			Expect(pair).NotTo(BeNil(), "%s → %s", e.SourceRegion, e.Region)
			Expect(pair.Updated).To(BeTemporally(">", measured), "%s → %s", e.SourceRegion, e.Region)
		}
		Expect(times.Changed()).To(BeTrue())
	})

	it("keeps the Available images when a copy fails, names the region, and a rerun copies only there", func() {
		failing := "eu-central-1"
		Expect(c.Sim.FailCopyTo(failing, 1)).To(Succeed())

		_, err := builder.Build(ctx, s, request())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("no image in " + failing))
		Expect(err.Error()).To(ContainSubstring("kept 28 Available image(s) for a rerun"))

		kept := map[string]string{}
		for _, image := range imagesOfVersion() {
			Expect(image.Status).To(Equal(alicloud.ImageAvailable), image.Region+" "+image.ID)
			kept[image.Region] = image.ID
		}
		Expect(kept).To(HaveLen(len(regions) - 1))
		Expect(kept).NotTo(HaveKey(failing))
		for r, id := range kept {
			Expect(err.Error()).To(ContainSubstring(r + ": " + id))
		}
		Expect(c.Keys(t, "")).To(BeEmpty())

		before := lastSeq(c.Sim.Journal())
		request2 := request()
		request2.Channel = "published"
		result, err := builder.Build(ctx, s, request2)
		Expect(err).NotTo(HaveOccurred(), log.String())
		_, byAction := ecsCallsByRegion(c.Sim.Journal(), before)
		Expect(byAction["CopyImage"]).To(Equal(1))
		Expect(byAction["ImportImage"]).To(Equal(0))

		Expect(result.ImageIDs).To(HaveLen(len(regions)))
		for r, id := range kept {
			Expect(result.ImageIDs).To(HaveKeyWithValue(r, id))
		}
		var reusedWant []string
		for r := range kept {
			reusedWant = append(reusedWant, r)
		}
		sort.Strings(reusedWant)
		Expect(result.Reused).To(Equal(reusedWant))
		for _, image := range imagesOfVersion() {
			Expect(image.Status).To(Equal(alicloud.ImageAvailable))
			Expect(image.TagMap()).To(HaveKeyWithValue("stage", "published"))
		}
		Expect(c.Keys(t, "")).To(BeEmpty())
	})

	it("deletes the images in progress when cancelled", func() {
		cctx, cancel := context.WithCancel(ctx)
		req := request()
		req.Log = cancelOn{lines: log, cancel: cancel, marker: "(from "}
		_, err := builder.Build(cctx, s, req)
		Expect(err).To(MatchError(ContainSubstring("cancelled")))
		images := imagesOfVersion()
		Expect(images).NotTo(BeEmpty())
		for _, image := range images {
			Expect(image.Status).To(Equal(alicloud.ImageAvailable))
		}
		Expect(len(images)).To(BeNumerically(">=", 2)) // the import and the first copy
		Expect(len(images)).To(BeNumerically("<", len(regions)))
		ended := 0
		for _, e := range c.Sim.ImageEvents() {
			if e.Status == "Cancelled" || e.Status == "Deleted" {
				ended++
			}
		}
		Expect(ended).To(BeNumerically(">", 0), "copies in progress were cancelled or deleted")
		Expect(err.Error()).To(ContainSubstring("kept"))
		Expect(c.Keys(t, "")).To(BeEmpty())
	})

	it("turns a crash in a copy's goroutine into a failed region, and deletes what that copy made", func() {
		req := request()
		req.Regions = []string{testtools.Region, "cn-beijing", "eu-central-1"}
		req.Log = panicOn{lines: log, marker: "to eu-central-1 as"}
		_, err := builder.Build(ctx, s, req)
		Expect(err).To(MatchError(ContainSubstring("no image in eu-central-1: eu-central-1 (crashed: a logging bug")))
		Expect(err.Error()).To(ContainSubstring("kept 2 Available image(s) for a rerun"))
		var made string
		for _, e := range c.Sim.ImageEvents() {
			if e.Region == "eu-central-1" && e.Status == "Waiting" {
				made = e.ImageID
			}
		}
		Expect(made).NotTo(BeEmpty(), "the copy was started before the crash")
		Expect(c.Sim.ImageEvents()).To(ContainElement(And(
			HaveField("ImageID", made), HaveField("Status", BeElementOf("Cancelled", "Deleted")))))
	})

	it("refuses an incomplete request and a heavy stemcell whose name disagrees with its manifest", func() {
		_, err := builder.Build(ctx, s, builder.Request{})
		Expect(err).To(MatchError(ContainSubstring("no the heavy stemcell")))

		req := request()
		req.HeavyName = "bosh-stemcell-1.485-alicloud-kvm-ubuntu-noble-go_agent.tgz"
		_, err = builder.Build(ctx, s, req)
		Expect(err).To(MatchError(ContainSubstring("holds bosh-alicloud-kvm-ubuntu-noble/1.484")))
		Expect(c.Keys(t, "")).To(BeEmpty())
		_, byAction := ecsCallsByRegion(c.Sim.Journal(), 0)
		Expect(byAction).To(BeEmpty())
	})

	it("copies from a base region that is not requested, and lists only the requested regions", func() {
		req := request()
		req.Regions = []string{"cn-beijing", "eu-west-1", "cn-beijing"}
		result, err := builder.Build(ctx, s, req)
		Expect(err).NotTo(HaveOccurred(), log.String())
		Expect(result.ImageIDs).To(HaveLen(2))
		Expect(result.ImageIDs).To(HaveKey("cn-beijing"))
		Expect(result.ImageIDs).To(HaveKey("eu-west-1"))
		Expect(result.Manifest.ImageIDs()).To(Equal(result.ImageIDs))
		base, err := s.Images(ctx, testtools.Region, alicloud.ImageQuery{Name: "bosh-alicloud-kvm-ubuntu-noble-1.484"})
		Expect(err).NotTo(HaveOccurred())
		Expect(base).To(HaveLen(1))
		Expect(base[0].Status).To(Equal(alicloud.ImageAvailable))
	})

	it("deletes the raw image and makes no image when the heavy stemcell is corrupt", func() {
		image := stemcelltest.ImageTgz(t, []byte("root"))
		req := request()
		req.Heavy = bytes.NewReader(stemcelltest.Tgz(t, stemcelltest.File("./image", image), stemcelltest.File("./stemcell.MF", stemcelltest.ManifestFor([]byte("another image")))))
		_, err := builder.Build(ctx, s, req)
		Expect(err).To(MatchError(ContainSubstring("reading the heavy stemcell")))
		Expect(c.Keys(t, "")).To(BeEmpty())
		uploads := 0
		for _, e := range c.Sim.Journal() {
			if e.Service == "oss" && e.Action == "PutObject" {
				uploads++
			}
		}
		Expect(uploads).To(Equal(1), "root.img streamed before the digest could be checked")
		_, byAction := ecsCallsByRegion(c.Sim.Journal(), 0)
		Expect(byAction).To(BeEmpty())
	})

	it("deletes failed images an earlier run left, and waits for ones in progress", func() {
		// An earlier run: the import, a failed copy to cn-beijing, a copy to eu-west-1 in progress.
		tags := map[string]string{"stemcell": "bosh-alicloud-kvm-ubuntu-noble", "stemcell-version": "1.484", "stage": "candidate"}
		c.PutObject(t, "earlier/root.img", []byte("root"))
		baseID, err := s.ImportImage(ctx, testtools.Region, alicloud.ImportRequest{
			Name: "bosh-alicloud-kvm-ubuntu-noble-1.484", Bucket: testtools.Bucket, Object: "earlier/root.img",
			DiskSizeGiB: 5, Format: "RAW", Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu", Tags: tags,
		})
		Expect(err).NotTo(HaveOccurred())
		_, err = s.WaitImage(ctx, testtools.Region, baseID, alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Sim.FailCopyTo("cn-beijing", 1)).To(Succeed())
		failedID, err := s.CopyImage(ctx, testtools.Region, baseID, "cn-beijing", "bosh-alicloud-kvm-ubuntu-noble-1.484", tags)
		Expect(err).NotTo(HaveOccurred())
		_, err = s.WaitImage(ctx, "cn-beijing", failedID, alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond})
		Expect(err).To(HaveOccurred())
		inProgress, err := s.CopyImage(ctx, testtools.Region, baseID, "eu-west-1", "bosh-alicloud-kvm-ubuntu-noble-1.484", tags)
		Expect(err).NotTo(HaveOccurred())
		c.Sim.Reset()

		req := request()
		req.Regions = []string{testtools.Region, "cn-beijing", "eu-west-1"}
		result, err := builder.Build(ctx, s, req)
		Expect(err).NotTo(HaveOccurred(), log.String())
		Expect(result.ImageIDs).To(Equal(map[string]string{testtools.Region: baseID, "eu-west-1": inProgress, "cn-beijing": result.ImageIDs["cn-beijing"]}))
		Expect(result.ImageIDs["cn-beijing"]).NotTo(Equal(failedID))
		Expect(result.Reused).To(Equal([]string{testtools.Region, "eu-west-1"}))
		_, byAction := ecsCallsByRegion(c.Sim.Journal(), 0)
		Expect(byAction["CopyImage"]).To(Equal(1))
		Expect(byAction["ImportImage"]).To(Equal(0))
		gone, err := s.Images(ctx, "cn-beijing", alicloud.ImageQuery{IDs: []string{failedID}})
		Expect(err).NotTo(HaveOccurred())
		Expect(gone).To(BeEmpty())
	})

	it("names images as ECS accepts them", func() {
		Expect(builder.ImageName("bosh-alicloud-kvm-ubuntu-noble", "1.484")).To(Equal("bosh-alicloud-kvm-ubuntu-noble-1.484"))
		Expect(builder.ImageName("1st stemcell", "2+dev.1")).To(Equal("stemcell-1st-stemcell-2-dev.1"))
		Expect(builder.ImageName("aliyun-x", "1")).To(Equal("stemcell-aliyun-x-1"))
		Expect([]rune(builder.ImageName(strings.Repeat("a", 200), "1"))).To(HaveLen(128))
	})
}

// cancelOn cancels a context when a line containing marker is logged.
// panicOn is a Log that panics on the line containing marker.
type panicOn struct {
	*lines
	marker string
}

func (l panicOn) Printf(format string, args ...any) {
	l.lines.Printf(format, args...)
	if strings.Contains(fmt.Sprintf(format, args...), l.marker) {
		panic("a logging bug")
	}
}

type cancelOn struct {
	*lines
	cancel context.CancelFunc
	marker string
}

func (l cancelOn) Printf(format string, args ...any) {
	l.lines.Printf(format, args...)
	if strings.Contains(fmt.Sprintf(format, args...), l.marker) {
		l.cancel()
	}
}
