package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// tarballKey is where a fixture tarball is published: its name holds the content's SHA-256.
func tarballKey(t *testing.T, name, v, tarball string) string {
	t.Helper()
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return name + "/tarballs/" + v + "/" + hex.EncodeToString(sum[:]) + ".tgz"
}

// startPut starts out on a copy of tarball without waiting for it, as Concourse runs a step it
// may abort.
func startPut(t *testing.T, binary string, source map[string]any, tarball string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	build := t.TempDir()
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, filepath.Base(tarball)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"source": source, "params": map[string]any{"file": "*.tgz"}}) // maps of strings always encode
	cmd := exec.Command(binary, "out", build)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "BUILD_PIPELINE_NAME=cpi", "BUILD_JOB_NAME=publish", "BUILD_NAME=8", "HOME="+testtools.Home(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it has exited
	return cmd, &stderr
}

func testLostTarball(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect     = NewWithT(t).Expect
		Eventually = NewWithT(t).Eventually
		cloud      *testtools.Cloud
		source     map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})
	fetches := func() {
		t.Helper()
		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		fetched, _ := os.ReadFile(filepath.Join(dest, "release.tgz")) // a missing file fails the assertion below
		original, _ := os.ReadFile(f.tarballs["61.0.0"])              // a missing file fails the assertion below
		Expect(fetched).To(Equal(original))
	}

	it("keeps the tarball a racing put's record points at when the put that uploaded it is aborted", func() {
		// The first put uploads the tarball (PutObject 1), then hangs writing its record (2).
		hang := cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 2, Kind: sim.FaultHang, Latency: 10 * time.Second})
		first, firstErr := startPut(t, binary, source, f.tarballs["61.0.0"])
		Eventually(func() int { return cloud.Fired(t, hang) }, 30*time.Second, 20*time.Millisecond).Should(Equal(1))

		// The second finds the tarball (409) and writes the record.
		second := put(t, binary, source, f.tarballs["61.0.0"])
		Expect(second.code).To(Equal(0), second.stderr)

		// Concourse aborts the first.
		Expect(first.Process.Signal(syscall.SIGTERM)).To(Succeed())
		err := first.Wait()
		Expect(err).To(HaveOccurred(), firstErr.String())
		fetches()
		Expect(firstErr.String()).To(ContainSubstring("keeping cpi/tarballs/61.0.0/"))
	})

	it("uploads the tarball again when it disappears while the put that found it writes its record", func() {
		key := tarballKey(t, "cpi", "61.0.0", f.tarballs["61.0.0"])
		data, _ := os.ReadFile(f.tarballs["61.0.0"]) // read above
		cloud.PutObject(t, key, data)                // left by an earlier put that failed after uploading it
		// The put finds it (PutObject 1: 409), then writes its record slowly (2), while the
		// failed put's clean-up removes the tarball.
		slow := cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 2, Kind: sim.FaultLatency, Latency: 2 * time.Second})
		cmd, stderr := startPut(t, binary, source, f.tarballs["61.0.0"])
		Eventually(func() int { return cloud.Fired(t, slow) }, 30*time.Second, 20*time.Millisecond).Should(Equal(1))
		cloud.DeleteObject(t, key)
		Expect(cmd.Wait()).To(Succeed(), stderr.String())
		fetches()
		Expect(stderr.String()).To(ContainSubstring("is missing: uploading it again"))
	})

	it("verifies the tarball behind an existing record on a rerun, and restores it when lost", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		cloud.DeleteObject(t, tarballKey(t, "cpi", "61.0.0", f.tarballs["61.0.0"]))
		again := put(t, binary, source, f.tarballs["61.0.0"])
		Expect(again.code).To(Equal(0), again.stderr)
		fetches()
		Expect(again.stderr).To(ContainSubstring("is missing: uploading it again"))

		key := tarballKey(t, "cpi", "61.0.0", f.tarballs["61.0.0"])
		cloud.PutObject(t, key, []byte("damaged"))
		again = put(t, binary, source, f.tarballs["61.0.0"])
		Expect(again.code).To(Equal(0), again.stderr)
		fetches()
		Expect(again.stderr).To(ContainSubstring("differs from the published content"))
	})
}

func testSpelling(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		source map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})

	it("refuses a version BOSH orders equal to a published one but spelled otherwise, naming the published spelling", func() {
		Expect(put(t, binary, source, f.tarballs["1.0"]).code).To(Equal(0))
		before := cloud.Keys(t, "")
		for _, v := range []string{"1.0.0", "1.0.0.0"} {
			s := put(t, binary, source, f.tarballs[v])
			Expect(s.code).To(Equal(1), v)
			Expect(s.stderr).To(ContainSubstring("release cpi version " + v + " is already published as 1.0"))
		}
		Expect(cloud.Keys(t, "")).To(Equal(before), "nothing was uploaded")
		checked := run(t, binary, "check", map[string]any{"source": source, "version": map[string]string{"version": "1.0"}}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"version":"1.0"}]`))
	})
}

func testLeftovers(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		source map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})

	it("aborts what a killed put of the same content left unfinished, and never another key's upload", func() {
		own := tarballKey(t, "cpi", "61.0.0", f.tarballs["61.0.0"])
		other := tarballKey(t, "cpi", "62.0.0", f.tarballs["62.0.0"])
		cloud.StartUpload(t, own)
		cloud.StartUpload(t, other) // a put of 62.0.0 still going
		s := put(t, binary, source, f.tarballs["61.0.0"])
		Expect(s.code).To(Equal(0), s.stderr)
		Expect(cloud.PendingUploads(t, "")).To(Equal([]string{other}))
		Expect(s.stderr).To(ContainSubstring("aborted the unfinished upload"))

		cloud.StartUpload(t, own) // killed again after publication: the rerun that says "nothing to do" cleans too
		s = put(t, binary, source, f.tarballs["61.0.0"])
		Expect(s.code).To(Equal(0), s.stderr)
		Expect(cloud.PendingUploads(t, "")).To(Equal([]string{other}))
	})
}
