// Package stemcelltest makes heavy stemcells for tests and the demo: small, valid tarballs laid
// out like the real ones, and crafted ones for the readers' refusals.
//
// Test code and cmd/cpi-ci's demo may import it; no resource binary may (a depcheck test says so).
package stemcelltest

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

// HeavyName is the file name the stemcell builder gives a heavy stemcell of a line
// ("bosh-alicloud-kvm-ubuntu-noble") and version: bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz.
func HeavyName(line, version string) string {
	return fmt.Sprintf("bosh-stemcell-%s-%s-go_agent.tgz", version, strings.TrimPrefix(line, "bosh-"))
}

// WriteHeavy writes a small but valid heavy Alibaba Cloud stemcell, for the demo and
// tests: stemcell.MF (with the image's SHA-1), packages.txt, and an image holding rootImg.
func WriteHeavy(w io.Writer, line, version string, rootImg []byte) error {
	var image strings.Builder
	if err := writeTgz(&image, []string{stemcell.RootImage}, map[string][]byte{stemcell.RootImage: rootImg}); err != nil {
		return err
	}
	sum := sha1.Sum([]byte(image.String()))
	manifest := Manifest(line, version, hex.EncodeToString(sum[:]))
	return writeTgz(w, []string{stemcell.ManifestMember, "packages.txt", stemcell.ImageMember}, map[string][]byte{
		stemcell.ManifestMember: manifest, "packages.txt": []byte("ii  bash 5.2\n"), stemcell.ImageMember: []byte(image.String()),
	})
}

func writeTgz(w io.Writer, order []string, members map[string][]byte) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(members[name]))}); err != nil {
			return err
		}
		if _, err := tw.Write(members[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// WriteHeavyFile writes the example heavy stemcell into dir under HeavyName and
// returns its path.
func WriteHeavyFile(dir, line, version string, rootImg []byte) (string, error) {
	path := filepath.Join(dir, HeavyName(line, version))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	err = WriteHeavy(f, line, version, rootImg)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return path, err
}
