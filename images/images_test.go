// Package images_test holds the tests of the image descriptions in this folder: each checked-in
// Dockerfile is what its image.yaml renders, and the hermetic build packs exactly `make build`'s
// binaries (bin/, which `make test` builds first) and the inputs it takes from the build machine.
package images_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// e2eSuites are added by the files behind the e2e build tag (make e2e, after make images).
var e2eSuites []struct {
	name string
	fn   func(*testing.T, spec.G, spec.S)
}

func TestImages(t *testing.T) {
	suite := spec.New("images", spec.Report(report.Terminal{}))
	suite("Dockerfiles", testDockerfiles)
	suite("hermetic build", testHermeticBuild)
	suite("task image", testTaskImage)
	suite("task demo image", testTaskDemoImage)
	for _, e := range e2eSuites {
		suite(e.name, e.fn)
	}
	suite.Run(t)
}

func specFiles(t *testing.T) []string {
	files, err := filepath.Glob("*/image.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("expected the image descriptions of bosh-release-resource, light-stemcell-resource, director-env-resource, debian and task, found %v (%v)", files, err)
	}
	return files
}

func testDockerfiles(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("are what their image.yaml renders (run make dockerfiles after editing one)", func() {
		for _, f := range specFiles(t) {
			s, err := image.ReadSpec(f)
			Expect(err).NotTo(HaveOccurred())
			got, err := os.ReadFile(filepath.Join(filepath.Dir(f), "Dockerfile"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(got)).To(Equal(s.Dockerfile()), "%s is stale", filepath.Join(filepath.Dir(f), "Dockerfile"))
		}
	})

	it("copy every file from the build stage that runs the Makefile, and link check, in and out", func() {
		s, err := image.ReadSpec("bosh-release-resource/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		d := s.Dockerfile()
		Expect(d).To(ContainSubstring("RUN make build tools\n"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/bosh-release-resource /opt/resource/bosh-release-resource\n"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/bosh /usr/local/bin/bosh\n"))
		Expect(d).To(ContainSubstring("apt-get install -y --no-install-recommends ca-certificates git gzip tar"))
		for _, l := range []string{"check", "in", "out"} {
			Expect(d).To(ContainSubstring("ln -sf bosh-release-resource /opt/resource/" + l))
		}
	})

	it("refuse a description with unknown keys or bad values, naming each", func() {
		dir := t.TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "image.yaml"), []byte("name: x\npackges: [git]\n"), 0o644)).To(Succeed())
		_, err := image.ReadSpec(filepath.Join(dir, "image.yaml"))
		Expect(err).To(MatchError(ContainSubstring("field packges not found")))

		bad := image.Spec{Name: "x", Files: []image.File{{From: "../etc/passwd", To: "opt/x", Mode: "999"}}}
		err = bad.Validate()
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"base.docker", "base.suite", "base.mirror", "files[0].from", "files[0].to", "files[0].mode"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})
}

