//go:build e2e

package images_test

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func init() {
	e2eSuites = append(e2eSuites, struct {
		name string
		fn   func(*testing.T, spec.G, spec.S)
	}{"make images' output", testMadeImages})
}

// testMadeImages reads what make images wrote (compressed, on the debootstrap rootfs) and compares
// every file taken from the repository with bin/ as make build left it, and every file input with
// the build machine's.
func testMadeImages(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("holds make build's binaries byte for byte, a Debian rootfs and the recorded packages", func() {
		for _, f := range specFiles(t) {
			s, err := image.ReadSpec(f)
			Expect(err).NotTo(HaveOccurred())
			archive := filepath.Join("..", "out", "images", s.Name+".tar")
			img, cleanup, err := image.ReadArchive(archive)
			Expect(err).NotTo(HaveOccurred(), "make e2e runs make images first")
			rc := mutate.Extract(img)
			files, links := readTar(t, rc)
			Expect(rc.Close()).To(Succeed())
			cleanup()
			for _, file := range s.Files {
				Expect(files).To(HaveKeyWithValue(strings.TrimPrefix(file.To, "/"), sha256File(t, filepath.Join("..", file.From))), "%s in %s", file.To, archive)
			}
			for _, l := range s.Links {
				Expect(links).To(HaveKeyWithValue(strings.TrimPrefix(l.Path, "/"), l.Target))
			}
			Expect(links).To(HaveKeyWithValue("etc/os-release", "../usr/lib/os-release"))
			Expect(files).To(HaveKey("usr/lib/os-release"))
			Expect(files).To(HaveKey(strings.TrimPrefix(image.PackagesRecord, "/")))
			Expect(files).To(HaveKey("etc/ssl/certs/ca-certificates.crt"))
			if len(s.Inputs) > 0 {
				Expect(files).To(HaveKey(strings.TrimPrefix(image.InputsRecord, "/")), "%s records its inputs", archive)
			}
			for _, in := range s.Inputs {
				// A file input from its default path is the build machine's, byte for byte.
				if info, err := os.Stat(in.From); err == nil && !info.IsDir() && !strings.HasSuffix(in.To, "/") {
					Expect(files).To(HaveKeyWithValue(strings.TrimPrefix(in.To, "/"), sha256File(t, in.From)), "%s in %s", in.To, archive)
				}
			}
			if s.ResourceType == "" {
				continue
			}
			rootfs := filepath.Join("..", "out", "images", "resource-types", s.ResourceType, "rootfs.tgz")
			fh, err := os.Open(rootfs)
			Expect(err).NotTo(HaveOccurred())
			gz, err := gzip.NewReader(fh)
			Expect(err).NotTo(HaveOccurred())
			files, _ = readTar(t, gz)
			Expect(fh.Close()).To(Succeed())
			for _, file := range s.Files {
				Expect(files).To(HaveKeyWithValue(strings.TrimPrefix(file.To, "/"), sha256File(t, filepath.Join("..", file.From))), "%s in %s", file.To, rootfs)
			}
		}
	})
}
