package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testHardening drives builds that are killed, overlap, or name a version spelled otherwise.
func testHardening(t *testing.T, when spec.G, it spec.S, binary string) {
	var (
		Expect     = NewWithT(t).Expect
		Eventually = NewWithT(t).Eventually
		cloud      *testtools.Cloud
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t, func(cfg *sim.Config) {
			cfg.ImportDuration = 200 * time.Millisecond
			cfg.CopyDuration = 200 * time.Millisecond
		})
	})
	regions := []string{"cn-hangzhou", "cn-beijing"}
	request := func(heavy string) []byte {
		s := cloud.Source()
		s["stemcell"], s["channel"] = line, "published"
		body, _ := json.Marshal(map[string]any{"source": s, "params": map[string]any{"heavy_stemcell": heavy, "regions": regions}}) // maps of strings and lists always encode
		return body
	}
	start := func(dir, heavy string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(binary, "out", dir)
		cmd.Stdin = bytes.NewReader(request(heavy))
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		Expect(cmd.Start()).To(Succeed())
		t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it has exited
		return cmd, &stderr
	}
	put := func(dir, heavy string) (string, int) {
		cmd, stderr := start(dir, heavy)
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return stderr.String(), exitErr.ExitCode()
		}
		Expect(err).NotTo(HaveOccurred())
		return stderr.String(), 0
	}
	// expireLocks ages the build locks a killed build left, as if it had stopped renewing them
	// long ago: without that the rerun is refused until they expire (3 minutes).
	expireLocks := func() {
		locks := cloud.Keys(t, line+"/locks/")
		Expect(locks).NotTo(BeEmpty(), "the killed build held the version's lock")
		for _, key := range locks {
			expired, _ := json.Marshal(map[string]any{"build_id": "killed", "holder": "a local run",
				"acquired_at": time.Now().Add(-time.Hour), "expires_at": time.Now().Add(-time.Minute)}) // plain values always encode
			cloud.PutObject(t, key, expired)
		}
	}
	// bigRoot is a root.img of two upload parts, so it goes up as a multipart upload.
	bigRoot := bytes.Repeat([]byte("root disk "), 1_800_000)
	rootImages := func() []string {
		var keys []string
		for _, k := range cloud.Keys(t, "") {
			if strings.HasSuffix(k, "root.img") {
				keys = append(keys, k)
			}
		}
		return keys
	}

	it("aborts the root.img upload a build killed while uploading left unfinished, on the rerun", func() {
		dir := t.TempDir()
		_, err := stemcelltest.WriteHeavyFile(dir, line, "1.484", bigRoot)
		Expect(err).NotTo(HaveOccurred())
		slow := cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Nth: 2, Kind: sim.FaultLatency, Latency: 5 * time.Second})
		killed, _ := start(dir, "*.tgz")
		Eventually(func() int { return cloud.Fired(t, slow) }, 30*time.Second, 20*time.Millisecond).Should(Equal(1))
		Expect(cloud.PendingUploads(t, "")).To(HaveLen(1))
		Expect(killed.Process.Kill()).To(Succeed()) // kill -9: no clean-up runs
		_ = killed.Wait()                           // killed: its exit error is the kill
		expireLocks()

		stderr, code := put(dir, "*.tgz")
		Expect(code).To(Equal(0), stderr)
		Expect(cloud.PendingUploads(t, "")).To(BeEmpty(), "no upload is left unfinished")
		Expect(rootImages()).To(BeEmpty())
		Expect(stderr).To(ContainSubstring("aborted the unfinished upload"))
	})

	it("deletes the root.img a build killed while importing left, on the rerun, whatever the heavy's file name", func() {
		dir := t.TempDir()
		heavy, err := stemcelltest.WriteHeavyFile(dir, line, "1.484", bytes.Repeat([]byte("root disk "), 4096))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.Rename(heavy, filepath.Join(dir, "heavy.tgz"))).To(Succeed()) // not bosh.io's name
		killed, _ := start(dir, "heavy.tgz")
		Eventually(func() bool {
			for _, e := range cloud.Sim.Journal() {
				if e.Action == "ImportImage" {
					return true
				}
			}
			return false
		}, 30*time.Second, 20*time.Millisecond).Should(BeTrue())
		Expect(killed.Process.Kill()).To(Succeed())
		_ = killed.Wait() // killed: its exit error is the kill
		Expect(rootImages()).To(HaveLen(1), "the killed build left its root.img")
		expireLocks()

		stderr, code := put(dir, "heavy.tgz")
		Expect(code).To(Equal(0), stderr)
		Expect(rootImages()).To(BeEmpty(), "the rerun uploaded the same key, and deleted it")
	})

	it("builds two versions at once, neither touching the other's upload", func() {
		dirs := []string{t.TempDir(), t.TempDir()}
		for i, v := range []string{"1.484", "1.485"} {
			_, err := stemcelltest.WriteHeavyFile(dirs[i], line, v, bigRoot)
			Expect(err).NotTo(HaveOccurred())
		}
		// Each build's second part is slow, so both uploads are in progress at once.
		cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Count: 2, Kind: sim.FaultLatency, Latency: time.Second})
		a, aErr := start(dirs[0], "*.tgz")
		b, bErr := start(dirs[1], "*.tgz")
		Expect(a.Wait()).To(Succeed(), aErr.String())
		Expect(b.Wait()).To(Succeed(), bErr.String())
		Expect(cloud.Keys(t, line+"/published/")).To(Equal([]string{line + "/published/1.484.json", line + "/published/1.485.json"}))
		Expect(cloud.PendingUploads(t, "")).To(BeEmpty())
		Expect(rootImages()).To(BeEmpty())
	})

	it("refuses a version BOSH orders equal to a published one but spelled otherwise, naming the published spelling", func() {
		first, second := t.TempDir(), t.TempDir()
		_, err := stemcelltest.WriteHeavyFile(first, line, "1.484", bytes.Repeat([]byte("root disk "), 4096))
		Expect(err).NotTo(HaveOccurred())
		_, err = stemcelltest.WriteHeavyFile(second, line, "1.484.0", bytes.Repeat([]byte("other disk "), 4096))
		Expect(err).NotTo(HaveOccurred())
		stderr, code := put(first, "*.tgz")
		Expect(code).To(Equal(0), stderr)
		stderr, code = put(second, "*.tgz")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("stemcell " + line + " version 1.484.0 is already published as 1.484"))
		Expect(cloud.Keys(t, line+"/published/")).To(Equal([]string{line + "/published/1.484.json"}))
	})
}
