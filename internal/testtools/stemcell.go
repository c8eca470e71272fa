package testtools

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HeavyStemcell writes a small heavy Alibaba Cloud stemcell tarball of the given line
// ("bosh-alicloud-kvm-ubuntu-noble") and version into dir, named as the stemcell builder names
// it (bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz), and returns its path: stemcell.MF
// (with the image's SHA-1), an image tgz holding root.img, and packages.txt.
func HeavyStemcell(t testing.TB, dir, line, version string) string {
	t.Helper()
	rootImg := bytes.Repeat([]byte("root disk "+version+" "), 4096)
	image := tgz(t, map[string][]byte{"root.img": rootImg}, []string{"root.img"})
	sum := sha1.Sum(image)
	manifest := fmt.Sprintf(`---
name: %[1]s
version: '%[2]s'
bosh_protocol: 1
api_version: 3
sha1: %[3]s
operating_system: ubuntu-noble
stemcell_formats:
- alicloud-raw
cloud_properties:
  name: %[1]s
  version: '%[2]s'
  infrastructure: alicloud
  hypervisor: kvm
  disk: 5120
  disk_format: raw
  container_format: bare
  os_type: linux
  os_distro: ubuntu
  architecture: x86_64
  root_device_name: "/dev/vda1"
`, line, version, hex.EncodeToString(sum[:]))
	members := map[string][]byte{"stemcell.MF": []byte(manifest), "image": image, "packages.txt": []byte("ii  bash 5.2\n")}
	path := filepath.Join(dir, fmt.Sprintf("bosh-stemcell-%s-%s-go_agent.tgz", version, strings.TrimPrefix(line, "bosh-")))
	if err := os.WriteFile(path, tgz(t, members, []string{"stemcell.MF", "packages.txt", "image"}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func tgz(t testing.TB, members map[string][]byte, order []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		data := members[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
