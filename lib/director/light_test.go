package director_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
)

func testLightStemcellImage(t *testing.T, _ spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		ctx    = context.Background()
		cloud  *testtools.Cloud
		s      *alicloud.Session
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t, func(cfg *sim.Config) { cfg.ImportDuration = 10 * time.Millisecond })
		var err error
		s, err = alicloud.NewSession(alicloud.Cloud{Region: cloud.Region, AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret,
			ECSEndpoint: cloud.URL, OSSEndpoint: cloud.URL, Bucket: cloud.Bucket},
			alicloud.Options{Retry: alicloud.RetryPolicy{Attempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
	})
	image := func(name string, tags map[string]string) string {
		t.Helper()
		cloud.PutObject(t, name+".img", []byte("raw disk"))
		id, err := s.ImportImage(ctx, cloud.Region, alicloud.ImportRequest{Name: name, Bucket: cloud.Bucket, Object: name + ".img",
			DiskSizeGiB: 5, Format: "RAW", Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu", Tags: tags})
		Expect(err).NotTo(HaveOccurred())
		_, err = s.WaitImage(ctx, cloud.Region, id, alicloud.WaitOptions{FirstPoll: 20 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		return id
	}

	it("tells a light stemcell's image by the builder's tags, a gone image, and keeps one it cannot look up", func() {
		light := image("light", map[string]string{builder.TagStemcell: "bosh-alicloud-kvm-ubuntu-noble-go_agent", builder.TagStemcellVersion: "1.484"})
		half := image("half", map[string]string{builder.TagStemcell: "bosh-alicloud-kvm-ubuntu-noble-go_agent"})
		heavy := image("heavy", nil)

		for id, want := range map[string]director.Light{light: director.IsLight, half: director.NotLight, heavy: director.NotLight, "m-gone": director.ImageGone} {
			got, err := director.LightStemcellImage(ctx, s, cloud.Region, id)
			Expect(err).NotTo(HaveOccurred(), id)
			Expect(got).To(Equal(want), id)
		}
		Expect(director.IsLight.Keep()).To(BeTrue())
		Expect(director.NotLight.Keep()).To(BeFalse())
		Expect(director.ImageGone.Keep()).To(BeFalse())

		cloud.Sim.AddFault(sim.Fault{Service: "ecs", Action: "DescribeImages", Kind: sim.FaultInternalError})
		got, err := director.LightStemcellImage(ctx, s, cloud.Region, heavy)
		Expect(err).To(HaveOccurred())
		Expect(got).To(Equal(director.Unknown))
		Expect(got.Keep()).To(BeTrue(), "an image that cannot be looked up is kept as if it were light")
	})
}
