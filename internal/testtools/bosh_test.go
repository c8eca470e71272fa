package testtools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestTesttools(t *testing.T) {
	suite := spec.New("testtools", spec.Report(report.Terminal{}))
	suite("Bosh", testBosh)
	suite("Recorder", testRecorder)
	suite.Run(t)
}

// fatalTB records Fatalf instead of failing the real test.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// expectFatal runs fn with a fatalTB on its own goroutine (Fatalf ends it) and returns the message.
func expectFatal(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.fatal
}

func testBosh(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("finds the module root from a package directory", func() {
		root, err := ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
		Expect(filepath.Join(root, "go.mod")).To(BeARegularFile())
		Expect(filepath.Join(root, "tools", "bosh", "go.mod")).To(BeARegularFile())
		wd, err := os.Getwd()
		Expect(err).NotTo(HaveOccurred())
		Expect(wd).To(HavePrefix(root))
	})

	it("returns a bosh CLI of the pinned version", func() {
		out, err := exec.Command(Bosh(t), "--version").Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("version " + boshVersion))
	})

	it("builds the pinned bosh CLI from tools/bosh with the Makefile's flags", func() {
		root, err := ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
		path, err := buildBosh(root)
		Expect(err).NotTo(HaveOccurred())
		defer func() { Expect(os.RemoveAll(filepath.Dir(path))).To(Succeed()) }()
		out, err := exec.Command(path, "--version").Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("version " + boshVersion))
	})

	it("runs bosh with its own HOME, shared within a test", func() {
		dir := filepath.Join(t.TempDir(), "probe-release")
		RunBosh(t, filepath.Dir(dir), "init-release", "--dir", dir)
		RunBosh(t, dir, "generate-job", "probe")
		out := RunBosh(t, dir, "create-release", "--force")
		Expect(out).To(ContainSubstring("probe"))
		cached, err := os.ReadDir(filepath.Join(Home(t), ".bosh", "cache"))
		Expect(err).NotTo(HaveOccurred(), "bosh keeps dev builds in $HOME/.bosh/cache")
		Expect(cached).NotTo(BeEmpty())
		Expect(Home(t)).To(Equal(Home(t)))
	})

	it("keeps the caller's BOSH_* and GIT_DIR variables from bosh", func() {
		t.Setenv("BOSH_ENVIRONMENT", "https://192.0.2.1:25555")
		t.Setenv("GIT_DIR", "/nonexistent")
		env := strings.Join(boshEnv("/h"), "\n")
		Expect(env).NotTo(ContainSubstring("BOSH_ENVIRONMENT"))
		Expect(env).NotTo(ContainSubstring("GIT_DIR"))
		Expect(env).To(ContainSubstring("HOME=/h\nBOSH_NON_INTERACTIVE=true"))
		Expect(env).To(ContainSubstring("PATH="))
	})

	it("fails the test with bosh's output when bosh fails", func() {
		msg := expectFatal(t, func(tb testing.TB) { RunBosh(tb, t.TempDir(), "create-release") })
		Expect(msg).To(ContainSubstring("bosh create-release (in "))
		Expect(msg).To(ContainSubstring("exit status 1"))
		Expect(msg).To(ContainSubstring("final.yml"), "bosh says why")
	})
}
