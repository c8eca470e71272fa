package concourse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

// stopped starts the binary's in with params, sends sig once it logs "waiting", and returns
// what it printed and how long it took to exit after the signal (or fails after 15 s).
func stopped(t *testing.T, binary string, params map[string]any, dest string, sig os.Signal) (step, time.Duration) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{ // maps of strings always encode
		"source": map[string]any{"dir": store(t, 1)}, "version": map[string]string{"number": "1"}, "params": params,
	})
	cmd := exec.Command(binary, "in", dest)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout bytes.Buffer
	stderr := &testtools.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "waiting"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the step never started waiting: %s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		killed := <-exited
		t.Fatalf("still running 15 s after %s (then killed: %v): %s", sig, killed, stderr.String())
	}
	s := step{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		s.code = exitErr.ExitCode()
	}
	return s, time.Since(start)
}

func testStop(t *testing.T, context spec.G, it spec.S, binary string) {
	var Expect = NewWithT(t).Expect

	it("cancels the step's context on SIGTERM: the step cleans up and fails", func() {
		dest := t.TempDir()
		s, took := stopped(t, binary, map[string]any{"block": "context"}, dest, syscall.SIGTERM)
		Expect(s.code).To(Equal(1), "%s", s.stderr)
		Expect(took).To(BeNumerically("<", time.Second))
		Expect(s.stdout).To(BeEmpty())
		Expect(s.stderr).To(ContainSubstring("warning: stopped by SIGTERM: stopping the step and cleaning up"))
		Expect(s.stderr).To(ContainSubstring("error: waiting: stopped by SIGTERM\n"))
		Expect(filepath.Join(dest, "cleaned-up")).To(BeARegularFile(), "the clean-up ran")
		Expect(filepath.Join(dest, "content")).NotTo(BeAnExistingFile())
	})

	it("does the same on SIGINT", func() {
		s, _ := stopped(t, binary, map[string]any{"block": "context"}, t.TempDir(), os.Interrupt)
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("stopped by SIGINT"))
	})

	it("exits 1 within 5 s of SIGTERM even when the step ignores it, before Concourse's SIGKILL", func() {
		dest := t.TempDir()
		s, took := stopped(t, binary, map[string]any{"block": "forever"}, dest, syscall.SIGTERM)
		Expect(s.code).To(Equal(1), "%s", s.stderr)
		Expect(took).To(BeNumerically(">=", 3900*time.Millisecond), "the step had its StopGrace of 4 s")
		Expect(took).To(BeNumerically("<", 5*time.Second))
		Expect(s.stdout).To(BeEmpty())
		Expect(s.stderr).To(ContainSubstring("error: stopped by SIGTERM, and the step did not stop within 4s: exiting without it"))
		Expect(filepath.Join(dest, "content")).NotTo(BeAnExistingFile())
	})
}

