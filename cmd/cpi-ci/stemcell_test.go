package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testStemcellCommand(t *testing.T, when spec.G, it spec.S) {
	const line = "bosh-alicloud-kvm-ubuntu-noble"
	var (
		Expect  = NewWithT(t).Expect
		c       *testtools.Cloud
		s       *alicloud.Session
		store   *alicloud.Store
		ctx     context.Context
		regions []string
		ids     map[string]map[string]string
		flags   []string
	)

	imagesOf := func(v string) map[string]string {
		out := map[string]string{}
		for _, r := range regions {
			images, err := s.Images(ctx, r, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: line, builder.TagStemcellVersion: v}})
			Expect(err).NotTo(HaveOccurred())
			for _, image := range images {
				out[r] = image.ID
			}
		}
		return out
	}

	it.Before(func() {
		// Ten minutes behind: the images are ten minutes old.
		c = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 100 * time.Millisecond
			cfg.CopyDuration = 150 * time.Millisecond
			cfg.Clock = func() time.Time { return time.Now().Add(-10 * time.Minute) }
		})
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", c.KeyID)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", c.Secret)
		t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
		t.Setenv("NO_COLOR", "1")
		var err error
		s, err = alicloud.NewSession(alicloud.Cloud{
			AccessKeyID: c.KeyID, AccessKeySecret: c.Secret, Region: c.Region, Bucket: c.Bucket,
			Prefix: "pack/", OSSEndpoint: c.URL, ECSEndpoint: c.URL,
		}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: 5 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err = s.Store()
		Expect(err).NotTo(HaveOccurred())
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)

		regions = []string{c.Region}
		for _, r := range c.Sim.Regions() {
			if r != c.Region && len(regions) < 2 {
				regions = append(regions, r)
			}
		}
		ids = map[string]map[string]string{}
		dir := t.TempDir()
		for _, v := range []string{"1.484", "1.485"} {
			path, err := stemcelltest.WriteHeavyFile(dir, line, v, []byte("root disk "+v))
			Expect(err).NotTo(HaveOccurred())
			heavy, err := os.Open(path)
			Expect(err).NotTo(HaveOccurred())
			result, err := builder.Build(ctx, s, builder.Request{
				Heavy: heavy, HeavyName: path, BaseRegion: c.Region, ImageBucket: c.Bucket, Regions: regions,
				Channel: records.ChannelCandidate, Wait: alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond},
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(heavy.Close()).To(Succeed())
			ids[v] = result.ImageIDs
			tarball := line + "/tarballs/" + v + "/light.tgz"
			_, err = store.Put(ctx, tarball, []byte("light "+v), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			_, err = store.PutJSON(ctx, line+"/candidate/"+v+".json", records.Record{Stemcell: line, Version: v, Tarball: tarball, ImageIDs: result.ImageIDs})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = store.PutJSON(ctx, line+"/published/1.484.json", records.Record{Stemcell: line, Version: "1.484", ImageIDs: ids["1.484"]})
		Expect(err).NotTo(HaveOccurred())
		flags = []string{"--stemcell", line, "--region", c.Region, "--bucket", c.Bucket, "--prefix", "pack/",
			"--oss-endpoint", c.URL, "--ecs-endpoint", c.URL, "--regions", strings.Join(regions, ",")}
	})

	it("prune --dry-run lists the old unpublished images and deletes nothing", func() {
		stdout, stderr, code := cli("", append([]string{"stemcell", "prune", "--older-than", "5m", "--dry-run"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		Expect(lines).To(HaveLen(len(regions)), stdout)
		for _, r := range regions {
			Expect(stdout).To(ContainSubstring("would delete image " + ids["1.485"][r] + " in " + r + " (" + line + " 1.485, "))
			Expect(stdout).NotTo(ContainSubstring(ids["1.484"][r]))
		}
		Expect(stderr).NotTo(ContainSubstring(c.Secret))
		Expect(imagesOf("1.485")).To(Equal(ids["1.485"]))
		Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))
	})

	it("prune deletes them, and delete-version removes a version's records, images and objects", func() {
		stdout, stderr, code := cli("", append([]string{"stemcell", "prune", "--older-than", "5m"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(strings.Count(stdout, "deleted image ")).To(Equal(len(regions)), stdout)
		Expect(imagesOf("1.485")).To(BeEmpty())
		Expect(imagesOf("1.484")).To(Equal(ids["1.484"]))

		stdout, stderr, code = cli("", append([]string{"stemcell", "delete-version", "--version", "1.484"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(ContainSubstring("deleted object pack/" + line + "/published/1.484.json"))
		Expect(stdout).To(ContainSubstring("deleted object pack/" + line + "/tarballs/1.484/light.tgz"))
		for _, r := range regions {
			Expect(stdout).To(ContainSubstring("deleted image " + ids["1.484"][r] + " in " + r))
		}
		Expect(imagesOf("1.484")).To(BeEmpty())
		Expect(c.Keys(t, "pack/"+line+"/")).To(ConsistOf("pack/"+line+"/candidate/1.485.json", "pack/"+line+"/tarballs/1.485/light.tgz"))
	})

	it("copy-times prints what the builds measured, slowest first, and says when there is nothing", func() {
		cloudFlags := []string{"--stemcell", line, "--region", c.Region, "--bucket", c.Bucket, "--prefix", "pack/",
			"--oss-endpoint", c.URL, "--ecs-endpoint", c.URL}
		_, stderr, code := cli("", append([]string{"stemcell", "copy-times"}, cloudFlags...)...)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("no copy times for " + line + " in oss://" + c.Bucket + "/pack/" + line + "/copy-times.json"))

		times := builder.NewCopyTimes()
		at := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
		times.Observe(c.Region, "cn-beijing", 95*time.Second, at)
		times.Observe(c.Region, "eu-central-1", 12*time.Minute, at)
		times.Observe("cn-beijing", "us-east-1", 9*time.Minute, at)
		Expect(builder.SaveCopyTimes(ctx, store, line, times)).To(Succeed())

		stdout, stderr, code := cli("", append([]string{"stemcell", "copy-times"}, cloudFlags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(strings.Split(strings.TrimSpace(stdout), "\n")).To(Equal([]string{
			"FROM         TO            TIME   COPIES  LAST",
			c.Region + "  eu-central-1  12m0s  1       2026-11-22T06:00:00Z",
			"cn-beijing   us-east-1     9m0s   1       2026-11-22T06:00:00Z",
			c.Region + "  cn-beijing    1m35s  1       2026-11-22T06:00:00Z",
		}))
	})

	it("verify checks every image of the line with one DescribeImages per region, and names the lost ones and how to rebuild them", func() {
		cloudFlags := []string{"--stemcell", line, "--region", c.Region, "--bucket", c.Bucket, "--prefix", "pack/",
			"--oss-endpoint", c.URL, "--ecs-endpoint", c.URL}
		journal := c.Sim.Journal()
		before := journal[len(journal)-1].Seq
		stdout, stderr, code := cli("", append([]string{"stemcell", "verify"}, cloudFlags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(BeEmpty())
		Expect(stderr).To(ContainSubstring("every image of the 3 records of " + line + " is Available"))
		describes := 0
		for _, e := range c.Sim.Journal() {
			if e.Seq > before && e.Action == "DescribeImages" {
				describes++
			}
		}
		Expect(describes).To(Equal(len(regions)), "one DescribeImages per region for the whole line")

		// A director deleted the light stemcell it was given.
		Expect(s.DeleteImage(ctx, regions[1], ids["1.484"][regions[1]])).To(Succeed())
		stdout, stderr, code = cli("", append([]string{"stemcell", "verify"}, cloudFlags...)...)
		Expect(code).To(Equal(1))
		Expect(strings.Split(strings.TrimSpace(stdout), "\n")).To(ConsistOf(
			"lost "+line+" 1.484 (published channel) in "+regions[1]+": "+ids["1.484"][regions[1]]+" gone",
			"lost "+line+" 1.484 (candidate channel) in "+regions[1]+": "+ids["1.484"][regions[1]]+" gone",
		))
		Expect(stderr).To(ContainSubstring(line + " 1.484 (published channel) has lost its images in " + regions[1]))
		Expect(stderr).To(ContainSubstring("cpi-ci stemcell delete-version --stemcell " + line + " --version 1.484"))
	})

	it("prune aborts the unfinished uploads under the line's prefixes started before --uploads-older-than, and no other", func() {
		// The emulator's clock is ten minutes behind: these uploads are ten minutes old.
		ours := []string{"pack/" + line + "/tarballs/1.486/light.tgz", "root-img/" + line + "/1.486/root.img", "root-img/unnamed/0123abcd/root.img"}
		others := []string{"pack/" + line + "-fips/tarballs/1/light.tgz", "root-img/" + line + "-fips/1/root.img"}
		for _, key := range append(append([]string{}, ours...), others...) {
			c.StartUpload(t, key)
		}
		stdout, stderr, code := cli("", append([]string{"stemcell", "prune", "--older-than", "1000h"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(BeEmpty(), "uploads younger than the default 24h stay")
		Expect(c.PendingUploads(t, "")).To(HaveLen(5))

		stdout, stderr, code = cli("", append([]string{"stemcell", "prune", "--older-than", "1000h", "--uploads-older-than", "5m", "--dry-run"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(strings.Count(stdout, "would abort upload ")).To(Equal(3), stdout)
		Expect(c.PendingUploads(t, "")).To(HaveLen(5))

		stdout, stderr, code = cli("", append([]string{"stemcell", "prune", "--older-than", "1000h", "--uploads-older-than", "5m"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		for _, key := range ours {
			Expect(stdout).To(ContainSubstring(" of oss://" + c.Bucket + "/" + key + " ("))
		}
		Expect(c.PendingUploads(t, "")).To(ConsistOf(others))
	})

	it("names what is missing", func() {
		_, stderr, code := cli("", "stemcell", "prune", "--region", c.Region, "--bucket", c.Bucket)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("missing --stemcell, --older-than"))
		_, stderr, code = cli("", "stemcell", "delete-version", "--stemcell", line)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("missing --version"))
		_, stderr, code = cli("", "stemcell", "purge")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`unknown subcommand "purge"`))
	})
}
