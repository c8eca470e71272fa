package tasks_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
)

// The tasks run as a worker would run them, through the real `cpi-ci execute`, with the real
// go, bosh and git on PATH.
func TestTasks(t *testing.T) {
	env := newTaskEnv(t)
	suite := spec.New("tasks", spec.Report(report.Terminal{}))
	suite("conventions", testConventions)
	suite("unit-tests", func(t *testing.T, context spec.G, it spec.S) { testUnitTests(t, context, it, env) })
	suite("e2e", func(t *testing.T, context spec.G, it spec.S) { testE2E(t, context, it, env) })
	suite("bats", func(t *testing.T, context spec.G, it spec.S) { testBats(t, context, it, env) })
	suite("build-candidate and promote", func(t *testing.T, context spec.G, it spec.S) { testBuildAndPromote(t, context, it, env) })
	suite("integration", func(t *testing.T, context spec.G, it spec.S) { testIntegration(t, context, it, env) })
	suite("prepare-director", func(t *testing.T, context spec.G, it spec.S) { testPrepareDirector(t, context, it, env) })
	suite("prepare-director, then the director-env resource's create", func(t *testing.T, context spec.G, it spec.S) { testPrepareThenCreate(t, context, it, env) })
	suite("ensure-terminated", func(t *testing.T, context spec.G, it spec.S) { testEnsureTerminated(t, context, it, env) })
	suite("teardown", func(t *testing.T, context spec.G, it spec.S) { testTeardown(t, context, it, env) })
	suite("cleanup", func(t *testing.T, context spec.G, it spec.S) { testCleanup(t, context, it, env) })
	suite("environment", func(t *testing.T, context spec.G, it spec.S) { testEnvironment(t, context, it, env) })
	suite.Run(t)
}

// taskEnv is what every task run needs: cpi-ci and bosh first on PATH, and the pack as the
// concourse-pack input (its tasks/ only, as a git checkout of it would have them).
type taskEnv struct {
	cli, root, pack string
	path            string
	goEnv           []string // the caches of the go command, which would follow HOME otherwise
}

func newTaskEnv(t testing.TB) taskEnv {
	cli := conformance.Compile(t, "../cmd/cpi-ci")
	root, err := testtools.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bosh := testtools.Bosh(t)
	pack := t.TempDir()
	cmd := exec.Command("cp", "-a", filepath.Join(root, "tasks"), pack)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying tasks: %v\n%s", err, out)
	}
	goEnv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	values := strings.Split(strings.TrimSpace(string(goEnv)), "\n")
	return taskEnv{cli: cli, root: root, pack: pack,
		path:  filepath.Dir(cli) + ":" + filepath.Dir(bosh) + ":" + os.Getenv("PATH"),
		goEnv: []string{"GOCACHE=" + values[0], "GOMODCACHE=" + values[1], "GOPATH=" + values[2]}}
}

// result is one `cpi-ci execute`.
type result struct {
	code           int
	stdout, stderr string
}

// execute runs `cpi-ci execute` of task with args (-i, -o, -p), HOME set to home and no BOSH_*
// variable of the developer's.
func (e taskEnv) execute(t testing.TB, home, task string, args ...string) result {
	t.Helper()
	return e.executeWithEnv(t, e.env(home), task, args...)
}

// executeWithEnv is execute with the whole environment given.
func (e taskEnv) executeWithEnv(t testing.TB, env []string, task string, args ...string) result {
	t.Helper()
	argv := append([]string{"execute", "-c", filepath.Join(e.pack, "tasks", task, "task.yml"),
		"-l", filepath.Join(e.pack, "tasks", "vars.example.yml"), "-i", "concourse-pack=" + e.pack}, args...)
	cmd := exec.Command(e.cli, argv...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e taskEnv) env(home string) []string {
	env := append([]string{"HOME=" + home, "PATH=" + e.path}, e.goEnv...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "HOME", name == "PATH", name == "GOCACHE", name == "GOMODCACHE", name == "GOPATH", strings.HasPrefix(name, "BOSH_"), strings.HasPrefix(name, "GIT_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// writeFiles writes files (path → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, name)
		NewWithT(t).Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		NewWithT(t).Expect(os.WriteFile(path, []byte(body), 0o644)).To(Succeed())
	}
}

// run runs a command in dir and returns its stdout, failing t with its output when it fails.
func run(t testing.TB, env []string, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
