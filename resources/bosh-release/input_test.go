package main_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// Hostile and careless input (issue 12): paths out of the build directory, FIFOs, SIGTERM in
// the middle of a put, unsafe archives inside the tarball, huge values, a missing bucket.
func testInput(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		source map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})
	nothingPublished := func() {
		Expect(cloud.Keys(t, "")).To(BeEmpty(), "nothing is left in the bucket")
	}
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.MkdirAll(filepath.Dir(to), 0o755)).To(Succeed())
		Expect(os.WriteFile(to, data, 0o644)).To(Succeed())
	}

	it("confines every path param to the build directory, links included", func() {
		root := t.TempDir()
		build, outside := filepath.Join(root, "build"), filepath.Join(root, "outside")
		copyFile(f.tarballs["61.0.0"], filepath.Join(outside, "cpi-61.0.0.tgz"))
		Expect(os.WriteFile(filepath.Join(outside, "version"), []byte("99.0.0\n"), 0o644)).To(Succeed())
		Expect(os.MkdirAll(build, 0o755)).To(Succeed())
		testtools.NewRelease(t, filepath.Join(build, "cpi-release"), "cpi", "v1")
		Expect(os.Symlink(filepath.Join(outside, "cpi-61.0.0.tgz"), filepath.Join(build, "linked.tgz"))).To(Succeed())
		Expect(os.Symlink("../outside/version", filepath.Join(build, "version"))).To(Succeed())
		Expect(os.Symlink(filepath.Join(build, "cpi-release"), filepath.Join(outside, "release"))).To(Succeed())

		for _, tc := range []struct {
			params map[string]any
			want   string
		}{
			{map[string]any{"file": "../outside/*.tgz"}, `params.file "../outside/*.tgz" is not a path inside the build directory`},
			{map[string]any{"file": "linked.tgz"}, `params.file "linked.tgz" leads outside the build directory through a symbolic link`},
			{map[string]any{"file": filepath.Join(outside, "*.tgz")}, `is not a path inside the build directory`},
			{map[string]any{"release_dir": "../outside/release"}, `params.release_dir "../outside/release" is not a path inside the build directory`},
			{map[string]any{"release_dir": "cpi-release", "version_file": "../outside/version"}, `params.version_file "../outside/version" is not a path inside the build directory`},
			{map[string]any{"release_dir": "cpi-release", "version_file": "version"}, `params.version_file "version" leads outside the build directory through a symbolic link`},
		} {
			s := run(t, binary, "out", map[string]any{"source": source, "params": tc.params}, build)
			Expect(s.code).To(Equal(1), "%v: %s", tc.params, s.stderr)
			Expect(s.stderr).To(ContainSubstring(tc.want), "%v", tc.params)
			nothingPublished()
		}
	})

	it("refuses a FIFO matched by params.file at once instead of blocking", func() {
		build := t.TempDir()
		Expect(syscall.Mkfifo(filepath.Join(build, "cpi-61.0.0.tgz"), 0o644)).To(Succeed())
		s, took := runFor(t, binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "*.tgz"}}, build, 20*time.Second)
		Expect(took).To(BeNumerically("<", 5*time.Second))
		Expect(s.code).To(Equal(1), "%s", s.stderr)
		Expect(s.stderr).To(ContainSubstring(`params.file "*.tgz" matches "cpi-61.0.0.tgz", which is not a regular file (it is a FIFO)`))
		nothingPublished()
	})

	it("exits 1 within 5 s of SIGTERM while the record write hangs, removing the tarball it uploaded", func() {
		build := t.TempDir()
		copyFile(f.tarballs["61.0.0"], filepath.Join(build, "cpi-61.0.0.tgz"))
		// The first PutObject is the tarball, the second the record: that one hangs (8 s, so the
		// emulator can close at the end of the test: it cannot see the client go).
		cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 2, Kind: sim.FaultHang, Latency: 8 * time.Second})
		body, _ := json.Marshal(map[string]any{"source": source, "params": map[string]any{"file": "*.tgz"}}) // maps of strings always encode
		cmd := exec.Command(binary, "out", build)
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Start()).To(Succeed())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		tarballUploaded := func() bool {
			for _, e := range cloud.Sim.Journal() {
				if e.Action == "PutObject" && e.Status == 200 && strings.Contains(e.Key, "/tarballs/") {
					return true
				}
			}
			return false
		}
		NewWithT(t).Eventually(tarballUploaded, 20*time.Second, 20*time.Millisecond).Should(BeTrue(), "the tarball is uploaded")
		time.Sleep(300 * time.Millisecond) // into the record write, which hangs
		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		start := time.Now()
		var err error
		select {
		case err = <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			killed := <-exited
			t.Fatalf("still running 15 s after SIGTERM (then killed: %v): %s", killed, stderr.String())
		}
		took := time.Since(start)
		t.Logf("exited %s after SIGTERM", took)
		Expect(took).To(BeNumerically("<", 5*time.Second))
		var exitErr *exec.ExitError
		Expect(errors.As(err, &exitErr)).To(BeTrue(), "%v", err)
		Expect(exitErr.ExitCode()).To(Equal(1))
		Expect(stdout.String()).To(BeEmpty())
		Expect(stderr.String()).To(ContainSubstring("stopped by SIGTERM"))
		nothingPublished()
	})

	it("refuses a tarball whose job archive is unsafe inside, naming the entry, publishing nothing", func() {
		for _, tc := range []struct {
			entry testtools.TarEntry
			want  string
		}{
			{testtools.TarEntry{Header: tar.Header{Name: "../../etc/cron.d/evil", Typeflag: tar.TypeReg}, Body: []byte("* * * * * root sh\n")},
				`job "hello" (jobs/hello.tgz) refused: entry "../../etc/cron.d/evil": path has a '..' component`},
			{testtools.TarEntry{Header: tar.Header{Name: "./templates/x", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/shadow"}},
				`job "hello" (jobs/hello.tgz) refused: entry "./templates/x": symbolic link to "../../../../etc/shadow" leads outside the archive`},
			{testtools.TarEntry{Header: tar.Header{Name: "./dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
				`job "hello" (jobs/hello.tgz) refused: entry "./dev": is a device file`},
		} {
			job := testtools.TarGz(t, testtools.TarEntry{Header: tar.Header{Name: "./job.MF", Typeflag: tar.TypeReg}, Body: []byte("name: hello\ntemplates: {}\npackages: []\n")}, tc.entry)
			hostile := filepath.Join(t.TempDir(), "cpi-61.0.0.tgz")
			testtools.ReplaceArchive(t, f.tarballs["61.0.0"], hostile, "jobs/hello.tgz", job)
			s := put(t, binary, source, hostile)
			Expect(s.code).To(Equal(1), "%s", s.stderr)
			Expect(s.stderr).To(ContainSubstring("refusing to publish cpi-61.0.0.tgz"))
			Expect(s.stderr).To(ContainSubstring(tc.want))
			nothingPublished()
		}
	})

	it("quotes only a short prefix of a huge value", func() {
		huge := strings.Repeat("n", 20_000_000)
		s := run(t, binary, "check", map[string]any{"source": withKey(source, "name", huge+"/")}, "")
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring(`source.name: expected a release name of at most 255 letters, digits, '-', '_' and '.', got "nnnn`))
		Expect(s.stderr).To(ContainSubstring(`… (20000001 bytes)`))

		s = run(t, binary, "check", map[string]any{"source": withKey(source, "version_family", huge)}, "")
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring("source.version_family"))

		s = run(t, binary, "check", map[string]any{"source": withKey(source, huge, "x")}, "")
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring(`source: unknown key "nnnn`))
	})

	it("refuses a prefix that climbs out", func() {
		for _, prefix := range []string{"../", "a/../b/", "./", "/x/", "a//b/"} {
			s := run(t, binary, "check", map[string]any{"source": withKey(source, "prefix", prefix)}, "")
			Expect(s.code).To(Equal(1), prefix)
			Expect(s.stderr).To(ContainSubstring("source.prefix: expected names of letters"), prefix)
		}
		s := run(t, binary, "check", map[string]any{"source": withKey(source, "prefix", "ci/releases/")}, "")
		Expect(s.code).To(Equal(0), "%s", s.stderr)
	})

	it("says the bucket is missing, not that the version is unpublished", func() {
		s := run(t, binary, "in", map[string]any{"source": withKey(source, "bucket", "no-such-bucket"), "version": map[string]string{"version": "61.0.0"}}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("the bucket no-such-bucket does not exist in cn-hangzhou"))
		Expect(s.stderr).NotTo(ContainSubstring("not published"))
		s = run(t, binary, "check", map[string]any{"source": withKey(source, "bucket", "no-such-bucket")}, "")
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("the bucket no-such-bucket does not exist in cn-hangzhou"))
	})
}

