package release_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"gopkg.in/yaml.v3"
)

// fixtures is a release directory built with the real bosh CLI and the tarballs it made.
type fixtures struct {
	home       string // the bosh HOME the directory was built with (its dev build cache)
	dir        string // the release directory, a git repository
	blobstore  string // its local final blobstore
	blobFile   string // the file added with `bosh add-blob` as lib/data.bin
	commitHash string // `git rev-parse --short HEAD` when the releases were made

	dev, rc, final string // tarballs: create-release, --version 61.0.1-rc.3, --final

	// What the Dir model predicted before each create-release, and what bosh then made.
	predictions []prediction
}

type prediction struct {
	step      string
	predicted string
	made      string
}

const (
	jobSpec = `---
name: hello
templates:
  run.erb: bin/run
packages: [greeter]
properties:
  greeting: {description: what to say, default: hello}
`
	greeterSpec = `---
name: greeter
dependencies: [lib]
files: [greeter/**/*]
`
	libSpec = `---
name: lib
dependencies: []
files: [lib/data.bin]
`
)

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	root := t.TempDir()
	fx := &fixtures{
		home:      testtools.Home(t),
		dir:       filepath.Join(root, "demo-release"),
		blobstore: filepath.Join(root, "final-blobstore"),
		blobFile:  filepath.Join(root, "data.bin"),
	}
	bosh := func(args ...string) string { return testtools.RunBoshWithHome(t, fx.home, fx.dir, args...) }

	testtools.RunBoshWithHome(t, fx.home, root, "init-release", "--dir", fx.dir, "--git")
	bosh("generate-job", "hello")
	bosh("generate-package", "greeter")
	bosh("generate-package", "lib")
	write(t, filepath.Join(fx.dir, "jobs/hello/spec"), jobSpec)
	write(t, filepath.Join(fx.dir, "jobs/hello/templates/run.erb"), "#!/bin/bash\necho <%= p('greeting') %>\n")
	write(t, filepath.Join(fx.dir, "packages/greeter/spec"), greeterSpec)
	write(t, filepath.Join(fx.dir, "packages/greeter/packaging"), "cp -a greeter/* ${BOSH_INSTALL_TARGET}/\n")
	write(t, filepath.Join(fx.dir, "packages/lib/spec"), libSpec)
	write(t, filepath.Join(fx.dir, "packages/lib/packaging"), "cp lib/data.bin ${BOSH_INSTALL_TARGET}/\n")
	write(t, filepath.Join(fx.dir, "src/greeter/greet.sh"), "echo hi\n")
	write(t, filepath.Join(fx.dir, "LICENSE"), "Apache License 2.0\n")
	write(t, filepath.Join(fx.dir, "config/final.yml"), fmt.Sprintf(
		"name: demo\nblobstore:\n  provider: local\n  options:\n    blobstore_path: %s\n", fx.blobstore))
	if err := os.MkdirAll(fx.blobstore, 0o755); err != nil {
		t.Fatal(err)
	}

	blob := make([]byte, 6<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(fx.blobFile, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	bosh("add-blob", fx.blobFile, "lib/data.bin")
	bosh("upload-blobs")

	git(t, fx, "add", "-A")
	git(t, fx, "commit", "-q", "-m", "demo release")
	fx.commitHash = strings.TrimSpace(git(t, fx, "rev-parse", "--short", "HEAD"))

	// Each step: what the Dir model says bosh will choose, then bosh, then what it chose.
	d := openDir(t, fx.dir)
	nextDev := must(d.NextDevVersion())
	fx.dev = filepath.Join(root, "dev.tgz")
	bosh("create-release", "--tarball", fx.dev)
	fx.predict(t, "create-release", nextDev.String(), fx.dev)

	fx.rc = filepath.Join(root, "rc.tgz")
	bosh("create-release", "--version", "61.0.1-rc.3", "--tarball", fx.rc)

	d = openDir(t, fx.dir)
	nextDev, nextFinal := must(d.NextDevVersion()), must(d.NextFinalVersion())
	fx.final = filepath.Join(root, "final.tgz")
	bosh("create-release", "--final", "--tarball", fx.final)
	fx.predict(t, "create-release --final", nextFinal.String(), fx.final)
	fx.predictions = append(fx.predictions, prediction{
		step:      "create-release --final (its dev build)",
		predicted: nextDev.String(),
		made:      latestDevInIndex(t, fx.dir),
	})
	return fx
}

func (fx *fixtures) predict(t *testing.T, step, predicted, tarball string) {
	t.Helper()
	tb, err := release.InspectFile(t.Context(), tarball)
	if err != nil {
		t.Fatal(err)
	}
	fx.predictions = append(fx.predictions, prediction{step: step, predicted: predicted, made: tb.Manifest.Version})
}

// latestDevInIndex reads dev_releases/demo/index.yml without the package under test and
// returns the one dev version that no other fixture step made.
func latestDevInIndex(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "dev_releases/demo/index.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Builds map[string]struct{ Version string }
	}
	if err := yaml.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, b := range index.Builds {
		if b.Version != "0+dev.1" && b.Version != "61.0.1-rc.3" {
			made = append(made, b.Version)
		}
	}
	if len(made) != 1 {
		t.Fatalf("want one more dev version in\n%s", data)
	}
	return made[0]
}

// copyDir copies the fixture directory (and nothing else: its final blobstore is shared, and
// bosh only adds to it) so that a spec can make more releases.
func (fx *fixtures) copyDir(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "demo-release")
	if out, err := exec.Command("cp", "-a", fx.dir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %s\n%s", err, out)
	}
	return dst
}

func git(t *testing.T, fx *fixtures, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
	cmd.Dir = fx.dir
	cmd.Env = append(os.Environ(), "HOME="+fx.home, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %s\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func openDir(t *testing.T, dir string) *release.Dir {
	t.Helper()
	d, err := release.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// entry is one member of a crafted tarball.
type entry struct {
	hdr  tar.Header
	body []byte
}

func file(name string, body []byte) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

// readEntries reads every member of a gzipped tarball.
func readEntries(t *testing.T, path string) []entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr: *hdr, body: body})
	}
}

// tarball writes entries as a gzipped tar; a header's Size is taken as given, so a crafted
// entry may claim more than its body (writing stops there).
func tarball(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > int64(len(e.body)) {
			// Unfinished on purpose: the reader must refuse the header before reading on.
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
			if err := gz.Close(); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		if _, err := tw.Write(e.body); err != nil {
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
