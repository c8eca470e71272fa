// Package testtools holds test helpers only: the real bosh CLI, found or built and run isolated
// from the developer's ~/.bosh, and other shared fixtures. Nothing but _test.go files may import it.
package testtools

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// modulePath is the module whose go.mod marks the repository root.
const modulePath = "github.com/bosh-alicloud/concourse-pack"

// boshVersion and the build flags are the Makefile's ($(BIN)/bosh), so a test that has to build
// the CLI runs the same binary `make tools` would have put into bin/.
const boshVersion = "7.9.12"

var built struct {
	once sync.Once
	path string
	err  error
}

// Bosh returns the path of a real bosh CLI: bin/bosh at the repository root when `make tools`
// has made it, otherwise one built once per test process from tools/bosh with the Makefile's
// flags (fast after the first time: the go build cache keeps it). It fails the test, never skips
// it, when neither works.
func Bosh(t testing.TB) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("testtools: %s", err)
	}
	if path := filepath.Join(root, "bin", "bosh"); isExecutable(path) {
		return path
	}
	built.once.Do(func() { built.path, built.err = buildBosh(root) })
	if built.err != nil {
		t.Fatalf("testtools: bin/bosh is missing (run `make tools`) and building it failed: %s", built.err)
	}
	return built.path
}

// ModuleRoot walks up from the working directory (a test's is its package directory) to the
// directory whose go.mod declares the pack's module.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for start := dir; ; {
		if declaresPack(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod declaring module %s above %s", modulePath, start)
		}
		dir = parent
	}
}

func declaresPack(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }() // read-only: its close has nothing to report
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// buildBosh builds the CLI into a directory of its own under the system temp dir, named after
// the process so that concurrent test processes (go test ./...) never share a half-written file.
// It is left behind: a test process has no exit hook to remove it.
func buildBosh(root string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go command is not on PATH")
	}
	dir, err := os.MkdirTemp("", "testtools-bosh-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bosh")
	cmd := exec.Command(goBin, "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/cloudfoundry/bosh-cli/v7/cmd.VersionLabel="+boshVersion,
		"-o", out, "github.com/cloudfoundry/bosh-cli/v7")
	cmd.Dir = filepath.Join(root, "tools", "bosh")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cd %s && CGO_ENABLED=0 %s: %w\n%s", cmd.Dir, strings.Join(cmd.Args, " "), err, output)
	}
	return out, nil
}

// homes holds each test's HOME directory.
var homes = struct {
	sync.Mutex
	m map[testing.TB]string
}{m: map[testing.TB]string{}}

// Home returns the HOME the bosh CLI gets in t: an empty directory made for t, the same one for
// every call in t, removed when t ends. bosh keeps dev builds of jobs and packages in
// ~/.bosh/cache and cannot make the next dev release of a directory without them, so every
// create-release of one release directory must see the same HOME (see RunBoshWithHome).
func Home(t testing.TB) string {
	t.Helper()
	homes.Lock()
	defer homes.Unlock()
	if home, ok := homes.m[t]; ok {
		return home
	}
	home := t.TempDir()
	homes.m[t] = home
	t.Cleanup(func() {
		homes.Lock()
		delete(homes.m, t)
		homes.Unlock()
	})
	return home
}

// RunBosh runs the real bosh CLI in dir with HOME set to Home(t), BOSH_NON_INTERACTIVE=true and
// no other BOSH_* variable (nor GIT_DIR-style overrides, which would point bosh's git calls at
// another repository) from the environment, and returns its stdout. It fails t with
// everything bosh printed when bosh fails.
func RunBosh(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return RunBoshWithHome(t, Home(t), dir, args...)
}

// RunBoshWithHome is RunBosh with a HOME of the caller's choosing, for fixtures built in one test
// and extended in another.
func RunBoshWithHome(t testing.TB, home, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Bosh(t), args...)
	cmd.Dir = dir
	cmd.Env = boshEnv(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bosh %s (in %s): %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func boshEnv(home string) []string {
	env := []string{"HOME=" + home, "BOSH_NON_INTERACTIVE=true"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "HOME", strings.HasPrefix(name, "BOSH_"),
			name == "GIT_DIR", name == "GIT_WORK_TREE", name == "GIT_INDEX_FILE":
			continue
		}
		env = append(env, kv)
	}
	return env
}
