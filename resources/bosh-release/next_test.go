package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// member returns the content of the member name of the gzipped tar in data.
func member(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("no member %s", name)
		} else if err != nil {
			t.Fatal(err)
		}
		if filepath.Clean(header.Name) == name {
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return body
		}
	}
}

// members lists the names of the gzipped tar in data.
func members(t *testing.T, data []byte) []string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			return names
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Clean(header.Name))
	}
}

// releaseBuild is a build directory holding a copy of the release directory base as
// "cpi-release", its job printing variant.
func releaseBuild(t *testing.T, base, variant string) string {
	t.Helper()
	build := t.TempDir()
	dir := filepath.Join(build, "cpi-release")
	if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jobs", "hello", "templates", "run.erb"), []byte("#!/bin/bash\necho hello "+variant+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return build
}

// next puts the release directory of build with params.version and extra params.
func next(t *testing.T, binary string, source map[string]any, build, choice string, params map[string]any) step {
	t.Helper()
	p := map[string]any{"release_dir": "cpi-release", "version": choice}
	for k, v := range params {
		p[k] = v
	}
	return run(t, binary, "out", map[string]any{"source": source, "params": p}, build)
}

// emitted is the version an out answered.
func emitted(t *testing.T, s step) string {
	t.Helper()
	var response concourse.Response
	if err := json.Unmarshal([]byte(s.stdout), &response); err != nil {
		t.Fatalf("out answered %q (exit %d): %v\n%s", s.stdout, s.code, err, s.stderr)
	}
	return response.Version["version"]
}

