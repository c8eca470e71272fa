package builder_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// ecsParams keeps the parameters of the ECS calls that pass through it to the emulator, whose
// journal has the actions but not their parameters (and which models no image features yet).
type ecsParams struct {
	mu    sync.Mutex
	calls []url.Values
}

func (p *ecsParams) of(action string) []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []url.Values
	for _, q := range p.calls {
		if q.Get("Action") == action {
			out = append(out, q)
		}
	}
	return out
}

// recordingEndpoint is an endpoint in front of the emulator that records ECS parameters (every
// RPC parameter is in the query).
func recordingEndpoint(t *testing.T, c *testtools.Cloud) (string, *ecsParams) {
	params := &ecsParams{}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("Action") != "" {
			params.mu.Lock()
			params.calls = append(params.calls, q)
			params.mu.Unlock()
		}
		c.Sim.ServeHTTP(w, r)
	}))
	t.Cleanup(web.Close)
	return web.URL, params
}

// The images themselves: which heavy stemcell they come from, their features and platform.
func testImages(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect  = NewWithT(t).Expect
		c       *testtools.Cloud
		s       *alicloud.Session
		params  *ecsParams
		log     *lines
		ctx     context.Context
		regions []string
	)
	const version = "1.484"

	it.Before(func() {
		c = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 100 * time.Millisecond
			cfg.CopyDuration = 150 * time.Millisecond
		})
		var endpoint string
		endpoint, params = recordingEndpoint(t, c)
		var err error
		s, err = alicloud.NewSession(alicloud.Cloud{
			AccessKeyID: testtools.KeyID, AccessKeySecret: testtools.KeySecret, Region: testtools.Region,
			Bucket: testtools.Bucket, OSSEndpoint: endpoint, ECSEndpoint: endpoint,
		}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: 5 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		log = &lines{}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		regions = []string{testtools.Region}
		for _, r := range c.Sim.Regions() {
			if r != testtools.Region && len(regions) < 4 {
				regions = append(regions, r)
			}
		}
	})

	build := func(tarball []byte, name string) (*builder.Result, error) {
		return builder.Build(ctx, s, builder.Request{
			Heavy: bytes.NewReader(tarball), HeavyName: name, BaseRegion: testtools.Region, ImageBucket: testtools.Bucket,
			Regions: regions, Log: log, Channel: "candidate", Wait: alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond},
		})
	}
	imagesOfVersion := func() map[string]alicloud.Image {
		out := map[string]alicloud.Image{}
		for _, r := range regions {
			images, err := s.Images(ctx, r, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: "bosh-alicloud-kvm-ubuntu-noble", builder.TagStemcellVersion: version}})
			Expect(err).NotTo(HaveOccurred())
			Expect(len(images)).To(BeNumerically("<=", 1), r)
			for _, img := range images {
				out[r] = img
			}
		}
		return out
	}

	it("adopts only the images of the same heavy stemcell, deleting another one's that a failed run kept", func() {
		first, firstImage := stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("heavy A "), 5000))
		failing := regions[3]
		Expect(c.Sim.FailCopyTo(failing, 1)).To(Succeed())
		_, err := build(first, heavyFileName)
		Expect(err).To(MatchError(ContainSubstring("no image in " + failing)))
		kept := imagesOfVersion()
		Expect(kept).To(HaveLen(len(regions) - 1))

		second, secondImage := stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("heavy B "), 5000))
		result, err := build(second, heavyFileName)
		Expect(err).NotTo(HaveOccurred(), log.String())
		Expect(result.Reused).To(BeEmpty())
		Expect(result.Manifest.SHA1()).To(Equal(stemcelltest.SHA1Hex(secondImage)))
		for r, img := range kept {
			Expect(result.ImageIDs[r]).NotTo(Equal(img.ID), "%s: the first heavy stemcell's image was adopted", r)
		}
		now := imagesOfVersion()
		Expect(now).To(HaveLen(len(regions)), "the first heavy stemcell's images are deleted")
		for r, img := range now {
			Expect(img.ID).To(Equal(result.ImageIDs[r]))
			Expect(img.TagMap()).To(HaveKeyWithValue("heavy-sha1", stemcelltest.SHA1Hex(secondImage)))
		}
		Expect(log.String()).To(ContainSubstring("left by an earlier run from another heavy stemcell (sha1 " + stemcelltest.SHA1Hex(firstImage)))
		for _, img := range kept {
			Expect(img.TagMap()).To(HaveKeyWithValue("heavy-sha1", stemcelltest.SHA1Hex(firstImage)))
		}
	})

	it("sends Features.NvmeSupport on the import and sets it on every copy, as the CPI does", func() {
		tarball, _ := stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("root "), 5000)) // nvme_support: supported
		result, err := build(tarball, heavyFileName)
		Expect(err).NotTo(HaveOccurred(), log.String())

		imports := params.of("ImportImage")
		Expect(imports).To(HaveLen(1))
		Expect(imports[0].Get("Features.NvmeSupport")).To(Equal("supported"))
		modified := map[string]int{}
		for _, e := range c.Sim.Journal() {
			if e.Action == "ModifyImageAttribute" && e.Status == http.StatusOK {
				modified[e.Region]++
			}
		}
		want := map[string]int{}
		for _, r := range regions[1:] {
			want[r] = 1
		}
		Expect(modified).To(Equal(want), "once on every copy, after it is Available")
		for _, q := range params.of("ModifyImageAttribute") {
			Expect(q.Get("Features.NvmeSupport")).To(Equal("supported"))
			Expect(q.Get("ImageId")).To(Equal(result.ImageIDs[q.Get("RegionId")]))
		}
	})

	it("sends no NvmeSupport for a stemcell without nvme_support", func() {
		image := stemcelltest.ImageTgz(t, []byte("root"))
		manifest := strings.Replace(string(stemcelltest.ManifestFor(image)), "  nvme_support: supported\n", "", 1)
		Expect(manifest).NotTo(ContainSubstring("nvme"))
		tarball := stemcelltest.Tgz(t, stemcelltest.File("stemcell.MF", []byte(manifest)), stemcelltest.File("image", image))
		_, err := build(tarball, heavyFileName)
		Expect(err).NotTo(HaveOccurred(), log.String())
		Expect(params.of("ImportImage")[0].Has("Features.NvmeSupport")).To(BeFalse())
		Expect(params.of("ModifyImageAttribute")).To(BeEmpty())
	})

	it("chooses the image platform as the CPI does: Others Linux for a -bionic- stemcell", func() {
		var heavy bytes.Buffer
		Expect(stemcelltest.WriteHeavy(&heavy, "bosh-alicloud-kvm-ubuntu-bionic-go_agent", "1.9", []byte("root"))).To(Succeed())
		regions = regions[:1]
		result, err := build(heavy.Bytes(), "bionic.tgz")
		Expect(err).NotTo(HaveOccurred(), log.String())
		img, err := s.Image(ctx, testtools.Region, result.ImageIDs[testtools.Region])
		Expect(err).NotTo(HaveOccurred())
		Expect(img.Platform).To(Equal("Others Linux"))

	})
}
