package release_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/release"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testDirConfig(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	var dir string
	it.Before(func() {
		dir = t.TempDir()
	})
	put := func(rel, content string) { write(t, filepath.Join(dir, rel), content) }
	open := func() (*release.Dir, error) { return release.OpenDir(dir) }

	context("config/final.yml", func() {
		it("is required", func() {
			_, err := open()
			Expect(err).To(MatchError(ContainSubstring(filepath.Join(dir, "config/final.yml") + " is missing")))
		})

		it("accepts the legacy final_name", func() {
			put("config/final.yml", "final_name: legacy\n")
			d := must(open())
			Expect(d.Name()).To(Equal("legacy"))
			Expect(d.LatestFinal()).To(BeNil())
			Expect(d.LatestDev()).To(BeNil())
			Expect(must(d.NextDevVersion()).String()).To(Equal("0+dev.1"))
			Expect(must(d.NextFinalVersion()).String()).To(Equal("1"))
			Expect(d.Blobs()).To(BeEmpty())
			Expect(d.Blobstore().Provider).To(BeEmpty())
		})

		for _, tc := range []struct{ what, yml, want string }{
			{"malformed YAML", "name: demo\nblobstore: [unclosed\n", "malformed YAML: yaml: line "},
			{"a document that is not a mapping", "- name: demo\n", "want the document to be a mapping, got a list"},
			{"no name", "blobstore: {provider: local}\n", "name is missing (the legacy final_name is not set either)"},
			{"an empty name", "name: ''\n", "name is missing"},
			{"a name that is a list", "name: [a, b]\n", "final.yml: name (line 1): want a string, got a list"},
			{"name and final_name", "name: a\nfinal_name: b\n", "set name or the legacy final_name, not both"},
			{"a name that is a path", "name: ../escape\n", `name: "../escape" is not a plain name`},
			{"blobstore that is a string", "name: a\nblobstore: local\n", "final.yml: blobstore (line 2): want blobstore to be a mapping, got a scalar (str)"},
			{"options that are a list", "name: a\nblobstore:\n  provider: local\n  options: [x]\n", "final.yml: blobstore.options (line 4): want blobstore.options to be a mapping, got a list"},
			{"a key twice", "name: a\nname: b\n", "final.yml: name (line 2): key appears twice"},
		} {
			tc := tc
			it("refuses "+tc.what+", naming the file", func() {
				put("config/final.yml", tc.yml)
				_, err := open()
				Expect(err).To(MatchError(ContainSubstring(filepath.Join(dir, "config", "final.yml"))))
				Expect(err).To(MatchError(ContainSubstring(tc.want)))
			})
		}
	})

	context("config/private.yml", func() {
		it.Before(func() {
			put("config/final.yml", `---
name: demo
blobstore:
  provider: s3
  options:
    bucket_name: demo-blobs
    region: cn-hangzhou
    credentials:
      source: static
      scope: public
`)
			put("config/private.yml", `---
blobstore:
  provider: ignored
  options:
    access_key_id: AKIDPRIVATE
    secret_access_key: s3cr3t/with+chars
    use_ssl: true
    port: 8443
    credentials:
      source: env_or_profile
      session_token: TOKENPRIVATE
`)
		})

		it("merges its options deeply over final.yml's, keeping final.yml's provider", func() {
			b := must(open()).Blobstore()
			Expect(b.Provider).To(Equal("s3"))
			Expect(b.Options).To(Equal(map[string]any{
				"bucket_name":       "demo-blobs",
				"region":            "cn-hangzhou",
				"access_key_id":     "AKIDPRIVATE",
				"secret_access_key": "s3cr3t/with+chars",
				"use_ssl":           true,
				"port":              8443,
				"credentials": map[string]any{
					"source":        "env_or_profile",
					"scope":         "public",
					"session_token": "TOKENPRIVATE",
				},
			}))
		})

		it("lists its values as secrets, not booleans nor the provider", func() {
			d := must(open())
			Expect(d.Secrets()).To(Equal([]string{"8443", "AKIDPRIVATE", "TOKENPRIVATE", "env_or_profile", "s3cr3t/with+chars"}))
		})

		it("keeps the values out of what fmt prints", func() {
			d := must(open())
			b := d.Blobstore()
			for _, text := range []string{
				fmt.Sprint(d), fmt.Sprintf("%v %+v %#v", d, d, d),
				fmt.Sprint(b), fmt.Sprintf("%v %+v %#v", b, b, b),
			} {
				for _, secret := range d.Secrets() {
					Expect(text).NotTo(ContainSubstring(secret))
				}
				Expect(text).To(ContainSubstring("s3"))
			}
			Expect(fmt.Sprint(b)).To(Equal("s3 {options: access_key_id, bucket_name, credentials, port, region, secret_access_key, use_ssl}"))
		})

		it("returns copies the caller cannot use to change the Dir", func() {
			d := must(open())
			credentials, ok := d.Blobstore().Options["credentials"].(map[string]any)
			Expect(ok).To(BeTrue())
			credentials["source"] = "changed"
			again, ok := d.Blobstore().Options["credentials"].(map[string]any)
			Expect(ok).To(BeTrue())
			Expect(again["source"]).To(Equal("env_or_profile"))
		})

		it("refuses a malformed private.yml, naming it", func() {
			put("config/private.yml", "blobstore:\n  options: nope\n")
			_, err := open()
			Expect(err).To(MatchError(ContainSubstring(filepath.Join(dir, "config/private.yml") + ": blobstore.options (line 2): want blobstore.options to be a mapping")))
			Expect(err.Error()).NotTo(ContainSubstring("AKIDPRIVATE"))
		})
	})

	context("config/blobs.yml and the indices", func() {
		it.Before(func() {
			put("config/final.yml", "name: demo\n")
		})

		it("reads blobs sorted by path, with bare and multi digests", func() {
			put("config/blobs.yml", `
zlib/zlib.tgz: {size: 3, sha: `+sha1Hex+`}
golang/go.tgz:
  size: 10
  object_id: 36764f38
  sha: sha1:`+sha1Hex+`;sha256:`+sha256Hex+`
`)
			blobs := must(open()).Blobs()
			Expect(blobs).To(HaveLen(2))
			Expect(blobs[0].Path).To(Equal("golang/go.tgz"))
			Expect(blobs[0].Size).To(Equal(int64(10)))
			Expect(blobs[0].ObjectID).To(Equal("36764f38"))
			Expect(blobs[0].SHA.Strongest().Algorithm).To(Equal(release.SHA256))
			Expect(blobs[1].Path).To(Equal("zlib/zlib.tgz"))
			Expect(blobs[1].SHA.Strongest().Algorithm).To(Equal(release.SHA1))
			Expect(blobs[1].ObjectID).To(BeEmpty())
		})

		for _, tc := range []struct{ what, file, yml, want string }{
			{"a blob with a bad sha", "config/blobs.yml", "a/b.tgz: {size: 1, sha: 'sha256:xyz'}\n",
				`blobs.yml: blob "a/b.tgz": sha (line 1): invalid digest`},
			{"a blob without sha", "config/blobs.yml", "a/b.tgz: {size: 1}\n", `blobs.yml: blob "a/b.tgz" (line 1): sha is missing`},
			{"a blob with a bad size", "config/blobs.yml", "a/b.tgz: {size: big, sha: " + sha1Hex + "}\n",
				`blobs.yml: blob "a/b.tgz": size (line 1): want a size in bytes, got a scalar (str)`},
			{"a blob outside blobs/", "config/blobs.yml", "../b.tgz: {size: 1, sha: " + sha1Hex + "}\n",
				`blobs.yml: blob "../b.tgz" (line 1): not a clean path under blobs/`},
			{"a release index with a bad version", "releases/demo/index.yml",
				"builds:\n  8e1c7a3b-uuid:\n    version: 1..2\nformat-version: \"2\"\n",
				`releases/demo/index.yml: builds.8e1c7a3b-uuid.version (line 3): invalid BOSH version "1..2"`},
			{"a dev index entry without version", "dev_releases/demo/index.yml", "builds:\n  u1: {}\n",
				`dev_releases/demo/index.yml: builds.u1 (line 2): version is missing`},
			{"a job index entry with a bad sha1", ".dev_builds/jobs/hello/index.yml",
				"builds:\n  fp1:\n    version: fp1\n    sha1: nope-nope\n",
				`.dev_builds/jobs/hello/index.yml: builds.fp1.sha1 (line 4): invalid digest`},
			{"a license index whose builds is a list", ".final_builds/license/index.yml", "builds: [a]\n",
				`.final_builds/license/index.yml: builds (line 1): want builds to be a mapping, got a list`},
		} {
			tc := tc
			it("refuses "+tc.what+", naming the file and the key", func() {
				put(tc.file, tc.yml)
				_, err := open()
				Expect(err).To(MatchError(ContainSubstring(tc.want)))
				Expect(err.Error()).To(HavePrefix(dir))
			})
		}

		it("orders versions as bosh does and predicts the next ones", func() {
			put("releases/demo/index.yml", `builds:
  a: {version: "9"}
  b: {version: "10"}
  c: {version: "10-rc.1"}
  d: {version: "1.484"}
format-version: "2"
`)
			put("dev_releases/demo/index.yml", `builds:
  a: {version: "10+dev.3"}
  b: {version: "10+dev.12"}
  c: {version: "9+dev.40"}
`)
			d := must(open())
			Expect(strs(d.FinalVersions())).To(Equal([]string{"1.484", "9", "10-rc.1", "10"}))
			Expect(strs(d.DevVersions())).To(Equal([]string{"9+dev.40", "10+dev.3", "10+dev.12"}))
			Expect(d.LatestFinal().String()).To(Equal("10"))
			Expect(d.LatestDev().String()).To(Equal("10+dev.12"))
			Expect(must(d.NextDevVersion()).String()).To(Equal("10+dev.13"))
			Expect(must(d.NextFinalVersion()).String()).To(Equal("11"))

			put("dev_releases/demo/index.yml", "builds:\n  a: {version: \"9+dev.40\"}\n")
			d = must(open())
			Expect(must(d.NextDevVersion()).String()).To(Equal("10+dev.1"), "a final above every dev version is the base")
		})
	})

	context("a path that is not a directory", func() {
		it("is refused", func() {
			_, err := release.OpenDir(filepath.Join(dir, "missing"))
			Expect(err).To(HaveOccurred())
			put("file", "x")
			_, err = release.OpenDir(filepath.Join(dir, "file"))
			Expect(err).To(MatchError(ContainSubstring("is not a directory")))
		})
	})
}