func testPaths(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect  = NewWithT(t).Expect
		env     concourse.Env
		outside string
	)
	it.Before(func() {
		root := t.TempDir()
		env = concourse.Env{Dir: filepath.Join(root, "build")}
		outside = filepath.Join(root, "outside")
		for _, dir := range []string{filepath.Join(env.Dir, "candidate"), filepath.Join(env.Dir, "version"), outside} {
			Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		}
		for path, content := range map[string]string{
			filepath.Join(env.Dir, "candidate", "cpi-1.tgz"): "tarball",
			filepath.Join(env.Dir, "version", "number"):      "1.484\n",
			filepath.Join(outside, "cpi-9.tgz"):              "theirs",
			filepath.Join(outside, "number"):                 "vm\n",
		} {
			Expect(os.WriteFile(path, []byte(content), 0o644)).To(Succeed())
		}
		Expect(os.Symlink(filepath.Join(outside, "cpi-9.tgz"), filepath.Join(env.Dir, "candidate", "out.tgz"))).To(Succeed())
		Expect(os.Symlink("../candidate/cpi-1.tgz", filepath.Join(env.Dir, "version", "in.tgz"))).To(Succeed())
		Expect(os.Symlink(outside, filepath.Join(env.Dir, "elsewhere"))).To(Succeed())
		Expect(os.Symlink("../../outside/number", filepath.Join(env.Dir, "version", "planted"))).To(Succeed())
		Expect(syscall.Mkfifo(filepath.Join(env.Dir, "candidate", "fifo.tgz"), 0o644)).To(Succeed())
	})

	it("finds the one regular file a glob matches, through links that stay inside", func() {
		Expect(env.File("params.file", "candidate/cpi-*.tgz")).To(Equal(filepath.Join(env.Dir, "candidate", "cpi-1.tgz")))
		Expect(env.File("params.file", "version/in.tgz")).To(Equal(filepath.Join(env.Dir, "version", "in.tgz")))
		Expect(env.ReadFile("params.version_file", "version/number")).To(Equal([]byte("1.484\n")))
		Expect(env.Subdir("params.release_dir", "candidate")).To(Equal(filepath.Join(env.Dir, "candidate")))
		Expect(env.Subdir("params.release_dir", ".")).To(Equal(env.Dir))
	})

	it("refuses a path that climbs out or is absolute, naming the param", func() {
		for _, name := range []string{"../outside/number", "candidate/../../outside/number", filepath.Join(outside, "number"), ""} {
			_, err := env.ReadFile("params.version_file", name)
			Expect(err).To(MatchError(ContainSubstring("params.version_file %s is not a path inside the build directory", problems.Quote(name))))
		}
		_, err := env.File("params.file", "../outside/*.tgz")
		Expect(err).To(MatchError(ContainSubstring(`params.file "../outside/*.tgz" is not a path inside the build directory`)))
		_, err = env.Subdir("params.release_dir", "..")
		Expect(err).To(MatchError(ContainSubstring(`params.release_dir ".." is not a path inside the build directory`)))
	})

	it("refuses a symbolic link that leads out, for a file, a glob through a linked directory and a directory", func() {
		_, err := env.File("params.file", "candidate/out.tgz")
		Expect(err).To(MatchError(`params.file "candidate/out.tgz" leads outside the build directory through a symbolic link`))
		_, err = env.File("params.heavy_stemcell", "elsewhere/*.tgz")
		Expect(err).To(MatchError(`params.heavy_stemcell "elsewhere/*.tgz" matches "elsewhere/cpi-9.tgz", which leads outside the build directory through a symbolic link`))
		_, err = env.ReadFile("params.promote", "version/planted")
		Expect(err).To(MatchError(`params.promote "version/planted" leads outside the build directory through a symbolic link`))
		_, err = env.Subdir("params.release_dir", "elsewhere")
		Expect(err).To(MatchError(`params.release_dir "elsewhere" leads outside the build directory through a symbolic link`))
	})

	it("accepts only regular files: a FIFO is refused at once instead of blocking", func() {
		_, err := env.File("params.file", "candidate/fifo.tgz")
		Expect(err).To(MatchError(`params.file "candidate/fifo.tgz" is not a regular file (it is a FIFO)`))
		_, err = env.ReadFile("params.version_file", "candidate/fifo.tgz")
		Expect(err).To(MatchError(ContainSubstring("is not a regular file (it is a FIFO)")))
		_, err = env.ReadFile("params.version_file", "version")
		Expect(err).To(MatchError(ContainSubstring("is not a regular file (it is a directory)")))
	})

	it("says how many files a glob matched, and that a missing file does not exist", func() {
		_, err := env.File("params.file", "candidate/*.tgz")
		Expect(err).To(MatchError(ContainSubstring(`params.file "candidate/*.tgz" matches 3 files in ` + env.Dir + `, expected exactly one: "candidate/cpi-1.tgz", "candidate/fifo.tgz", "candidate/out.tgz"`)))
		_, err = env.ReadFile("params.promote", "1.484")
		Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue(), "%v", err)
	})

	it("refuses a file too large to be a version file", func() {
		Expect(os.WriteFile(filepath.Join(env.Dir, "big"), bytes.Repeat([]byte("1"), concourse.MaxParamFile+1), 0o644)).To(Succeed())
		_, err := env.ReadFile("params.version_file", "big")
		Expect(err).To(MatchError(`params.version_file "big" holds more than 65536 bytes`))
	})
}
