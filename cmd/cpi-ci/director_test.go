package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testDirectorCommand(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *testtools.Cloud
		store  director.Store
		ctx    = context.Background()
	)
	it.Before(func() {
		c = testtools.NewCloud(t)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", c.KeyID)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", c.Secret)
		t.Setenv("NO_COLOR", "1")
		objects, err := alicloud.OpenStore(alicloud.Cloud{AccessKeyID: c.KeyID, AccessKeySecret: c.Secret, Region: c.Region, Bucket: c.Bucket,
			Prefix: "directors/bats/", OSSEndpoint: c.URL}, alicloud.Discard, nil)
		Expect(err).NotTo(HaveOccurred())
		store = director.Store{Objects: objects}
	})

	it("breaks every expired lease of a pool, keeping unexpired ones", func() {
		_, err := store.Claim(ctx, "bats-1", "cpi/bats #1", time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Claim(ctx, "bats-2", "cpi/bats #2", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(10 * time.Millisecond)
		stdout, stderr, code := cli("", "director", "break-expired", "--region", c.Region, "--bucket", c.Bucket,
			"--prefix", "directors/", "--pool", "bats/", "--oss-endpoint", c.URL)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(Equal("bats-1\n"))
		Expect(stderr).To(ContainSubstring("env bats-1: broke the lease of cpi/bats #1"))
		Expect(stderr).To(ContainSubstring("broke 1 expired lease(s) of 2 env(s)"))
		_, held, err := store.Holder(ctx, "bats-2")
		Expect(err).NotTo(HaveOccurred())
		Expect(held).To(BeTrue())
		latest, _, err := store.Latest(ctx, "bats-1")
		Expect(err).NotTo(HaveOccurred())
		Expect(latest.Status).To(Equal(director.StatusReleased))
	})

	it("needs a prefix or a pool", func() {
		_, stderr, code := cli("", "director", "break-expired", "--region", c.Region, "--bucket", c.Bucket)
		Expect(code).To(Equal(1))
		Expect(strings.SplitN(stderr, "\n", 2)[0]).To(Equal("error: missing --prefix or --pool"))
	})
}
