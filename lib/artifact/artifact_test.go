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
	suite("escapes", testEscapes)
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

func testEscapes(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	it("replaces links planted in the destination instead of writing through them", func() {
		cloud := testtools.NewCloud(t)
		s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region,
			Bucket: cloud.Bucket, OSSEndpoint: cloud.URL}, alicloud.Options{})
		Expect(err).NotTo(HaveOccurred())
		store, err := s.Store()
		Expect(err).NotTo(HaveOccurred())
		dir, outside := t.TempDir(), t.TempDir()
		victim := filepath.Join(outside, "victim")
		Expect(os.WriteFile(victim, []byte("keep me"), 0o600)).To(Succeed())
		Expect(os.Symlink(victim, filepath.Join(dir, "version"))).To(Succeed())
		Expect(os.Symlink(filepath.Join(outside, "dangling"), filepath.Join(dir, "sha256"))).To(Succeed())

		fetch := artifact.Fetch{What: "cpi 61.0.0", Files: map[string]string{"version": "61.0.0", "sha256": "abc"}}
		Expect(fetch.Into(context.Background(), store, &testtools.Log{}, dir)).To(Succeed())
		kept, err := os.ReadFile(victim)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(kept)).To(Equal("keep me"))
		Expect(filepath.Join(outside, "dangling")).NotTo(BeAnExistingFile())
		info, err := os.Lstat(filepath.Join(dir, "version"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().IsRegular()).To(BeTrue())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o644)))
	})

	it("refuses names from a record that are not plain file names, writing nothing", func() {
		dir := t.TempDir()
		for _, name := range []string{"../escape.tgz", "a/b.tgz", "..", `c:\\x.tgz`} {
			fetch := artifact.Fetch{What: "cpi 61.0.0", Tarball: name, Files: map[string]string{"version": "61.0.0"}}
			Expect(fetch.Into(context.Background(), nil, &testtools.Log{}, dir)).To(MatchError(ContainSubstring("not a plain file name")), name)
		}
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())
	})
}
