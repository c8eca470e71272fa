package artifact_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/artifact"
)

func TestArtifact(t *testing.T) {
	suite := spec.New("artifact", spec.Report(report.Terminal{}))
	suite("Fetch", testFetch)
	suite("TarballChoice", testTarballChoice)
	suite.Run(t)
}

func testFetch(t *testing.T, _ spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		store  *alicloud.Store
		dir    string
		fetch  artifact.Fetch
		log    *testtools.Log
	)
	body := []byte("a release tarball")
	sum1, sum256 := sha1.Sum(body), sha256.Sum256(body)

	it.Before(func() {
		cloud := testtools.NewCloud(t)
		cloud.PutObject(t, "cpi/tarballs/61.0.0/x.tgz", body)
		s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region,
			Bucket: cloud.Bucket, OSSEndpoint: cloud.URL}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err = s.Store()
		Expect(err).NotTo(HaveOccurred())
		dir, log = t.TempDir(), &testtools.Log{}
		fetch = artifact.Fetch{What: "cpi 61.0.0", Object: "cpi/tarballs/61.0.0/x.tgz", Source: "cpi-61.0.0.tgz",
			SHA1: hex.EncodeToString(sum1[:]), SHA256: hex.EncodeToString(sum256[:]), Tarball: "release.tgz",
			Files: map[string]string{"version": "61.0.0", "sha256": hex.EncodeToString(sum256[:])}}
	})

	it("writes the verified tarball and the describing files", func() {
		Expect(fetch.Into(context.Background(), store, log, dir)).To(Succeed())
		got, err := os.ReadFile(filepath.Join(dir, "release.tgz"))
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(body))
		version, err := os.ReadFile(filepath.Join(dir, "version"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(version)).To(Equal("61.0.0"))
	})

	it("writes only the describing files when no tarball is wanted", func() {
		fetch.Tarball = ""
		Expect(fetch.Into(context.Background(), store, log, dir)).To(Succeed())
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(2))
	})

	it("leaves nothing behind when the tarball does not match its record, naming both digests", func() {
		fetch.SHA256 = "0000"
		err := fetch.Into(context.Background(), store, log, dir)
		Expect(err).To(MatchError(ContainSubstring("the tarball of cpi 61.0.0 does not match its record: sha256 " + hex.EncodeToString(sum256[:]) + " (want 0000)")))
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())
	})

	it("names the artifact when the download fails", func() {
		fetch.Object = "cpi/tarballs/61.0.0/gone.tgz"
		Expect(fetch.Into(context.Background(), store, log, dir)).To(MatchError(HavePrefix("downloading cpi 61.0.0: ")))
	})
}

func testTarballChoice(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	no, yes := false, true
	it("names the default, the published name, or no file", func() {
		Expect(artifact.TarballChoice{}.FileName("release.tgz", "cpi-61.tgz")).To(Equal("release.tgz"))
		Expect(artifact.TarballChoice{Tarball: &yes}.FileName("release.tgz", "cpi-61.tgz")).To(Equal("release.tgz"))
		Expect(artifact.TarballChoice{PreserveFilename: true}.FileName("release.tgz", "cpi-61.tgz")).To(Equal("cpi-61.tgz"))
		Expect(artifact.TarballChoice{Tarball: &no, PreserveFilename: true}.FileName("release.tgz", "cpi-61.tgz")).To(Equal(""))
	})
}