// runFor is run with a time limit: a step still running after limit is killed (and the test
// fails there); it returns the step and how long it took.
func runFor(t *testing.T, binary, verb string, request any, dir string, limit time.Duration) (step, time.Duration) {
	t.Helper()
	body, _ := json.Marshal(request) // maps of strings, numbers and lists always encode
	cmd := exec.Command(binary, verb, dir)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		killed := <-exited
		t.Fatalf("%s still running after %s (then killed: %v): %s", verb, limit, killed, stderr.String())
	}
	s := step{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		s.code = exitErr.ExitCode()
	}
	return s, time.Since(start)
}

func testHugeValues(t *testing.T, _ spec.G, it spec.S, binary string) {
	var Expect = NewWithT(t).Expect
	it("refuses a valid but huge name, and a huge version, each in one short line", func() {
		source := withKey(testtools.NewCloud(t).Source(), "name", "cpi")
		s := run(t, binary, "check", map[string]any{"source": withKey(source, "name", strings.Repeat("n", 20_000_000))}, "")
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring(`source.name: expected a release name of at most 255 letters`))

		s = run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": strings.Repeat("1", 20_000_000) + "/x"}}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring(`version: invalid BOSH version "1111`))

		s = run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": strings.Repeat("a", 20_000_000)}}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(len(s.stderr)).To(BeNumerically("<", 2000), "stderr is short")
		Expect(s.stderr).To(ContainSubstring(`(20000000 bytes): longer than 255 bytes`))
	})
}
