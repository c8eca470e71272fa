package sim_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testServer(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("New", func() {
		it("needs a credential and a known default region", func() {
			_, err := sim.New(sim.Config{})
			Expect(err).To(MatchError(ContainSubstring("at least one credential")))
			_, err = sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: "a", AccessKeySecret: "b"}}, DefaultRegion: "mars-1"})
			Expect(err).To(MatchError(ContainSubstring(`default region "mars-1"`)))
			_, err = sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: "STS.x", AccessKeySecret: "b"}}})
			Expect(err).To(MatchError(ContainSubstring("reserved for STS")))
		})

		it("knows the public regions by default", func() {
			regions := sim.DefaultRegions()
			Expect(regions).To(HaveLen(29))
			set := map[string]bool{}
			for _, r := range regions {
				set[r] = true
			}
			Expect(set).To(HaveLen(29))
			for _, r := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-hongkong", "ap-southeast-1", "ap-northeast-2", "us-west-1", "eu-central-1", "me-central-1", "na-south-1"} {
				Expect(set).To(HaveKey(r))
			}
			srv, err := sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: "a", AccessKeySecret: "b"}}})
			Expect(err).NotTo(HaveOccurred())
			defer func() { Expect(srv.Close()).To(Succeed()) }()
			Expect(srv.DefaultRegion()).To(Equal("cn-hangzhou"))
			Expect(srv.Regions()).To(Equal(regions))
		})
	})

	context("object bodies", func() {
		it("live in files under DataDir, removed by Close", func() {
			dir := t.TempDir()
			e := newEnv(t, func(c *sim.Config) { c.DataDir = dir })
			c := e.ossClient()
			e.mustBucket(c, "on-disk")
			e.mustPut(c, "on-disk", "k", string(randomBody(123_457)))
			var sizes []int64
			Expect(filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					sizes = append(sizes, info.Size())
				}
				return err
			})).To(Succeed())
			Expect(sizes).To(Equal([]int64{123_457}))

			Expect(e.srv.Close()).To(Succeed())
			entries, err := os.ReadDir(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(entries).To(BeEmpty())
		})

		it("are in a temporary directory when DataDir is empty", func() {
			srv, err := sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: "a", AccessKeySecret: "b"}}})
			Expect(err).NotTo(HaveOccurred())
			Expect(srv.CreateBucket(sim.Bucket{Name: "seeded", Region: "eu-west-1"})).To(Succeed())
			region, ok := srv.BucketRegion("seeded")
			Expect(ok).To(BeTrue())
			Expect(region).To(Equal("eu-west-1"))
			Expect(srv.CreateBucket(sim.Bucket{Name: "seeded"})).To(MatchError(ContainSubstring("already exists")))
			Expect(srv.CreateBucket(sim.Bucket{Name: "x", Region: "mars-1"})).To(HaveOccurred())
			Expect(srv.Close()).To(Succeed())
			Expect(srv.Close()).To(Succeed())
		})
	})
}