func testNextVersions(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect     = NewWithT(t).Expect
		Eventually = NewWithT(t).Eventually
		cloud      *testtools.Cloud
		source     map[string]any
		base       string // a release directory "cpi" made by the real bosh CLI
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
		base = testtools.NewRelease(t, filepath.Join(t.TempDir(), "cpi-release"), "cpi", "base").Dir
	})
	patch := map[string]any{"rc_base": "patch"}

	it("follows the table (rc_base patch): nothing → initial_version, 61.0.0 → 61.0.1-rc.1, 61.0.1-rc.2 → 61.0.1-rc.3, next-final of 61.0.1-rc.3 → 61.0.1", func() {
		build := releaseBuild(t, base, "table")
		s := next(t, binary, source, build, "next-rc", patch)
		Expect(s.code).To(Equal(1), s.stdout)
		Expect(s.stderr).To(ContainSubstring("params.initial_version: required: no final or release candidate of release cpi is published for next-rc to follow"))
		Expect(cloud.Keys(t, "")).To(BeEmpty())

		first := withKey(source, "prefix", "first/")
		s = next(t, binary, first, build, "next-rc", map[string]any{"rc_base": "patch", "initial_version": "1.0.0-rc.1"})
		Expect(emitted(t, s)).To(Equal("1.0.0-rc.1"), s.stderr)

		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		for _, want := range []string{"61.0.1-rc.1", "61.0.1-rc.2", "61.0.1-rc.3"} {
			s = next(t, binary, source, build, "next-rc", patch)
			Expect(emitted(t, s)).To(Equal(want), s.stderr)
		}

		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.1-rc.3"}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		final, _ := os.ReadFile(filepath.Join(dest, "next-final")) // a missing file fails the assertion
		Expect(string(final)).To(Equal("61.0.1"))
		manifest, _ := os.ReadFile(filepath.Join(dest, "release.MF")) // a missing file fails the assertion
		Expect(string(manifest)).To(ContainSubstring("version: 61.0.1-rc.3"))
	})

	it("gives 10 concurrent puts of different content on one line 10 consecutive rc numbers, each fetched as its own build", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		const puts = 10
		builds := make([]string, puts)
		for i := range builds {
			builds[i] = releaseBuild(t, base, fmt.Sprintf("build-%d", i))
		}
		steps := make([]step, puts)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range builds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				steps[i] = next(t, binary, source, builds[i], "next-rc", patch)
			}()
		}
		wg.Wait()
		t.Logf("%d concurrent puts took %s", puts, time.Since(start).Round(time.Millisecond))

		got := map[string]int{} // version → build
		retried := 0
		for i, s := range steps {
			Expect(s.code).To(Equal(0), s.stderr)
			v := emitted(t, s)
			Expect(got).NotTo(HaveKey(v), "two builds got %s", v)
			got[v] = i
			retried += strings.Count(s.stderr, "was published by another build meanwhile")
		}
		t.Logf("%d builds lost a race and built again", retried)
		var want, versions []string
		for n := 1; n <= puts; n++ {
			want = append(want, fmt.Sprintf("61.0.1-rc.%d", n))
		}
		for v := range got {
			versions = append(versions, v)
		}
		sort.Strings(want)
		sort.Strings(versions)
		Expect(versions).To(Equal(want))

		for v, i := range got {
			dest := t.TempDir()
			s := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": v}}, dest)
			Expect(s.code).To(Equal(0), s.stderr)                         // in verifies the tarball against the record
			tarball, _ := os.ReadFile(filepath.Join(dest, "release.tgz")) // a missing file fails below
			Expect(string(member(t, tarball, "release.MF"))).To(ContainSubstring("version: " + v))
			job := member(t, tarball, "jobs/hello.tgz")
			Expect(string(member(t, job, "templates/run.erb"))).To(ContainSubstring(fmt.Sprintf("hello build-%d\n", i)), v)
		}
		Expect(cloud.Keys(t, "cpi/tarballs/")).To(HaveLen(puts+1), "the losers' tarballs are gone")
	})

	it("takes no number for a put killed with SIGKILL", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		// The put uploads its tarball (PutObject 1), then hangs writing its record (2).
		hang := cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 2, Kind: sim.FaultHang, Latency: 20 * time.Second})
		body, _ := json.Marshal(map[string]any{"source": source, // maps of strings always encode
			"params": map[string]any{"release_dir": "cpi-release", "version": "next-rc", "rc_base": "patch"}})
		cmd := exec.Command(binary, "out", releaseBuild(t, base, "killed"))
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "BUILD_NAME=9", "HOME="+testtools.Home(t),
			"PATH="+filepath.Dir(testtools.Bosh(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stderr testtools.SyncBuffer // read while the put runs
		cmd.Stderr = &stderr
		Expect(cmd.Start()).To(Succeed())
		t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it has exited
		Eventually(func() int { return cloud.Fired(t, hang) }, 60*time.Second, 20*time.Millisecond).Should(Equal(1), stderr.String)
		Expect(stderr.String()).To(ContainSubstring("61.0.1-rc.1"))
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		Expect(cmd.Wait()).To(HaveOccurred())

		checked := run(t, binary, "check", map[string]any{"source": withKey(source, "prereleases", true)}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"version":"61.0.0"}]`))
		Expect(cloud.Keys(t, "cpi/records/")).To(Equal([]string{"cpi/records/61.0.0.json"}))

		s := next(t, binary, source, releaseBuild(t, base, "after"), "next-rc", patch)
		Expect(emitted(t, s)).To(Equal("61.0.1-rc.1"), s.stderr)
		Expect(s.stderr).To(ContainSubstring("took over the build lock of the next version of cpi from"))
	})

	it("builds again under the next number when the version is published by another put meanwhile", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		other := testtools.NewRelease(t, filepath.Join(t.TempDir(), "cpi-release"), "cpi", "other")
		rc1 := other.Tarball(t, filepath.Join(t.TempDir(), "cpi-61.0.1-rc.1.tgz"), "--version", "61.0.1-rc.1")
		// The put picks 61.0.1-rc.1 and builds it; its look for the record (GetObject 1) is slow,
		// and a file put publishes 61.0.1-rc.1 meanwhile.
		slow := cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Nth: 1, Kind: sim.FaultLatency, Latency: 2 * time.Second})
		done := make(chan step, 1)
		go func() { done <- next(t, binary, source, releaseBuild(t, base, "racing"), "next-rc", patch) }()
		Eventually(func() int { return cloud.Fired(t, slow) }, 30*time.Second, 20*time.Millisecond).Should(Equal(1))
		Expect(put(t, binary, source, rc1).code).To(Equal(0))
		s := <-done
		Expect(emitted(t, s)).To(Equal("61.0.1-rc.2"), s.stderr)
		Expect(s.stderr).To(ContainSubstring("cpi 61.0.1-rc.1 was published by another build meanwhile: building the next version (try 2 of 5)"))
		Expect(cloud.Keys(t, "cpi/tarballs/61.0.1-rc.1/")).To(HaveLen(1), "only the file put's tarball")
	})

	it("adds blobs before creating the release, and counts dev builds on with next-dev", func() {
		build := releaseBuild(t, base, "blobs")
		Expect(os.MkdirAll(filepath.Join(build, "inputs"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(build, "inputs", "extra.bin"), []byte(strings.Repeat("extra ", 100)), 0o644)).To(Succeed())
		s := next(t, binary, source, build, "next-dev", map[string]any{"initial_version": "61.0.0+dev.1", "blobs": map[string]string{"lib/extra.bin": "inputs/extra.bin"}})
		Expect(emitted(t, s)).To(Equal("61.0.0+dev.1"), s.stderr)
		Expect(s.stderr).To(ContainSubstring("adding inputs/extra.bin as blob lib/extra.bin"))

		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0+dev.1"}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		final, _ := os.ReadFile(filepath.Join(dest, "next-final")) // a missing file fails the assertion
		Expect(string(final)).To(Equal("61.0.1"))
		tarball, _ := os.ReadFile(filepath.Join(dest, "release.tgz")) // a missing file fails below
		Expect(members(t, member(t, tarball, "packages/lib.tgz"))).To(ContainElement("lib/extra.bin"))

		s = next(t, binary, source, build, "next-dev", nil)
		Expect(emitted(t, s)).To(Equal("61.0.0+dev.2"), s.stderr)
	})

	it("refuses params that do not fit, naming them, before anything is built", func() {
		for params, problem := range map[string]string{
			`{"file": "*.tgz", "version": "next-rc"}`:                                        "params.version: goes with release_dir",
			`{"release_dir": "r", "version": "next-fix"}`:                                    `params.version: expected one of next-rc, next-dev, next-patch, next-minor, next-major, got "next-fix"`,
			`{"release_dir": "r", "version": "next-rc", "version_file": "v"}`:                "params.version: give either version",
			`{"release_dir": "r", "version": "next-rc", "final": true}`:                      "params.final: a final release needs a final version; next-rc makes none",
			`{"release_dir": "r", "version": "next-dev", "rc_base": "patch"}`:                "params.rc_base: goes with version: next-rc",
			`{"release_dir": "r", "version": "next-rc", "rc_base": "micro"}`:                 `params.rc_base: expected one of major, minor, patch, got "micro"`,
			`{"release_dir": "r", "version": "next-rc", "initial_version": "1"}`:             `params.initial_version: expected a release candidate such as 1.0.0-rc.1 for version next-rc, got "1"`,
			`{"release_dir": "r", "version": "next-patch", "initial_version": "1.0.0-rc.1"}`: `params.initial_version: expected a final version such as 1.0.0 for version next-patch, got "1.0.0-rc.1"`,
			`{"release_dir": "r", "initial_version": "1.0.0"}`:                               "params.initial_version: goes with version",
			`{"release_dir": "r", "blobs": {"../x": "a"}}`:                                   `params.blobs: expected blob paths inside the release's blobs/`,
			`{"release_dir": "r", "blobs": {"x": "/etc/passwd"}}`:                            `params.blobs.x: expected a file in the build directory, got "/etc/passwd"`,
		} {
			s := run(t, binary, "out", map[string]any{"source": source, "params": json.RawMessage(params)}, t.TempDir())
			Expect(s.code).To(Equal(1), params)
			Expect(s.stderr).To(ContainSubstring(problem), params)
		}
		Expect(cloud.Keys(t, "")).To(BeEmpty())
	})
}
