package retention_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/retention"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestPrune(t *testing.T) {
	spec.Run(t, "Prune", testPrune, spec.Report(report.Terminal{}))
}

const pruneLine = "bosh-alicloud-kvm-ubuntu-noble"

func countActions(entries []sim.Entry, action string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action && e.Status == 200 {
			n++
		}
	}
	return n
}

func testPrune(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect  = NewWithT(t).Expect
		c       *testtools.Cloud
		s       *alicloud.Session
		store   *alicloud.Store
		log     *testtools.Log
		ctx     context.Context
		regions []string
		ids     map[string]map[string]string // version → region → image id
	)

	// The emulator runs ten minutes behind: every image it makes is ten minutes old.
	const skew = 10 * time.Minute

	imagesOf := func(v string) map[string]string {
		out := map[string]string{}
		for _, r := range regions {
			images, err := s.Images(ctx, r, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: pruneLine, builder.TagStemcellVersion: v}})
			Expect(err).NotTo(HaveOccurred())
			for _, image := range images {
				out[r] = image.ID
			}
		}
		return out
	}

	it.Before(func() {
		c = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 100 * time.Millisecond
			cfg.CopyDuration = 150 * time.Millisecond
			cfg.Clock = func() time.Time { return time.Now().Add(-skew) }
		})
		var err error
		s, err = alicloud.NewSession(alicloud.Cloud{
			AccessKeyID: testtools.KeyID, AccessKeySecret: testtools.KeySecret, Region: testtools.Region,
			Bucket: testtools.Bucket, Prefix: "pack/", OSSEndpoint: c.URL, ECSEndpoint: c.URL,
		}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: 5 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err = s.Store()
		Expect(err).NotTo(HaveOccurred())
		log = &testtools.Log{}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)

		regions = []string{testtools.Region}
		for _, r := range c.Sim.Regions() {
			if r != testtools.Region && len(regions) < 3 {
				regions = append(regions, r)
			}
		}
		Expect(regions).To(HaveLen(3))

		ids = map[string]map[string]string{}
		dir := t.TempDir()
		for _, v := range []string{"1.484", "1.485"} {
			path, err := stemcelltest.WriteHeavyFile(dir, pruneLine, v, []byte("root disk "+v))
			Expect(err).NotTo(HaveOccurred())
			heavy, err := os.Open(path)
			Expect(err).NotTo(HaveOccurred())
			result, err := builder.Build(ctx, s, builder.Request{
				Heavy: heavy, HeavyName: path, BaseRegion: testtools.Region, ImageBucket: testtools.Bucket,
				Regions: regions, Log: log, Channel: records.ChannelCandidate,
				Wait: alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond},
			})
			_ = heavy.Close() // read only
			Expect(err).NotTo(HaveOccurred(), log.String())
			ids[v] = result.ImageIDs
			tarball := pruneLine + "/tarballs/" + v + "/light-bosh-stemcell-" + v + ".tgz"
			_, err = store.Put(ctx, tarball, []byte("light "+v), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			record := records.Record{Stemcell: pruneLine, Version: v, Channel: records.ChannelCandidate, Tarball: tarball, ImageIDs: result.ImageIDs}
			_, err = store.PutJSON(ctx, pruneLine+"/candidate/"+v+".json", record)
			Expect(err).NotTo(HaveOccurred())
		}
		record := records.Record{Stemcell: pruneLine, Version: "1.484", Channel: records.ChannelPublished,
			Tarball: pruneLine + "/tarballs/1.484/light-bosh-stemcell-1.484.tgz", ImageIDs: ids["1.484"]}
		_, err = store.PutJSON(ctx, pruneLine+"/published/1.484.json", record)
		Expect(err).NotTo(HaveOccurred())
		Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))
		Expect(imagesOf("1.485")).To(Equal(ids["1.485"]))
	})

	when("PruneUnpublished", func() {
		it("deletes the old images of unpublished versions with their snapshots, and nothing else", func() {
			before := countActions(c.Sim.Journal(), "DeleteSnapshot")
			pruned, err := retention.PruneUnpublished(ctx, s, store, pruneLine, regions, 5*time.Minute, false, log)
			Expect(err).NotTo(HaveOccurred(), log.String())

			Expect(pruned).To(HaveLen(len(regions)))
			got := map[string]string{}
			for _, p := range pruned {
				Expect(p.Version).To(Equal("1.485"))
				Expect(p.Age).To(BeNumerically(">", 5*time.Minute))
				Expect(p.Age).To(BeNumerically("<", 20*time.Minute))
				got[p.Region] = p.ID
			}
			Expect(got).To(Equal(ids["1.485"]))
			Expect(imagesOf("1.485")).To(BeEmpty())
			Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))
			Expect(countActions(c.Sim.Journal(), "DeleteSnapshot") - before).To(Equal(len(regions)))
			Expect(log.String()).To(ContainSubstring("deleted image " + ids["1.485"][regions[1]]))

			// Nothing is left to prune.
			again, err := retention.PruneUnpublished(ctx, s, store, pruneLine, regions, 5*time.Minute, false, log)
			Expect(err).NotTo(HaveOccurred())
			Expect(again).To(BeEmpty())
		})

		it("lists on a dry run and deletes nothing", func() {
			before := len(c.Sim.Journal())
			pruned, err := retention.PruneUnpublished(ctx, s, store, pruneLine, nil, 5*time.Minute, true, log)
			Expect(err).NotTo(HaveOccurred(), log.String())
			Expect(pruned).To(HaveLen(len(regions)))
			for _, e := range c.Sim.Journal()[before:] {
				Expect(e.Action).NotTo(BeElementOf("DeleteImage", "DeleteSnapshot", "CancelCopyImage", "DeleteObject"))
			}
			Expect(imagesOf("1.485")).To(Equal(ids["1.485"]))
			Expect(log.String()).To(ContainSubstring("would delete image"))
		})

		it("keeps images younger than the age", func() {
			pruned, err := retention.PruneUnpublished(ctx, s, store, pruneLine, regions, time.Hour, false, log)
			Expect(err).NotTo(HaveOccurred())
			Expect(pruned).To(BeEmpty())
			Expect(imagesOf("1.485")).To(Equal(ids["1.485"]))
		})

		it("refuses a line name that is a path", func() {
			_, err := retention.PruneUnpublished(ctx, s, store, "a/b", regions, 0, true, log)
			Expect(err).To(MatchError(ContainSubstring("not a stemcell line")))
		})
	})

	when("DeleteVersion", func() {
		it("deletes the images with their snapshots, then the tarball, then the records last, and can run again", func() {
			before := len(c.Sim.Journal())
			Expect(retention.DeleteVersion(ctx, s, store, pruneLine, "1.484", regions, log)).To(Succeed(), log.String())
			journal := c.Sim.Journal()[before:]

			Expect(imagesOf("1.484")).To(BeEmpty())
			Expect(imagesOf("1.485")).To(Equal(ids["1.485"]))
			Expect(countActions(journal, "DeleteSnapshot")).To(Equal(len(regions)))
			Expect(c.Keys(t, "pack/"+pruneLine+"/")).To(ConsistOf(
				"pack/"+pruneLine+"/candidate/1.485.json",
				"pack/"+pruneLine+"/tarballs/1.485/light-bosh-stemcell-1.485.tgz",
			))

			// Order: images, then the tarball, then both records.
			var order []string
			for _, e := range journal {
				switch {
				case e.Action == "DeleteObject" && strings.HasSuffix(e.Key, ".json"):
					order = append(order, "record")
				case e.Action == "DeleteImage":
					order = append(order, "image")
				case e.Action == "DeleteObject":
					order = append(order, "tarball")
				}
			}
			Expect(order).To(Equal([]string{"image", "image", "image", "tarball", "record", "record"}))

			after := len(c.Sim.Journal())
			Expect(retention.DeleteVersion(ctx, s, store, pruneLine, "1.484", regions, log)).To(Succeed(), log.String())
			for _, e := range c.Sim.Journal()[after:] {
				Expect(e.Action).NotTo(BeElementOf("DeleteImage", "DeleteSnapshot", "DeleteObject"))
			}
		})

		it("keeps the records when an image outside --regions could not be deleted, so a rerun deletes it", func() {
			sorted := append([]string(nil), regions...)
			sort.Strings(sorted)
			outside := sorted[0] // deleted first: the images go in region order
			Expect(outside).NotTo(Equal(testtools.Region))
			c.Sim.AddFault(sim.Fault{Service: "ecs", Action: "DeleteImage", Count: 6, Kind: sim.FaultInternalError})
			err := retention.DeleteVersion(ctx, s, store, pruneLine, "1.484", []string{testtools.Region}, log)
			Expect(err).To(MatchError(ContainSubstring(ids["1.484"][outside])))
			Expect(imagesOf("1.484")).To(Equal(map[string]string{outside: ids["1.484"][outside]}))
			Expect(c.Keys(t, "pack/"+pruneLine+"/published/")).To(ConsistOf("pack/" + pruneLine + "/published/1.484.json"))

			Expect(retention.DeleteVersion(ctx, s, store, pruneLine, "1.484", []string{testtools.Region}, log)).To(Succeed(), log.String())
			Expect(imagesOf("1.484")).To(BeEmpty(), "the records still named the image outside --regions")
			Expect(c.Keys(t, "pack/"+pruneLine+"/")).NotTo(ContainElement(ContainSubstring("1.484")))
		})

		it("finds images by tag when no record is left, in every region by default", func() {
			Expect(store.Delete(ctx, pruneLine+"/candidate/1.485.json")).To(Succeed())
			Expect(retention.DeleteVersion(ctx, s, store, pruneLine, "1.485", nil, log)).To(Succeed(), log.String())
			Expect(imagesOf("1.485")).To(BeEmpty())
			Expect(c.Keys(t, "pack/"+pruneLine+"/tarballs/1.485/")).To(BeEmpty())
			Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))
		})

		it("refuses a version that is a path", func() {
			err := retention.DeleteVersion(ctx, s, store, pruneLine, "../1.484", regions, log)
			Expect(err).To(MatchError(ContainSubstring("is not a version")))
			Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))
		})
	})
}
