package release_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/version"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func strs(vs []version.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func testDir(t *testing.T, context spec.G, it spec.S, fx *fixtures) {
	var Expect = NewWithT(t).Expect

	context("the directory bosh made the fixtures in", func() {
		var d *release.Dir
		it.Before(func() {
			d = openDir(t, fx.dir)
		})

		it("predicted every version bosh chose while making them", func() {
			Expect(fx.predictions).To(HaveLen(3))
			for _, p := range fx.predictions {
				Expect(p.made).To(Equal(p.predicted), p.step)
			}
			Expect(fx.predictions[0].made).To(Equal("0+dev.1"))
			Expect(fx.predictions[1].made).To(Equal("1"))
			Expect(fx.predictions[2].made).To(Equal("61.0.1-rc.3+dev.1"))
		})

		it("reads the name, the indices and the latest versions", func() {
			Expect(d.Name()).To(Equal("demo"))
			Expect(d.Path()).To(Equal(fx.dir))
			Expect(strs(d.FinalVersions())).To(Equal([]string{"1"}))
			Expect(strs(d.DevVersions())).To(Equal([]string{"0+dev.1", "61.0.1-rc.3", "61.0.1-rc.3+dev.1"}))
			Expect(d.LatestFinal().String()).To(Equal("1"))
			Expect(d.LatestDev().String()).To(Equal("61.0.1-rc.3+dev.1"))
		})

		it("reads the blob bosh add-blob and upload-blobs recorded", func() {
			data := must(os.ReadFile(fx.blobFile))
			blobs := d.Blobs()
			Expect(blobs).To(HaveLen(1))
			Expect(blobs[0].Path).To(Equal("lib/data.bin"))
			Expect(blobs[0].Size).To(Equal(int64(len(data))))
			Expect(blobs[0].SHA.String()).To(Equal(fmt.Sprintf("sha256:%x", sha256.Sum256(data))))
			Expect(blobs[0].ObjectID).NotTo(BeEmpty())
			Expect(filepath.Join(fx.blobstore, blobs[0].ObjectID)).To(BeARegularFile())
		})

		it("reads the local final blobstore from final.yml", func() {
			b := d.Blobstore()
			Expect(b.Provider).To(Equal("local"))
			Expect(b.Options).To(Equal(map[string]any{"blobstore_path": fx.blobstore}))
			Expect(d.Secrets()).To(BeEmpty())
		})

		it("reads the dev and final build indices", func() {
			tb := must(release.InspectFile(t.Context(), fx.final))
			kinds := func(builds []release.IndexEntry) map[string]release.IndexEntry {
				out := map[string]release.IndexEntry{}
				for _, b := range builds {
					out[b.Kind+"/"+b.Name] = b
				}
				return out
			}
			dev, final := kinds(d.DevIndex()), kinds(d.FinalIndex())
			Expect(dev).To(HaveLen(4))
			Expect(final).To(HaveLen(4))
			for key, item := range map[string]release.Item{
				"job/hello":       tb.Manifest.Jobs[0],
				"package/greeter": tb.Manifest.Packages[0],
				"package/lib":     tb.Manifest.Packages[1],
				"license/license": *tb.Manifest.License,
			} {
				Expect(dev[key].Fingerprint).To(Equal(item.Fingerprint), key)
				Expect(dev[key].SHA1.String()).To(Equal(item.SHA1), key)
				Expect(dev[key].BlobstoreID).To(BeEmpty(), key)
				Expect(final[key].Fingerprint).To(Equal(item.Fingerprint), key)
				Expect(filepath.Join(fx.blobstore, final[key].BlobstoreID)).To(BeARegularFile(), key)
			}
		})

		it("reads release manifests from the directory", func() {
			tb := must(release.InspectFile(t.Context(), fx.final))
			m := must(d.FinalManifest(version.MustParse("1")))
			Expect(m.Jobs).To(Equal(tb.Manifest.Jobs))
			Expect(m.Packages).To(Equal(tb.Manifest.Packages))
			Expect(m.Version).To(Equal("1"))

			m = must(d.DevManifest(version.MustParse("61.0.1-rc.3")))
			Expect(m.Version).To(Equal("61.0.1-rc.3"))

			_, err := d.FinalManifest(version.MustParse("2"))
			Expect(err).To(MatchError(ContainSubstring(filepath.Join(fx.dir, "releases/demo/index.yml") + " has no version 2")))
		})
	})

	context("when bosh makes more releases", func() {
		it("chooses the versions the model predicts, dev then final", func() {
			dir := fx.copyDir(t)
			bosh := func(args ...string) { testtools.RunBoshWithHome(t, fx.home, dir, args...) }
			write(t, filepath.Join(dir, "src/greeter/greet.sh"), "echo hello again\n")

			d := openDir(t, dir)
			nextDev := must(d.NextDevVersion())
			Expect(nextDev.String()).To(Equal("61.0.1-rc.3+dev.2"))
			out := filepath.Join(t.TempDir(), "next.tgz")
			bosh("create-release", "--force", "--tarball", out)
			tb := must(release.InspectFile(t.Context(), out))
			Expect(tb.Manifest.Version).To(Equal(nextDev.String()))
			Expect(tb.Manifest.UncommittedChanges).To(BeTrue())

			d = openDir(t, dir)
			Expect(d.LatestDev().String()).To(Equal(nextDev.String()))
			nextDev, nextFinal := must(d.NextDevVersion()), must(d.NextFinalVersion())
			Expect(nextFinal.String()).To(Equal("2"))
			bosh("create-release", "--final", "--force", "--tarball", out)
			tb = must(release.InspectFile(t.Context(), out))
			Expect(tb.Manifest.Version).To(Equal(nextFinal.String()))

			d = openDir(t, dir)
			Expect(d.LatestFinal().String()).To(Equal(nextFinal.String()))
			Expect(d.LatestDev().String()).To(Equal(nextDev.String()), "the dev build --final makes on its way")
			Expect(strs(d.FinalVersions())).To(Equal([]string{"1", "2"}))
		})

		it("builds on the latest final in a fresh clone, which has no dev releases", func() {
			dir := fx.copyDir(t)
			for _, gitignored := range []string{"dev_releases", ".dev_builds"} {
				Expect(os.RemoveAll(filepath.Join(dir, gitignored))).To(Succeed())
			}
			d := openDir(t, dir)
			Expect(d.LatestDev()).To(BeNil())
			nextDev := must(d.NextDevVersion())
			Expect(nextDev.String()).To(Equal("1+dev.1"))

			out := filepath.Join(t.TempDir(), "next.tgz")
			testtools.RunBoshWithHome(t, fx.home, dir, "create-release", "--force", "--tarball", out)
			Expect(must(release.InspectFile(t.Context(), out)).Manifest.Version).To(Equal(nextDev.String()))
		})
	})
}
