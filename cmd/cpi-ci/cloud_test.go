package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

func testCloudCommand(t *testing.T, context spec.G, it spec.S, binary string) {
	var (
		Expect     = NewWithT(t).Expect
		Eventually = NewWithT(t).Eventually
		c          *testtools.Cloud
		bin        string
	)
	it.Before(func() {
		c = testtools.NewCloud(t)
		bin = t.TempDir()
		t.Setenv("NO_COLOR", "1")
	})
	setParams := func(params map[string]string) {
		for k, v := range params {
			t.Setenv(k, v)
		}
	}

	context("exec", func() {
		it("hands a tool the worker's RAM role credentials in its environment, never the credential params, and redacts them", func() {
			setParams(c.RAMRoleTaskParams())
			tool := testtools.NewRecorder(t, bin, "terraform", `echo "signed: https://oss/x?OSSAccessKeyId=$ALICLOUD_ACCESS_KEY&Signature=abc token=$ALICLOUD_SECURITY_TOKEN secret=$ALICLOUD_SECRET_KEY"; exit 4`)
			stdout, stderr, code := cli("", "cloud", "exec", "--", tool.Path, "apply", "-auto-approve")
			Expect(code).To(Equal(4), stderr)
			calls := tool.Calls(t)
			Expect(calls).To(HaveLen(1))
			Expect(calls[0].Argv).To(Equal([]string{"apply", "-auto-approve"}))
			env := calls[0].Env
			Expect(env["ALICLOUD_ACCESS_KEY"]).To(HavePrefix("STS."), "the emulator's RAM role keys")
			Expect(env["ALICLOUD_SECRET_KEY"]).NotTo(BeEmpty())
			Expect(env["ALICLOUD_SECURITY_TOKEN"]).NotTo(BeEmpty())
			Expect(env).To(HaveKeyWithValue("ALICLOUD_REGION", c.Region))
			Expect(env).NotTo(HaveKey("ALICLOUD_RAM_ROLE"))
			for _, secret := range []string{env["ALICLOUD_ACCESS_KEY"], env["ALICLOUD_SECRET_KEY"], env["ALICLOUD_SECURITY_TOKEN"]} {
				Expect(stdout + stderr).NotTo(ContainSubstring(secret))
			}
			Expect(stdout).To(ContainSubstring("Signature=abc"))
		})

		it("passes static keys on under the names a tool reads, and writes and removes a 0600 bosh vars file", func() {
			setParams(c.TaskParams())
			vars := filepath.Join(t.TempDir(), "creds.yml")
			tool := testtools.NewRecorder(t, bin, "bosh", `stat -c %a "$2" && cat "$2" >`+filepath.Join(bin, "seen"))
			stdout, stderr, code := cli("", "cloud", "exec", "--as", "cpi", "--vars-file", vars, "--", tool.Path, "-l", vars)
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal("600\n"))
			env := tool.Calls(t)[0].Env
			Expect(env).To(HaveKeyWithValue("CPI_ACCESS_KEY_ID", c.KeyID))
			Expect(env).To(HaveKeyWithValue("CPI_ACCESS_KEY_SECRET", c.Secret))
			Expect(env).NotTo(HaveKey("CPI_SECURITY_TOKEN"))
			for _, name := range []string{"ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET"} {
				Expect(env).NotTo(HaveKey(name))
			}
			seen, err := os.ReadFile(filepath.Join(bin, "seen"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(seen)).To(ContainSubstring("access_key_secret: " + c.Secret))
			Expect(vars).NotTo(BeAnExistingFile())
		})

		it("names the missing region and the clashing credential params, and runs nothing", func() {
			tool := testtools.NewRecorder(t, bin, "terraform", "")
			_, stderr, code := cli("", "cloud", "exec", "--", tool.Path)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("ALICLOUD_REGION"))
			setParams(c.TaskParams())
			t.Setenv("ALICLOUD_RAM_ROLE", "ConcourseWorker")
			_, stderr, code = cli("", "cloud", "exec", "--", tool.Path)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("use either ALICLOUD_RAM_ROLE or ALICLOUD_ACCESS_KEY_ID/ALICLOUD_ACCESS_KEY_SECRET"))
			Expect(tool.Calls(t)).To(BeEmpty())
		})
	})

	context("zone", func() {
		it("picks the first zone where every type is in stock, and names types and zones when none has them", func() {
			setParams(c.TaskParams())
			zones := c.Sim.Zones()
			var mine []sim.Zone
			for _, z := range zones {
				if z.Region == c.Region {
					mine = append(mine, z)
				}
			}
			Expect(len(mine)).To(BeNumerically(">=", 2))
			Expect(c.Sim.SetStock(mine[0].ID, "ecs.g6.large", false)).To(Succeed())
			stdout, stderr, code := cli("", "cloud", "zone", "--instance-types", "ecs.g6.large,ecs.c6.large")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal(mine[1].ID + "\n"))
			for _, z := range mine {
				Expect(c.Sim.SetStock(z.ID, "ecs.g6.large", false)).To(Succeed())
			}
			_, stderr, code = cli("", "cloud", "zone", "--instance-types", "ecs.g6.large,ecs.c6.large")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("ecs.g6.large"))
			for _, z := range mine {
				Expect(stderr).To(ContainSubstring(z.ID))
			}
		})
	})

	context("lock", func() {
		it("runs the command under the lock, refuses a second run naming the holder, and frees the lock", func() {
			setParams(c.TaskParams())
			started := filepath.Join(bin, "started")
			release := filepath.Join(bin, "release")
			first := exec.Command(binary, "cloud", "lock", "--bucket", c.Bucket, "--key", "terraform/env-1/lock", "--holder", "cpi/bats #7",
				"--", "bash", "-c", "touch "+started+"; for i in $(seq 200); do [ -e "+release+" ] && exit 0; sleep 0.05; done; exit 9")
			var firstOut testtools.SyncBuffer
			first.Stderr = &firstOut
			Expect(first.Start()).To(Succeed())
			var wg sync.WaitGroup
			wg.Add(1)
			var firstErr error
			go func() { defer wg.Done(); firstErr = first.Wait() }()
			Eventually(func() string { _, err := os.Stat(started); return errString(err) }, 10*time.Second, 20*time.Millisecond).Should(BeEmpty())

			_, stderr, code := cli("", "cloud", "lock", "--bucket", c.Bucket, "--key", "terraform/env-1/lock", "--", "true")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("cpi/bats #7"))

			Expect(os.WriteFile(release, nil, 0o644)).To(Succeed())
			wg.Wait()
			Expect(firstErr).NotTo(HaveOccurred(), firstOut.String())
			Expect(c.Keys(t, "terraform/env-1/lock/")).To(BeEmpty())

			_, stderr, code = cli("", "cloud", "lock", "--bucket", c.Bucket, "--key", "terraform/env-1/lock", "--", "bash", "-c", "exit 3")
			Expect(code).To(Equal(3), stderr)
			Expect(c.Keys(t, "terraform/env-1/lock/")).To(BeEmpty())
		})
	})
}

func errString(err error) string {
	if err != nil {
		return err.Error()
	}
	return ""
}