func testHermeticBuild(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// A stand-in for the debootstrap rootfs (which takes minutes and Debian's archive): the
	// identity of the pack's files does not depend on the layer under them.
	var rootfs image.Rootfs
	it.Before(func() { rootfs = fakeRootfs(t) })

	it("packs make build's binaries byte for byte, in the OCI tarball and in the base type", func() {
		for _, name := range []string{"bosh-release-resource", "light-stemcell-resource", "director-env-resource"} {
			s, err := image.ReadSpec(name + "/image.yaml")
			Expect(err).NotTo(HaveOccurred())
			out := t.TempDir()
			res, err := image.Build(s, rootfs, image.Inputs{}, "..", out, stored)
			Expect(err).NotTo(HaveOccurred(), "bin/ is made by make build tools, which make test runs first")

			want := map[string]string{}
			for _, f := range s.Files {
				want[strings.TrimPrefix(f.To, "/")] = sha256File(t, filepath.Join("..", f.From))
			}
			Expect(want).To(HaveKey("opt/resource/" + name))

			// The tarball, read back independently of the builder.
			img, cleanup, err := image.ReadArchive(res.Tarball)
			Expect(err).NotTo(HaveOccurred())
			defer cleanup()
			d, err := img.Digest()
			Expect(err).NotTo(HaveOccurred())
			Expect(d.String()).To(Equal(res.Digest))
			cf, err := img.ConfigFile()
			Expect(err).NotTo(HaveOccurred())
			Expect(cf.OS + "/" + cf.Architecture).To(Equal("linux/amd64"))
			m, err := img.Manifest()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(m.MediaType)).To(Equal("application/vnd.oci.image.manifest.v1+json"))
			rc := mutate.Extract(img)
			files, links := readTar(t, rc)
			Expect(rc.Close()).To(Succeed())
			for p, sum := range want {
				Expect(files).To(HaveKeyWithValue(p, sum), "%s in %s", p, res.Tarball)
			}
			Expect(files).To(HaveKey("etc/os-release"))
			for _, l := range []string{"check", "in", "out"} {
				Expect(links).To(HaveKeyWithValue("opt/resource/"+l, name))
			}

			// The base type: rootfs.tgz holds the same bytes, version is the rootfs digest.
			Expect(res.TypeDir).To(Equal(filepath.Join(out, "resource-types", s.ResourceType)))
			f, err := os.Open(filepath.Join(res.TypeDir, "rootfs.tgz"))
			Expect(err).NotTo(HaveOccurred())
			gz, err := gzip.NewReader(f)
			Expect(err).NotTo(HaveOccurred())
			files, links = readTar(t, gz)
			Expect(f.Close()).To(Succeed())
			for p, sum := range want {
				Expect(files).To(HaveKeyWithValue(p, sum), "%s in rootfs.tgz", p)
			}
			Expect(links).To(HaveKeyWithValue("opt/resource/check", name))
			var meta image.ResourceMetadata
			raw, err := os.ReadFile(filepath.Join(res.TypeDir, "resource_metadata.json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(json.Unmarshal(raw, &meta)).To(Succeed())
			Expect(meta.Type).To(Equal(s.ResourceType))
			Expect(meta.Version).To(Equal("sha256:" + sha256File(t, filepath.Join(res.TypeDir, "rootfs.tgz"))))
		}
	})

	it("ships the director-env image with the real bosh CLI and no test double (that is director-env-resource-e2e/e2e.yaml, which make images never builds)", func() {
		s, err := image.ReadSpec("director-env-resource/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		res, err := image.Build(s, rootfs, image.Inputs{}, "..", t.TempDir(), stored)
		Expect(err).NotTo(HaveOccurred())
		img, cleanup, err := image.ReadArchive(res.Tarball)
		Expect(err).NotTo(HaveOccurred())
		defer cleanup()
		rc := mutate.Extract(img)
		files, _ := readTar(t, rc)
		Expect(rc.Close()).To(Succeed())
		Expect(files).To(HaveKeyWithValue("usr/local/bin/bosh", sha256File(t, "../bin/bosh")))
		Expect(files).NotTo(HaveKey("usr/local/bin/bosh-real"))
		for p := range files {
			Expect(p).NotTo(ContainSubstring("boshdouble"))
		}
		Expect(s.Packages).To(ContainElements("bash", "tar", "gzip", "make", "gcc", "ca-certificates"))

		e2e, err := image.ReadSpec("director-env-resource-e2e/e2e.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(e2e.ResourceType).To(BeEmpty(), "the test variant is never a base type")
		Expect(e2e.Name).To(Equal("director-env-resource-e2e"))
		matches, _ := filepath.Glob("*/image.yaml")
		Expect(matches).NotTo(ContainElement(ContainSubstring("e2e")), "make images and make dockerfiles take */image.yaml only")
	})

	it("is reproducible: the same inputs give the same image digest", func() {
		s, err := image.ReadSpec("light-stemcell-resource/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		a, err := image.Build(s, rootfs, image.Inputs{}, "..", t.TempDir(), stored)
		Expect(err).NotTo(HaveOccurred())
		b, err := image.Build(s, rootfs, image.Inputs{}, "..", t.TempDir(), stored)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Digest).To(HavePrefix("sha256:"))
		Expect(b.Digest).To(Equal(a.Digest))
	})

	it("fails naming the file when a binary is missing", func() {
		s, err := image.ReadSpec("light-stemcell-resource/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		_, err = image.Build(s, rootfs, image.Inputs{}, t.TempDir(), t.TempDir(), stored)
		Expect(err).To(MatchError(ContainSubstring("/opt/resource/light-stemcell-resource (from bin/light-stemcell-resource: run make build tools first)")))
	})
}

// fakeRootfs stands in for the debootstrap rootfs (which takes minutes and Debian's archive): the
// identity of the pack's files does not depend on the layer under them.
func fakeRootfs(t *testing.T) image.Rootfs {
	t.Helper()
	var Expect = NewWithT(t).Expect
	dir := t.TempDir()
	rootfs := image.Rootfs{Layer: filepath.Join(dir, "layer.tar.gz"), Packages: filepath.Join(dir, "packages.txt")}
	Expect(os.WriteFile(rootfs.Packages, []byte("base-files 12.4+deb12u11\nca-certificates 20230311\n"), 0o644)).To(Succeed())
	f, err := os.Create(rootfs.Layer)
	Expect(err).NotTo(HaveOccurred())
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	Expect(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755})).To(Succeed())
	body := "ID=debian\n"
	Expect(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/os-release", Mode: 0o644, Size: int64(len(body))})).To(Succeed())
	_, err = tw.Write([]byte(body))
	Expect(err).NotTo(HaveOccurred())
	Expect(tw.Close()).To(Succeed())
	Expect(gz.Close()).To(Succeed())
	Expect(f.Close()).To(Succeed())
	return rootfs
}

// stored keeps the build's bytes but skips compressing them: make test runs with -race, under
// which compressing the bosh CLI takes minutes. make e2e checks make images' compressed output.
var stored = image.Options{Stored: true}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("%v (bin/ is made by make build tools)", err)
	}
	defer func() { _ = f.Close() }() // only read: the copy's error says whether it was read whole
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readTar returns the sha256 of every regular file and the target of every symlink in a tar.
func readTar(t *testing.T, r io.Reader) (map[string]string, map[string]string) {
	t.Helper()
	files, links := map[string]string{}, map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, links
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(hdr.Name, "./"), "/")
		switch hdr.Typeflag {
		case tar.TypeReg:
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				t.Fatal(err)
			}
			files[name] = hex.EncodeToString(h.Sum(nil))
		case tar.TypeSymlink:
			links[name] = hdr.Linkname
		}
	}
}
