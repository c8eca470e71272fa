package stemcelltest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"
)

// manifestText is stemcell.MF as the Alibaba Cloud stemcell builder writes it (Ruby's to_yaml: a
// document marker, indentless lists), for a line (%[1]s), a version (%[2]s) and the image's
// SHA-1 (%[3]s).
const manifestText = `---
name: %[1]s
version: '%[2]s'
bosh_protocol: 1
api_version: 3
sha1: %[3]s
operating_system: ubuntu-noble
stemcell_formats:
- alicloud-raw
agent_features:
  disable_run_agent: false
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
  nvme_support: supported
`

// Manifest is stemcell.MF for a heavy stemcell of line and version whose image has the SHA-1
// imageSHA1.
func Manifest(line, version, imageSHA1 string) []byte {
	return []byte(fmt.Sprintf(manifestText, line, version, imageSHA1))
}

// HeavyMF is the manifest of bosh-alicloud-kvm-ubuntu-noble 1.484 with the image's SHA-1 (%s) to
// fill in.
var HeavyMF = string(Manifest("bosh-alicloud-kvm-ubuntu-noble", "1.484", "%s"))

// Entry is one tar member; body, when set, streams instead of data.
type Entry struct {
	Header tar.Header
	Data   []byte
	Body   io.Reader
}

// File is a regular member holding data.
func File(name string, data []byte) Entry {
	return Entry{Header: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1700000000, 0)}, Data: data}
}

// HeaderOnly is a member whose header is written and nothing else: enough for a reader that
// must refuse it from the header alone.
func HeaderOnly(h tar.Header) Entry { return Entry{Header: h, Body: eofReader{}} }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Tgz makes a gzipped tar of entries.
func Tgz(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	complete := true
	for _, e := range entries {
		h := e.Header
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("fixture header %q: %v", h.Name, err)
		}
		switch {
		case e.Body != nil:
			n, err := io.Copy(tw, e.Body)
			if err != nil {
				t.Fatalf("fixture body %q: %v", h.Name, err)
			}
			complete = complete && n == h.Size
		default:
			if _, err := tw.Write(e.Data); err != nil {
				t.Fatalf("fixture data %q: %v", h.Name, err)
			}
		}
	}
	if complete {
		if err := tw.Close(); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	if err := gz.Close(); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return buf.Bytes()
}

// ImageTgz is a stemcell's image member: a tgz holding root.img.
func ImageTgz(t testing.TB, root []byte) []byte {
	return Tgz(t, File("./root.img", root))
}

// SHA1Hex is the hex SHA-1 of data, as stemcell.MF writes it.
func SHA1Hex(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

// ManifestFor is HeavyMF for an image member.
func ManifestFor(image []byte) []byte { return []byte(fmt.Sprintf(HeavyMF, SHA1Hex(image))) }

// HeavyStemcell is a heavy stemcell laid out like the real ones (tar -C dir . : "./" prefixes,
// alphabetical), with root as its root.img.
func HeavyStemcell(t testing.TB, root []byte) (tarball, image []byte) {
	image = ImageTgz(t, root)
	dir := tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1700000000, 0)}
	return Tgz(t,
		Entry{Header: dir},
		File("./dev_tools_file_list.txt", []byte("/usr/bin/gcc\n/usr/bin/make\n")),
		File("./image", image),
		File("./packages.txt", []byte("ii  openssl 3.0.13 amd64\n")),
		File("./sbom.spdx.json", []byte(`{"spdxVersion":"SPDX-2.3"}`)),
		File("./stemcell.MF", ManifestFor(image)),
	), image
}

// ReadTar lists a gzipped tar's headers and contents.
func ReadTar(t testing.TB, data []byte) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading tgz: %v", err)
	}
	tr := tar.NewReader(gz)
	var hdrs []*tar.Header
	contents := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, contents
		}
		if err != nil {
			t.Fatalf("reading tgz: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tgz member %q: %v", h.Name, err)
		}
		hdrs = append(hdrs, h)
		contents[h.Name] = b
	}
}
