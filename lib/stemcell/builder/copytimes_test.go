package builder_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testCopyTimes(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		at     = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	)

	it("expects nothing of a destination it never measured", func() {
		times := builder.NewCopyTimes()
		_, ok := times.Expect("cn-hangzhou", "eu-central-1")
		Expect(ok).To(BeFalse())
		var none *builder.CopyTimes
		_, ok = none.Expect("cn-hangzhou", "eu-central-1")
		Expect(ok).To(BeFalse())
		Expect(times.Changed()).To(BeFalse())
	})

	it("expects a pair's own time, smoothed so that each new copy weighs half", func() {
		times := builder.NewCopyTimes()
		times.Observe("cn-hangzhou", "eu-central-1", 600*time.Second, at)
		times.Observe("cn-hangzhou", "eu-central-1", 200*time.Second, at.Add(time.Hour))
		d, ok := times.Expect("cn-hangzhou", "eu-central-1")
		Expect(ok).To(BeTrue())
		Expect(d).To(Equal(400 * time.Second))
		Expect(times.Changed()).To(BeTrue())
		Expect(times.All()).To(Equal([]builder.CopyTime{{
			From: "cn-hangzhou", To: "eu-central-1", Seconds: 400, Copies: 2, Updated: at.Add(time.Hour),
		}}))
	})

	it("expects the mean of the copies into a destination from other sources when the pair is new", func() {
		times := builder.NewCopyTimes()
		times.Observe("cn-hangzhou", "eu-central-1", 600*time.Second, at)
		times.Observe("cn-beijing", "eu-central-1", 400*time.Second, at)
		times.Observe("cn-beijing", "cn-shanghai", 60*time.Second, at)
		d, ok := times.Expect("ap-southeast-1", "eu-central-1")
		Expect(ok).To(BeTrue())
		Expect(d).To(Equal(500 * time.Second))
		d, _ = times.Expect("cn-beijing", "eu-central-1")
		Expect(d).To(Equal(400 * time.Second))
	})

	it("ignores copies that took no time", func() {
		times := builder.NewCopyTimes()
		times.Observe("cn-hangzhou", "eu-central-1", 0, at)
		Expect(times.Len()).To(Equal(0))
		Expect(times.Changed()).To(BeFalse())
	})

	it("round-trips through JSON, sorted, with a comment saying what the file is", func() {
		times := builder.NewCopyTimes()
		times.Observe("cn-shanghai", "us-east-1", 300*time.Second, at)
		times.Observe("cn-hangzhou", "us-east-1", 200*time.Second, at)
		data, err := json.Marshal(times)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring(`"comment":"Image copy times measured`))
		Expect(string(data)).To(MatchRegexp(`"from":"cn-hangzhou".*"from":"cn-shanghai"`))

		back := builder.NewCopyTimes()
		Expect(json.Unmarshal(data, back)).To(Succeed())
		Expect(back.All()).To(Equal(times.All()))
		Expect(back.Changed()).To(BeFalse())
	})

	it("refuses entries without regions or a positive duration", func() {
		back := builder.NewCopyTimes()
		err := json.Unmarshal([]byte(`{"copies":[{"from":"cn-hangzhou","to":"us-east-1","seconds":10},{"from":"cn-hangzhou","to":"","seconds":10}]}`), back)
		Expect(err).To(MatchError(ContainSubstring("copies[1]: needs from, to and seconds > 0")))
		err = json.Unmarshal([]byte(`{"copies":[{"from":"cn-hangzhou","to":"us-east-1","seconds":-3}]}`), back)
		Expect(err).To(HaveOccurred())
	})

	when("stored in OSS", func() {
		var (
			store *alicloud.Store
			ctx   context.Context
		)

		it.Before(func() {
			c := testtools.NewCloud(t)
			s, err := alicloud.NewSession(alicloud.Cloud{
				AccessKeyID: testtools.KeyID, AccessKeySecret: testtools.KeySecret, Region: testtools.Region,
				Bucket: testtools.Bucket, OSSEndpoint: c.URL, ECSEndpoint: c.URL,
			}, alicloud.Options{})
			Expect(err).NotTo(HaveOccurred())
			store, err = s.Store()
			Expect(err).NotTo(HaveOccurred())
			ctx = context.Background()
		})

		it("reads a missing object as no copy times", func() {
			times, err := builder.LoadCopyTimes(ctx, store, "bosh-alicloud-kvm-ubuntu-noble")
			Expect(err).NotTo(HaveOccurred())
			Expect(times.Len()).To(Equal(0))
		})

		it("reads what it saved, per stemcell line", func() {
			times := builder.NewCopyTimes()
			times.Observe("cn-hangzhou", "us-east-1", 200*time.Second, at)
			Expect(builder.SaveCopyTimes(ctx, store, "bosh-alicloud-kvm-ubuntu-noble", times)).To(Succeed())

			back, err := builder.LoadCopyTimes(ctx, store, "bosh-alicloud-kvm-ubuntu-noble")
			Expect(err).NotTo(HaveOccurred())
			Expect(back.All()).To(Equal(times.All()))
			other, err := builder.LoadCopyTimes(ctx, store, "bosh-alicloud-kvm-ubuntu-jammy")
			Expect(err).NotTo(HaveOccurred())
			Expect(other.Len()).To(Equal(0))
		})

		it("names the object when it is not JSON, and still gives an empty CopyTimes", func() {
			_, err := store.Put(ctx, builder.CopyTimesName("bosh-alicloud-kvm-ubuntu-noble"), []byte("{not json"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			times, err := builder.LoadCopyTimes(ctx, store, "bosh-alicloud-kvm-ubuntu-noble")
			Expect(err).To(MatchError(ContainSubstring("bosh-alicloud-kvm-ubuntu-noble/copy-times.json")))
			Expect(errors.Is(err, builder.ErrCopyTimesUnreadable)).To(BeTrue())
			Expect(times.Len()).To(Equal(0))
		})
	})
}
