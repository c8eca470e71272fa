package records_test

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

func TestRecords(t *testing.T) {
	suite := spec.New("records", spec.Report(report.Terminal{}))
	suite("Line", testLine)
	suite("Lock", testLock)
	suite.Run(t)
}

func testLine(t *testing.T, _ spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		line   records.Line
		ctx    = context.Background()
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region,
			Bucket: cloud.Bucket, Prefix: "pack/", OSSEndpoint: cloud.URL}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err := s.Store()
		Expect(err).NotTo(HaveOccurred())
		line = records.Line{Store: store, Stemcell: "bosh-alicloud-kvm-ubuntu-noble"}
	})

	it("keeps the persisted layout", func() {
		Expect(line.RecordName("candidate", "1.484")).To(Equal("bosh-alicloud-kvm-ubuntu-noble/candidate/1.484.json"))
		Expect(line.TarballName("candidate", "1.484", "light-x.tgz")).To(Equal("bosh-alicloud-kvm-ubuntu-noble/tarballs/1.484/candidate/light-x.tgz"))
		Expect(line.TarballsPrefix("1.484")).To(Equal("bosh-alicloud-kvm-ubuntu-noble/tarballs/1.484/"))
	})

	it("writes a record once, reads it back and lists versions in BOSH order", func() {
		for _, v := range []string{"1.10", "1.9", "1.484"} {
			created, err := line.Create(ctx, records.Record{Stemcell: line.Stemcell, Version: v, Channel: records.ChannelCandidate, ImageIDs: map[string]string{"cn-hangzhou": "m-" + v}})
			Expect(err).NotTo(HaveOccurred())
			Expect(created).To(BeTrue())
		}
		created, err := line.Create(ctx, records.Record{Stemcell: line.Stemcell, Version: "1.9", Channel: records.ChannelCandidate})
		Expect(err).NotTo(HaveOccurred())
		Expect(created).To(BeFalse(), "a record is never replaced")
		cloud.PutObject(t, "pack/bosh-alicloud-kvm-ubuntu-noble/candidate/not a version.json", []byte("{}"))

		versions, err := line.Versions(ctx, records.ChannelCandidate)
		Expect(err).NotTo(HaveOccurred())
		var texts []string
		for _, v := range versions {
			texts = append(texts, v.String())
		}
		Expect(texts).To(Equal([]string{"1.9", "1.10", "1.484"}))

		r, err := line.Read(ctx, records.ChannelCandidate, "1.9")
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ImageIDs).To(Equal(map[string]string{"cn-hangzhou": "m-1.9"}))
		Expect(r.Missing([]string{"eu-central-1", "cn-hangzhou"})).To(Equal([]string{"eu-central-1"}))
		exists, err := line.Exists(ctx, records.ChannelPublished, "1.9")
		Expect(err).NotTo(HaveOccurred())
		Expect(exists).To(BeFalse())
	})

	it("refuses a record whose version or line is not the one its name says, naming both", func() {
		cloud.PutObject(t, "pack/bosh-alicloud-kvm-ubuntu-noble/published/1.484.json", []byte(`{"stemcell":"bosh-alicloud-kvm-ubuntu-noble","version":"99.0","channel":"published"}`))
		_, err := line.Read(ctx, records.ChannelPublished, "1.484")
		Expect(err).To(MatchError("the record bosh-alicloud-kvm-ubuntu-noble/published/1.484.json is inconsistent: it says bosh-alicloud-kvm-ubuntu-noble 99.0"))
	})

	it("says plainly when a version has no record on a channel", func() {
		_, err := line.Read(ctx, records.ChannelPublished, "1.484")
		Expect(errors.Is(err, records.ErrNotFound)).To(BeTrue())
		Expect(err).To(MatchError("bosh-alicloud-kvm-ubuntu-noble 1.484 is not found on the published channel (no bosh-alicloud-kvm-ubuntu-noble/published/1.484.json)"))
	})
}
