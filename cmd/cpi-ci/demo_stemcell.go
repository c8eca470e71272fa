package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
)

// writeDemoHeavyStemcell writes a small heavy stemcell for the demo: an Alibaba Cloud
// stemcell.MF and an image holding a 1 MiB root.img.
func writeDemoHeavyStemcell(path string) error {
	image, err := tgzOf([]string{"root.img"}, map[string][]byte{"root.img": bytes.Repeat([]byte{0}, 1<<20)})
	if err != nil {
		return err
	}
	sum := sha1.Sum(image)
	manifest := fmt.Sprintf(`---
name: bosh-alicloud-kvm-ubuntu-noble
version: '1.484'
bosh_protocol: 1
api_version: 3
sha1: %s
operating_system: ubuntu-noble
stemcell_formats:
- alicloud-raw
cloud_properties:
  name: bosh-alicloud-kvm-ubuntu-noble
  version: '1.484'
  infrastructure: alicloud
  hypervisor: kvm
  disk: 5120
  disk_format: raw
  container_format: bare
  os_type: linux
  os_distro: ubuntu
  architecture: x86_64
  root_device_name: "/dev/vda1"
`, hex.EncodeToString(sum[:]))
	tarball, err := tgzOf([]string{"stemcell.MF", "packages.txt", "image"},
		map[string][]byte{"stemcell.MF": []byte(manifest), "packages.txt": []byte("ii  bash 5.2\n"), "image": image})
	if err != nil {
		return err
	}
	return os.WriteFile(path, tarball, 0o644)
}

func tgzOf(order []string, members map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(members[name]))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(members[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
