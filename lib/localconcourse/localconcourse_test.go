package localconcourse

import (
	gocontext "context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

var ctx = gocontext.Background()

func testPreflight(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	found := func(string) (string, error) { return "/usr/bin/x", nil }

	it("passes on Linux as root with the tools and the containerd runtime", func() {
		Expect(Preflight(Host{GOOS: "linux", EUID: 0, LookPath: found}, "containerd")).To(Succeed())
	})

	it("refuses houdini, naming why", func() {
		err := Preflight(Host{GOOS: "linux", EUID: 0, LookPath: found}, "houdini")
		Expect(err).To(MatchError(ContainSubstring(`runtime "houdini" refused: only containerd runs here`)))
	})

	it("names everything missing at once: not Linux, not root, no unshare", func() {
		missing := func(name string) (string, error) {
			if name == "unshare" || name == "nsenter" {
				return "", exec.ErrNotFound
			}
			return "/usr/bin/" + name, nil
		}
		err := Preflight(Host{GOOS: "darwin", EUID: 501, LookPath: missing}, "containerd")
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"needs Linux", "this is darwin", "needs root", "needs unshare on PATH", "needs nsenter on PATH"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})
}

func testSupervise(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("refuses to run in the host's mount namespace, before mounting anything", func() {
		mnt, err := os.Readlink("/proc/self/ns/mnt")
		Expect(err).NotTo(HaveOccurred())
		err = Supervise(ctx, Inner{WorkDir: t.TempDir(), HostMountNS: "mnt:[1]," + mnt})
		Expect(err).To(MatchError(ContainSubstring("refusing to run in PID 1's mount namespace")))
	})

	it("refuses when it is not PID 1 of its own PID namespace", func() {
		err := Supervise(ctx, Inner{WorkDir: t.TempDir(), HostMountNS: "mnt:[1]"})
		Expect(err).To(MatchError(ContainSubstring("must be PID 1 of its own PID namespace")))
	})

	it("passes credential variables in one environment variable, refusing commas", func() {
		Expect(credVarsEnv(map[string]string{"b": "2", "a": "1"})).To(Equal([]string{"CONCOURSE_DUMMY_CREDS_VAR=a=1,b=2"}))
		Expect(func() { credVarsEnv(map[string]string{"a": "x,y"}) }).To(Panic())
	})
}

func testWorkDir(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("merges base types from several dirs as links, refusing a type given twice", func() {
		a, b, dst := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "types")
		for _, d := range []string{filepath.Join(a, "bosh-release"), filepath.Join(b, "git"), filepath.Join(b, "not-a-type")} {
			Expect(os.MkdirAll(d, 0o755)).To(Succeed())
		}
		Expect(os.WriteFile(filepath.Join(a, "bosh-release", "resource_metadata.json"), []byte("{}"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(b, "git", "resource_metadata.json"), []byte("{}"), 0o644)).To(Succeed())
		Expect(mergeTypes(dst, []string{a, b})).To(Succeed())
		target, err := os.Readlink(filepath.Join(dst, "git"))
		Expect(err).NotTo(HaveOccurred())
		Expect(target).To(Equal(filepath.Join(b, "git")))
		Expect(Types(filepath.Dir(dst) + "/x")).To(BeEmpty())
		entries, _ := os.ReadDir(dst)
		Expect(entries).To(HaveLen(2))

		Expect(mergeTypes(dst, []string{a, a})).To(MatchError(ContainSubstring("resource type bosh-release is given twice")))
	})

	it("never signals a process that is not its unshare for this work dir", func() {
		Expect(ours(os.Getpid(), "/tmp/x")).To(BeFalse())
		Expect(ours(0, "/tmp/x")).To(BeFalse())
	})

	it("says how to start one when the work dir has none; fly and down refuse", func() {
		dir := t.TempDir()
		_, err := ReadState(dir)
		Expect(err).To(MatchError(ContainSubstring("cpi-ci concourse up starts one")))
		_, err = Fly(ctx, dir, "", "workers")
		Expect(err).To(HaveOccurred())
		Expect(Down(ctx, dir, nil)).To(HaveOccurred())

		Expect(writeState(dir, State{UnsharePID: os.Getpid(), InnerPID: os.Getpid()})).To(Succeed())
		_, err = Fly(ctx, dir, "", "workers")
		Expect(err).To(MatchError(ContainSubstring("is not running")))
		info, err := os.Stat(filepath.Join(dir, "state.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	})
}
