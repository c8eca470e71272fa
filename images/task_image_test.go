package images_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// providerZip is the name terraform's packed filesystem mirror layout wants.
const providerZip = "terraform-provider-alicloud_1.240.0_linux_amd64.zip"

func testTaskImage(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	var (
		s               image.Spec
		rootfs          image.Rootfs
		goDir, tf, prov string
		cache           string
		log             *bytes.Buffer
	)
	it.Before(func() {
		var err error
		s, err = image.ReadSpec("task/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		rootfs = fakeRootfs(t)
		cache = t.TempDir()
		log = &bytes.Buffer{}

		// A Go tree shaped like /usr/local/go, a terraform that answers `version` as the real one
		// does, and a provider zip under the mirror's file name.
		goDir = filepath.Join(t.TempDir(), "go")
		Expect(os.MkdirAll(filepath.Join(goDir, "bin"), 0o755)).To(Succeed())
		Expect(os.MkdirAll(filepath.Join(goDir, "src", "fmt"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.26.8\ntime 2026-11-04T00:00:00Z\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "bin", "go"), []byte("#!/bin/sh\necho fake go\n"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "src", "fmt", "print.go"), []byte("package fmt\n"), 0o644)).To(Succeed())
		Expect(os.Symlink("bin/go", filepath.Join(goDir, "go-link"))).To(Succeed())
		tf = filepath.Join(t.TempDir(), "terraform")
		Expect(os.WriteFile(tf, []byte("#!/bin/sh\necho Terraform v1.11.4\necho on linux_amd64\n"), 0o755)).To(Succeed())
		prov = filepath.Join(t.TempDir(), providerZip)
		Expect(os.WriteFile(prov, []byte("PK fake zip"), 0o600)).To(Succeed())
	})

	build := func(paths map[string]string) (image.Result, error) {
		in, err := image.EnsureInputs(context.Background(), s, paths, cache, stored, log)
		if err != nil {
			return image.Result{}, err
		}
		return image.Build(s, rootfs, in, "..", t.TempDir(), stored)
	}

	it("holds the inputs byte for byte under their paths, records their versions and cpi-ci and bosh from bin/", func() {
		res, err := build(map[string]string{"go": goDir, "terraform": tf, "alicloud-provider": prov})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.InputsCached).To(BeFalse())

		img, cleanup, err := image.ReadArchive(res.Tarball)
		Expect(err).NotTo(HaveOccurred())
		defer cleanup()
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(layers).To(HaveLen(3), "rootfs, inputs, the pack's files")
		rc := mutate.Extract(img)
		files, links := readTar(t, rc)
		Expect(rc.Close()).To(Succeed())

		Expect(files).To(HaveKeyWithValue("usr/local/go/VERSION", sha256File(t, filepath.Join(goDir, "VERSION"))))
		Expect(files).To(HaveKeyWithValue("usr/local/go/bin/go", sha256File(t, filepath.Join(goDir, "bin", "go"))))
		Expect(files).To(HaveKeyWithValue("usr/local/go/src/fmt/print.go", sha256File(t, filepath.Join(goDir, "src", "fmt", "print.go"))))
		Expect(links).To(HaveKeyWithValue("usr/local/go/go-link", "bin/go"))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/terraform", sha256File(t, tf)))
		Expect(files).To(HaveKeyWithValue("usr/local/share/terraform/plugins/registry.terraform.io/aliyun/alicloud/"+providerZip, sha256File(t, prov)))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/cpi-ci", sha256File(t, "../bin/cpi-ci")))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/bosh", sha256File(t, "../bin/bosh")))
		Expect(files).To(HaveKey("etc/os-release"))
		Expect(files).To(HaveKey(strings.TrimPrefix(image.InputsRecord, "/")))

		Expect(res.Inputs).To(HaveLen(3))
		Expect(res.Inputs[0].String()).To(Equal("go 1.26.8 from " + goDir + " sha256:" + res.Inputs[0].SHA256))
		Expect(res.Inputs[1].String()).To(Equal("terraform 1.11.4 from " + tf + " sha256:" + sha256File(t, tf)))
		Expect(res.Inputs[2].Version).To(Equal("1.240.0"))

		cf, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		Expect(cf.Config.Env).To(ContainElements(HavePrefix("PATH=/usr/local/go/bin:"), "GOTOOLCHAIN=local"))
	})

	it("reuses the inputs layer while the inputs are the same, and makes it again when one changes", func() {
		paths := map[string]string{"go": goDir, "terraform": tf}
		a, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		b, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.InputsCached).To(BeFalse())
		Expect(b.InputsCached).To(BeTrue())
		Expect(b.Digest).To(Equal(a.Digest))

		Expect(os.WriteFile(filepath.Join(goDir, "src", "fmt", "print.go"), []byte("package fmx\n"), 0o644)).To(Succeed())
		c, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.InputsCached).To(BeFalse())
		Expect(c.Digest).NotTo(Equal(a.Digest))
		Expect(c.Inputs[0].SHA256).NotTo(Equal(a.Inputs[0].SHA256))
	})

	it("leaves out the optional provider when it is not given, and says so", func() {
		res, err := build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).NotTo(HaveOccurred())
		Expect(log.String()).To(ContainSubstring("input alicloud-provider: not given (--input alicloud-provider=PATH): left out of image task"))
		Expect(res.Inputs[2].String()).To(Equal("alicloud-provider absent (optional, left out)"))
		img, cleanup, err := image.ReadArchive(res.Tarball)
		Expect(err).NotTo(HaveOccurred())
		defer cleanup()
		rc := mutate.Extract(img)
		files, _ := readTar(t, rc)
		Expect(rc.Close()).To(Succeed())
		for p := range files {
			Expect(p).NotTo(HavePrefix("usr/local/share/terraform"))
		}
	})

	it("refuses a Go older than the CPI needs, a missing required input, a badly named provider and an unknown input, naming each", func() {
		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.26.0\n"), 0o644)).To(Succeed())
		_, err := build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).To(MatchError(ContainSubstring("input go: " + goDir + " is version 1.26.0, image task needs 1.26.1 or newer")))

		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.27.0\n"), 0o644)).To(Succeed())
		_, err = build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).NotTo(HaveOccurred(), "1.27.0 is newer than 1.26.1")

		_, err = build(map[string]string{"go": goDir, "terraform": filepath.Join(t.TempDir(), "terraform")})
		Expect(err).To(MatchError(ContainSubstring("input terraform: ")))
		Expect(err).To(MatchError(ContainSubstring("not found on this machine (give it with --input terraform=PATH)")))

		bad := filepath.Join(t.TempDir(), "alicloud.zip")
		Expect(os.WriteFile(bad, []byte("PK"), 0o644)).To(Succeed())
		_, err = build(map[string]string{"go": goDir, "terraform": tf, "alicloud-provider": bad})
		Expect(err).To(MatchError(ContainSubstring("input alicloud-provider: no version in the name alicloud.zip")))

		_, err = build(map[string]string{"go": goDir, "terraform": tf, "gcc": "/usr/bin/gcc"})
		Expect(err).To(MatchError("--input gcc: image task has no such input"))
	})

	it("renders a Dockerfile that fetches each input by version and SHA-256 build arguments", func() {
		d := s.Dockerfile()
		for _, arg := range []string{"GO", "TERRAFORM", "ALICLOUD_PROVIDER"} {
			Expect(d).To(ContainSubstring("ARG " + arg + "_VERSION\nARG " + arg + "_SHA256\n"))
			Expect(d).To(ContainSubstring(`echo "$` + arg + `_SHA256  /tmp/download" | sha256sum -c -`))
		}
		Expect(d).To(ContainSubstring(`url="https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz"`))
		Expect(d).To(ContainSubstring("tar -xzf /tmp/download -C /fetch/usr/local/go --strip-components=1"))
		Expect(d).To(ContainSubstring(`dpkg --compare-versions "$GO_VERSION" ge 1.26.1`))
		Expect(d).To(ContainSubstring("unzip -p /tmp/download terraform > /fetch/usr/local/bin/terraform"))
		Expect(d).To(ContainSubstring(`build arguments TERRAFORM_VERSION and TERRAFORM_SHA256 are required`))
		Expect(d).To(ContainSubstring(`if [ -n "${ALICLOUD_PROVIDER_VERSION:-}" ] && [ -n "${ALICLOUD_PROVIDER_SHA256:-}" ]; then`))
		Expect(d).To(ContainSubstring("alicloud-provider absent (optional, left out)"))
		Expect(d).To(ContainSubstring("COPY --from=fetch /fetch/ /\n"))
		Expect(d).To(ContainSubstring("apt-get install -y --no-install-recommends bash bundler ca-certificates gcc git jq libc6-dev make ruby"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/cpi-ci /usr/local/bin/cpi-ci\n"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/bosh /usr/local/bin/bosh\n"))
	})

	it("refuses inputs described wrong, naming each", func() {
		bad := s
		bad.Inputs = []image.Input{{Name: "Go", From: "usr/local/go", To: "usr/local/go", MinVersion: "one", Version: image.Probe{File: "VERSION", Run: []string{"version"}, Match: "go"}, Fetch: image.Fetch{URL: "http://x/go.tgz", Unpack: "rar"}}}
		err := bad.Validate()
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"inputs[0].name", "inputs[0].from", "inputs[0].to", "inputs[0].min_version", "file and run both given", "inputs[0].version.match", "inputs[0].fetch.url", "inputs[0].fetch.unpack"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})
}
