// Package compat shows that what earlier releases of the pack wrote stays readable: the records,
// tarballs, copy times and tagged images in testdata/v0 were written by the code before the
// reshape, and today's resources, builder and retention run over them unchanged.
package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/retention"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

const (
	fixtures = "testdata/v0"
	line     = "bosh-alicloud-kvm-ubuntu-noble"
)

// image is an image as the earlier code left it (images.json).
type image struct {
	Region string            `json:"region"`
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Tags   map[string]string `json:"tags"`
}

func TestCompat(t *testing.T) {
	binaries := map[string]string{
		"bosh-release":   conformance.Compile(t, "../bosh-release"),
		"light-stemcell": conformance.Compile(t, "../light-stemcell"),
	}
	suite := spec.New("compat", spec.Report(report.Terminal{}))
	suite("what the pack wrote before the reshape", func(t *testing.T, context spec.G, it spec.S) { testV0(t, context, it, binaries) })
	suite.Run(t)
}

func testV0(t *testing.T, when spec.G, it spec.S, binaries map[string]string) {
	var (
		Expect    = NewWithT(t).Expect
		cloud     *testtools.Cloud
		session   *alicloud.Session
		store     *alicloud.Store
		ctx       context.Context
		responses map[string]json.RawMessage
	)
	// The emulator runs ten minutes behind, so every image it makes is ten minutes old for prune.
	const skew = 10 * time.Minute

	it.Before(func() {
		cloud = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 50 * time.Millisecond
			cfg.CopyDuration = 50 * time.Millisecond
			cfg.Clock = func() time.Time { return time.Now().Add(-skew) }
		})
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		var err error
		session, err = alicloud.NewSession(alicloud.Cloud{
			AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region, Bucket: cloud.Bucket,
			OSSEndpoint: cloud.URL, ECSEndpoint: cloud.URL,
		}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: 5 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err = session.Store()
		Expect(err).NotTo(HaveOccurred())

		// Every object, byte for byte.
		root := filepath.Join(fixtures, "objects")
		Expect(filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			key, err := filepath.Rel(root, path)
			cloud.PutObject(t, filepath.ToSlash(key), data)
			return err
		})).To(Succeed())

		// The images, with the tags the earlier code put on them: each version's base image
		// imported, the others copied from it (source-image then names the new base image).
		var images []image
		body, err := os.ReadFile(filepath.Join(fixtures, "images.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(body, &images)).To(Succeed())
		Expect(images).To(HaveLen(6))
		cloud.PutObject(t, "raw/root.img", []byte("a raw disk"))
		wait := alicloud.WaitOptions{FirstPoll: 20 * time.Millisecond}
		bases := map[string]string{} // version → new base image id
		for _, img := range images {
			if img.Tags[builder.TagSourceImage] == "" {
				id, err := session.ImportImage(ctx, img.Region, alicloud.ImportRequest{Name: img.Name, Bucket: cloud.Bucket, Object: "raw/root.img",
					DiskSizeGiB: 5, Format: "RAW", Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu", Tags: img.Tags})
				Expect(err).NotTo(HaveOccurred())
				_, err = session.WaitImage(ctx, img.Region, id, wait)
				Expect(err).NotTo(HaveOccurred())
				bases[img.Tags[builder.TagStemcellVersion]] = id
			}
		}
		for _, img := range images {
			if img.Tags[builder.TagSourceImage] != "" {
				tags := map[string]string{}
				for k, v := range img.Tags {
					tags[k] = v
				}
				base := bases[img.Tags[builder.TagStemcellVersion]]
				tags[builder.TagSourceImage] = base
				id, err := session.CopyImage(ctx, cloud.Region, base, img.Region, img.Name, tags)
				Expect(err).NotTo(HaveOccurred())
				_, err = session.WaitImage(ctx, img.Region, id, wait)
				Expect(err).NotTo(HaveOccurred())
			}
		}

		body, err = os.ReadFile(filepath.Join(fixtures, "responses.json"))
		Expect(err).NotTo(HaveOccurred())
		body = bytes.ReplaceAll(body, []byte("{{endpoint}}"), []byte(cloud.URL))
		Expect(json.Unmarshal(body, &responses)).To(Succeed())
	})

	// run drives a resource binary as Concourse does and returns its stdout.
	run := func(resource, step string, request any, dir string) string {
		t.Helper()
		body, err := json.Marshal(request)
		Expect(err).NotTo(HaveOccurred())
		args := []string{step}
		if dir != "" {
			args = append(args, dir)
		}
		cmd := exec.Command(binaries[resource], args...)
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "BUILD_PIPELINE_NAME=cpi", "BUILD_JOB_NAME=publish", "BUILD_NAME=8")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), "%s %s: %s", resource, step, stderr.String())
		return stdout.String()
	}
	releaseSource := func() map[string]any {
		s := cloud.Source()
		s["name"] = "cpi"
		return s
	}
	stemcellSource := func(channel string) map[string]any {
		s := cloud.Source()
		s["stemcell"], s["channel"] = line, channel
		return s
	}
	// sameFiles says dir holds exactly the files the earlier in wrote, byte for byte.
	// sameFiles compares what in wrote with what the earlier binaries wrote: every earlier file
	// byte for byte, plus the files later versions add (named in added), and nothing else.
	sameFiles := func(dir, fixture string, added ...string) {
		t.Helper()
		want, err := os.ReadDir(fixture)
		Expect(err).NotTo(HaveOccurred())
		got, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		names := func(entries []os.DirEntry) []string {
			var out []string
			for _, e := range entries {
				out = append(out, e.Name())
			}
			sort.Strings(out)
			return out
		}
		wantNames := append(names(want), added...)
		sort.Strings(wantNames)
		Expect(names(got)).To(Equal(wantNames))
		for _, e := range want {
			wantBody, err := os.ReadFile(filepath.Join(fixture, e.Name()))
			Expect(err).NotTo(HaveOccurred())
			wantBody = bytes.ReplaceAll(wantBody, []byte("{{endpoint}}"), []byte(cloud.URL))
			gotBody, err := os.ReadFile(filepath.Join(dir, e.Name()))
			Expect(err).NotTo(HaveOccurred())
			Expect(gotBody).To(Equal(wantBody), e.Name())
		}
	}

	when("bosh-release", func() {
		it("checks, fetches and re-publishes the earlier release exactly as before", func() {
			Expect(run("bosh-release", "check", map[string]any{"source": releaseSource()}, "")).To(MatchJSON(responses["release-check"]))

			dir := t.TempDir()
			got := run("bosh-release", "in", map[string]any{"source": releaseSource(), "version": map[string]string{"version": "61.0.0"}}, dir)
			Expect(got).To(MatchJSON(responses["release-in"]))
			// next-final came with next-rc versions (docs/resources/bosh-release.md).
			sameFiles(dir, filepath.Join(fixtures, "in", "bosh-release"), "next-final")

			// The same tarball again: the earlier record is read and found to match.
			build := t.TempDir()
			tarball, err := os.ReadFile(filepath.Join(dir, "release.tgz"))
			Expect(err).NotTo(HaveOccurred())
			Expect(os.WriteFile(filepath.Join(build, "cpi-61.0.0.tgz"), tarball, 0o644)).To(Succeed())
			Expect(run("bosh-release", "out", map[string]any{"source": releaseSource(), "params": map[string]any{"file": "cpi-*.tgz"}}, build)).
				To(MatchJSON(responses["release-out"]))
		})
	})

	when("alicloud-light-stemcell", func() {
		it("checks both channels and fetches the earlier light stemcell exactly as before", func() {
			Expect(run("light-stemcell", "check", map[string]any{"source": stemcellSource("candidate"), "version": map[string]string{"version": "1.484"}}, "")).
				To(MatchJSON(responses["stemcell-check"]))
			Expect(run("light-stemcell", "check", map[string]any{"source": stemcellSource("published")}, "")).To(MatchJSON(`[{"version":"1.484"}]`))

			dir := t.TempDir()
			got := run("light-stemcell", "in", map[string]any{"source": stemcellSource("published"), "version": map[string]string{"version": "1.484"},
				// verify: false: the emulator cannot make images with the ids the earlier cloud gave.
				"params": map[string]any{"preserve_filename": true, "verify": false}}, dir)
			Expect(got).To(MatchJSON(responses["stemcell-in-1.484"]))
			sameFiles(dir, filepath.Join(fixtures, "in", "light-stemcell"))
		})

		it("resumes a build of an earlier version from its tagged images, importing and copying nothing", func() {
			var heavy bytes.Buffer
			Expect(stemcelltest.WriteHeavy(&heavy, line, "1.485", bytes.Repeat([]byte("root disk 1.485"), 2048))).To(Succeed())
			times, err := builder.LoadCopyTimes(ctx, store, line)
			Expect(err).NotTo(HaveOccurred(), "the earlier copy-times.json is readable")
			Expect(times.Len()).To(BeNumerically(">", 0))
			before := len(cloud.Sim.Journal())
			result, err := builder.Build(ctx, session, builder.Request{
				Heavy: &heavy, HeavyName: stemcelltest.HeavyName(line, "1.485"), BaseRegion: cloud.Region, ImageBucket: cloud.Bucket,
				Regions: []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}, Channel: records.ChannelCandidate, Stemcell: line, CopyTimes: times,
				Wait: alicloud.WaitOptions{FirstPoll: 20 * time.Millisecond},
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(result.Reused).To(Equal([]string{"cn-beijing", "cn-hangzhou", "eu-central-1"}))
			for _, e := range cloud.Sim.Journal()[before:] {
				Expect(e.Action).NotTo(BeElementOf("ImportImage", "CopyImage", "TagResources"), "the earlier tags (stage: candidate) are read as they are")
			}
		})

		it("prunes the earlier unpublished version's images and keeps the published one's", func() {
			pruned, err := retention.PruneUnpublished(ctx, session, store, line, nil, 5*time.Minute, false, nil)
			Expect(err).NotTo(HaveOccurred())
			var versions []string
			for _, p := range pruned {
				versions = append(versions, p.Version+" "+p.Region)
			}
			Expect(versions).To(Equal([]string{"1.485 cn-beijing", "1.485 cn-hangzhou", "1.485 eu-central-1"}))
			for _, region := range []string{"cn-hangzhou", "cn-beijing", "eu-central-1"} {
				left, err := session.Images(ctx, region, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: line}})
				Expect(err).NotTo(HaveOccurred())
				Expect(left).To(HaveLen(1))
				Expect(left[0].TagMap()[builder.TagStemcellVersion]).To(Equal("1.484"))
			}
		})

		it("deletes a whole earlier version: records, images and tarball", func() {
			Expect(retention.DeleteVersion(ctx, session, store, line, "1.484", nil, nil)).To(Succeed())
			line := records.Line{Store: store, Stemcell: line}
			for _, channel := range records.Channels {
				_, err := line.Read(ctx, channel, "1.484")
				Expect(errors.Is(err, records.ErrNotFound)).To(BeTrue(), channel)
			}
			Expect(strings.Join(cloud.Keys(t, line.TarballsPrefix("1.484")), ",")).To(BeEmpty())
		})
	})
}
