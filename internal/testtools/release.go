package testtools

import (
	"archive/tar"
	"compress/gzip"
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
