package alicloud_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testPendingUploads(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		tc     *testtools.Cloud
		st     *alicloud.Store
		ctx    = context.Background()
	)
	it.Before(func() {
		tc = testtools.NewCloud(t)
		c := &cloud{t: t, sim: tc.Sim, url: tc.URL, log: &testtools.Log{}, bucket: tc.Bucket}
		source := c.source()
		source.Prefix = "pack/"
		st = c.store(source)
	})

	it("lists pending uploads under a prefix with their initiation, relative to the store's prefix", func() {
		before := time.Now().Add(-time.Second)
		id := tc.StartUpload(t, "pack/cpi/tarballs/1.0/abc.tgz")
		tc.StartUpload(t, "pack/other/x.tgz")
		tc.StartUpload(t, "elsewhere/cpi/tarballs/1.0/abc.tgz")
		got, err := st.Uploads(ctx, "cpi/")
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(HaveLen(1))
		Expect(got[0].Name).To(Equal("cpi/tarballs/1.0/abc.tgz"))
		Expect(got[0].ID).To(Equal(id))
		Expect(got[0].Initiated).To(BeTemporally(">", before))
		all, err := st.Uploads(ctx, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(all).To(HaveLen(2), "only under the store's prefix")
	})

	it("aborts the uploads of exactly one name, never of a longer one, and an upload already gone is fine", func() {
		tc.StartUpload(t, "pack/root-img/l/1.484/root.img")
		tc.StartUpload(t, "pack/root-img/l/1.484/root.img")
		tc.StartUpload(t, "pack/root-img/l/1.484/root.img.other")
		tc.StartUpload(t, "pack/root-img/l/1.485/root.img")
		aborted, err := st.AbortUploadsOf(ctx, "root-img/l/1.484/root.img")
		Expect(err).NotTo(HaveOccurred())
		Expect(aborted).To(HaveLen(2))
		Expect(tc.PendingUploads(t, "")).To(Equal([]string{"pack/root-img/l/1.484/root.img.other", "pack/root-img/l/1.485/root.img"}))
		Expect(st.AbortUpload(ctx, aborted[0])).To(Succeed(), "aborting twice")
	})

	it("aborts only uploads older than the age given, and only lists them on a dry run", func() {
		tc.StartUpload(t, "pack/cpi/tarballs/1.0/old.tgz")
		time.Sleep(1200 * time.Millisecond)
		tc.StartUpload(t, "pack/cpi/tarballs/1.1/young.tgz")
		listed, err := st.AbortStaleUploads(ctx, "cpi/", 600*time.Millisecond, true)
		Expect(err).NotTo(HaveOccurred())
		Expect(listed).To(HaveLen(1))
		Expect(listed[0].Name).To(Equal("cpi/tarballs/1.0/old.tgz"))
		Expect(tc.PendingUploads(t, "")).To(HaveLen(2), "a dry run aborts nothing")
		aborted, err := st.AbortStaleUploads(ctx, "cpi/", 600*time.Millisecond, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(aborted).To(Equal(listed))
		Expect(tc.PendingUploads(t, "")).To(Equal([]string{"pack/cpi/tarballs/1.1/young.tgz"}))
	})

	it("computes the CRC-64 OSS reports for an object", func() {
		body := randomBytes(300_000, 7)
		info, err := st.Put(ctx, "crc.bin", body, alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())
		crc, n, err := alicloud.CRC64(bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(Equal(int64(len(body))))
		Expect(crc).To(Equal(info.CRC64))
		head, err := st.Head(ctx, "crc.bin")
		Expect(err).NotTo(HaveOccurred())
		Expect(head.CRC64).To(Equal(crc))
	})
}
