package main_test

import (
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
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// Hostile and careless input (issue 12): paths out of the build directory, FIFOs, SIGTERM in
// the middle of a build, bad names and regions, a missing bucket.
func testInput(t *testing.T, it spec.S, binary string) {
	var (
		Expect  = NewWithT(t).Expect
		cloud   *testtools.Cloud
		build   string
		outside string
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 200 * time.Millisecond
			cfg.CopyDuration = 30 * time.Second // a copy is in progress whenever the test looks
		})
		root := t.TempDir()
		build, outside = filepath.Join(root, "build"), filepath.Join(root, "outside")
		Expect(os.MkdirAll(build, 0o755)).To(Succeed())
		Expect(os.MkdirAll(outside, 0o755)).To(Succeed())
		_, err := stemcelltest.WriteHeavyFile(outside, line, "1.484", bytes.Repeat([]byte("root disk "), 4096))
		Expect(err).NotTo(HaveOccurred())
	})
	source := func(channel string) map[string]any {
		s := cloud.Source()
		s["stemcell"], s["channel"] = line, channel
		return s
	}
	with := func(m map[string]any, key string, value any) map[string]any {
		out := map[string]any{key: value}
		for k, v := range m {
			if k != key {
				out[k] = v
			}
		}
		return out
	}
	start := func(step string, request any, dir string) (*exec.Cmd, *bytes.Buffer, *testtools.SyncBuffer, chan error) {
		body, _ := json.Marshal(request) // maps of strings, numbers and lists always encode
		args := []string{step}
		if dir != "" {
			args = append(args, dir)
		}
		cmd := exec.Command(binary, args...)
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		stdout, stderr := &bytes.Buffer{}, &testtools.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		Expect(cmd.Start()).To(Succeed())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return cmd, stdout, stderr, exited
	}
	// wait waits at most limit for the step to end, and returns its exit code.
	wait := func(cmd *exec.Cmd, exited chan error, stderr *testtools.SyncBuffer, limit time.Duration) int {
		select {
		case err := <-exited:
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				return exitErr.ExitCode()
			}
			Expect(err).NotTo(HaveOccurred())
			return 0
		case <-time.After(limit):
			_ = cmd.Process.Kill()
			killed := <-exited
			t.Fatalf("still running after %s (then killed: %v): %s", limit, killed, stderr.String())
			return -1
		}
	}
	run := func(step string, request any, dir string) (string, int) {
		cmd, _, stderr, exited := start(step, request, dir)
		code := wait(cmd, exited, stderr, 60*time.Second)
		return stderr.String(), code
	}
	nothingPublished := func() {
		Expect(cloud.Keys(t, "")).To(BeEmpty(), "no record, no tarball, no raw image")
	}

	it("confines heavy_stemcell and promote to the build directory, links included", func() {
		Expect(os.WriteFile(filepath.Join(outside, "version"), []byte("1.484\n"), 0o644)).To(Succeed())
		Expect(os.Symlink(filepath.Join(outside, heavyName()), filepath.Join(build, "heavy.tgz"))).To(Succeed())
		Expect(os.Symlink("../outside/version", filepath.Join(build, "version"))).To(Succeed())
		for _, tc := range []struct {
			channel string
			params  map[string]any
			want    string
		}{
			{"candidate", map[string]any{"heavy_stemcell": "../outside/*.tgz"}, `params.heavy_stemcell "../outside/*.tgz" is not a path inside the build directory`},
			{"candidate", map[string]any{"heavy_stemcell": "heavy.tgz"}, `params.heavy_stemcell "heavy.tgz" leads outside the build directory through a symbolic link`},
			{"published", map[string]any{"promote": "../outside/version"}, `params.promote "../outside/version" is not a path inside the build directory`},
			{"published", map[string]any{"promote": "version"}, `params.promote "version" leads outside the build directory through a symbolic link`},
		} {
			stderr, code := run("out", map[string]any{"source": source(tc.channel), "params": tc.params}, build)
			Expect(code).To(Equal(1), "%v: %s", tc.params, stderr)
			Expect(stderr).To(ContainSubstring(tc.want), "%v", tc.params)
			nothingPublished()
		}
		Expect(copies(cloud)).To(Equal(0))
	})

	it("refuses a FIFO matched by heavy_stemcell at once instead of blocking", func() {
		Expect(syscall.Mkfifo(filepath.Join(build, heavyName()), 0o644)).To(Succeed())
		began := time.Now()
		cmd, _, stderr, exited := start("out", map[string]any{"source": source("candidate"),
			"params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou"}}}, build)
		Expect(wait(cmd, exited, stderr, 20*time.Second)).To(Equal(1), "%s", stderr.String())
		Expect(time.Since(began)).To(BeNumerically("<", 5*time.Second))
		Expect(stderr.String()).To(ContainSubstring("which is not a regular file (it is a FIFO)"))
		nothingPublished()
	})

	it("exits 1 within 5 s of SIGTERM in the middle of the copies, cleaning up and publishing nothing", func() {
		data, err := os.ReadFile(filepath.Join(outside, heavyName()))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(build, heavyName()), data, 0o644)).To(Succeed())
		cmd, stdout, stderr, exited := start("out", map[string]any{"source": source("published"),
			"params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}}}, build)
		NewWithT(t).Eventually(func() int { return copies(cloud) }, 20*time.Second, 20*time.Millisecond).Should(BeNumerically(">=", 1))
		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		signalled := time.Now()
		Expect(wait(cmd, exited, stderr, 15*time.Second)).To(Equal(1), "%s", stderr.String())
		took := time.Since(signalled)
		t.Logf("exited %s after SIGTERM", took)
		Expect(took).To(BeNumerically("<", 5*time.Second))
		Expect(stdout.String()).To(BeEmpty())
		Expect(stderr.String()).To(ContainSubstring("stopped by SIGTERM"))
		Expect(cloud.Keys(t, line+"/")).To(BeEmpty(), "no record, no tarball")
		Expect(cloud.Keys(t, "")).NotTo(ContainElement(HaveSuffix("root.img")), "the raw image is deleted")
		for id, status := range latestImageStatus(cloud) {
			Expect(status).To(Or(Equal("Available"), Equal("Deleted"), Equal("Cancelled")), "image %s: the copies in progress are cancelled", id)
		}
	})

	it("refuses a stemcell line, a prefix and regions that are not names", func() {
		for _, tc := range []struct {
			source map[string]any
			want   string
		}{
			{with(source("published"), "stemcell", "../x"), `source.stemcell: expected a stemcell line name`},
			{with(source("published"), "stemcell", "a/b"), `source.stemcell: expected a stemcell line name`},
			{with(source("published"), "prefix", "../"), `source.prefix: expected names of letters`},
			{with(source("published"), "regions", []string{""}), `source.regions[0]: expected a region id such as cn-hangzhou, got ""`},
			{with(source("published"), "regions", []string{"cn-hangzhou", "../x"}), `source.regions[1]: expected a region id such as cn-hangzhou, got "../x"`},
		} {
			stderr, code := run("check", map[string]any{"source": tc.source}, "")
			Expect(code).To(Equal(1), "%v", tc.source)
			Expect(stderr).To(ContainSubstring(tc.want))
		}
		stderr, code := run("out", map[string]any{"source": source("candidate"),
			"params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", ""}, "base_region": "x"}}, build)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`params.regions[1]: expected a region id such as cn-hangzhou, got ""`))
		Expect(stderr).To(ContainSubstring(`params.base_region: expected a region id such as cn-hangzhou, got "x"`))
		nothingPublished()
		stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"},
			"params": map[string]any{"region": "../x"}}, t.TempDir())
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`params.region: expected a region id such as cn-hangzhou, got "../x"`))
	})

	it("quotes only a short prefix of a huge value", func() {
		stderr, code := run("check", map[string]any{"source": with(source("published"), "stemcell", strings.Repeat("s", 20_000_000)+"/")}, "")
		Expect(code).To(Equal(1))
		Expect(len(stderr)).To(BeNumerically("<", 2000))
		Expect(stderr).To(ContainSubstring("… (20000001 bytes)"))
	})

	it("says the bucket is missing, not that the version is not found", func() {
		missing := with(source("published"), "bucket", "no-such-bucket")
		stderr, code := run("in", map[string]any{"source": missing, "version": map[string]string{"version": "1.484"}}, t.TempDir())
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("the bucket no-such-bucket does not exist in cn-hangzhou"))
		Expect(stderr).NotTo(ContainSubstring("not found"))
	})
}
