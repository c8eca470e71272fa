package testtools

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Release is a small release directory made with the real bosh CLI: job "hello" using package
// "greeter", which depends on package "lib". Every create-release on it shares one bosh HOME,
// as bosh needs its cache to make the next dev release.
type Release struct {
	Dir  string
	Home string
}

// NewRelease makes a release named name in dir; variant changes the job's template, so two
// releases of the same name and version can differ in content. Package "lib" holds a blob added
// with `bosh add-blob`, and a local final blobstore lets it make final releases.
func NewRelease(t testing.TB, dir, name, variant string) *Release {
	t.Helper()
	r := &Release{Dir: dir, Home: Home(t)}
	RunBoshWithHome(t, r.Home, filepath.Dir(dir), "init-release", "--dir", dir)
	r.bosh(t, "generate-job", "hello")
	r.bosh(t, "generate-package", "greeter")
	r.bosh(t, "generate-package", "lib")
	files := map[string]string{
		"config/final.yml":                       fmt.Sprintf("name: %s\nblobstore:\n  provider: local\n  options:\n    blobstore_path: %s\n", name, filepath.Join(dir, ".final-blobstore")),
		"jobs/hello/spec":                        "---\nname: hello\ntemplates:\n  run.erb: bin/run\npackages: [greeter]\nproperties: {}\n",
		"jobs/hello/templates/run.erb":           "#!/bin/bash\necho hello " + variant + "\n",
		"packages/greeter/spec":                  "---\nname: greeter\ndependencies: [lib]\nfiles: [greeter/**/*]\n",
		"packages/greeter/packaging":             "cp -a greeter/* ${BOSH_INSTALL_TARGET}/\n",
		"packages/lib/spec":                      "---\nname: lib\ndependencies: []\nfiles: [lib/**/*]\n",
		"packages/lib/packaging":                 "cp -a lib/* ${BOSH_INSTALL_TARGET}/\n",
		"src/greeter/greet.sh":                   "echo greetings\n",
		"src/lib/lib.sh":                         "echo lib\n",
		"../" + filepath.Base(dir) + "-blob.bin": strings.Repeat("blob data ", 1000),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.bosh(t, "add-blob", filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-blob.bin"), "lib/data.bin")
	return r
}

func (r *Release) bosh(t testing.TB, args ...string) string {
	t.Helper()
	return RunBoshWithHome(t, r.Home, r.Dir, args...)
}

// Tarball runs `bosh create-release --tarball path` with extra args (--version, --final).
func (r *Release) Tarball(t testing.TB, path string, args ...string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	r.bosh(t, append([]string{"create-release", "--tarball", path}, args...)...)
	return path
}

// TamperMember copies a release tarball to dst with one byte changed inside member (such as
// "jobs/hello.tgz"), leaving release.MF and its digests as they were.
func TamperMember(t testing.TB, src, dst, member string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }() // read-only: its close has nothing to report
	gz, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = out.Close() }() // after a failure only: the end closes it and checks
	gzw := gzip.NewWriter(out)
	tw := tar.NewWriter(gzw)
	tr := tar.NewReader(gz)
	found := false
	for {
		header, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Clean(header.Name) == member && len(body) > 0 {
			body[len(body)/2] ^= 0xff
			found = true
		}
		if err := tw.WriteHeader(header); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("%s has no member %s", src, member)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gzw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TarEntry is one member of a tarball TarGz writes.
type TarEntry struct {
	Header tar.Header
	Body   []byte
}

// TarGz writes entries as a gzipped tar (a header's Size is set from its body for regular
// files).
func TarGz(t testing.TB, entries ...TarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := e.Header
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.Body); err != nil {
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

// ReplaceArchive copies a release tarball to dst with the archive member (such as
// "jobs/hello.tgz") replaced by body, and release.MF's digest of it updated to match: a
// tarball whose digests all verify, holding whatever archive a test crafts.
func ReplaceArchive(t testing.TB, src, dst, member string, body []byte) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var entries []TarEntry
	oldSum := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Clean(hdr.Name) == member {
			oldSum = fmt.Sprintf("%x", sha256.Sum256(content))
			content = body
		}
		entries = append(entries, TarEntry{Header: *hdr, Body: content})
	}
	if oldSum == "" {
		t.Fatalf("%s has no member %s", src, member)
	}
	replaced := false
	for i, e := range entries {
		if filepath.Clean(e.Header.Name) == "release.MF" {
			mf := string(e.Body)
			if !strings.Contains(mf, oldSum) {
				t.Fatalf("release.MF of %s has no sha256 %s for %s", src, oldSum, member)
			}
			entries[i].Body = []byte(strings.ReplaceAll(mf, oldSum, fmt.Sprintf("%x", sha256.Sum256(body))))
			replaced = true
		}
	}
	if !replaced {
		t.Fatalf("%s has no release.MF", src)
	}
	if err := os.WriteFile(dst, TarGz(t, entries...), 0o644); err != nil {
		t.Fatal(err)
	}
}
