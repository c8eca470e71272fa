package tasks_test

import (
	"bytes"
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
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// environmentMetadata is what the environment task writes for a test environment in region,
// whose integration bucket is bucket: DESIGN.md §2's keys and the extras the CPI's suites read.
func environmentMetadata(region, bucket string) map[string]string {
	return map[string]string{
		"region": region, "zone": region + "-i", "vpc_id": "vpc-0001", "vswitch_id": "vsw-0001",
		"security_group_id": "sg-0001", "internal_cidr": "10.0.0.0/24", "internal_gw": "10.0.0.1",
		"internal_ip": "10.0.0.6", "external_ip": "47.0.0.6", "reserved_range": "10.0.0.2-10.0.0.9",
		"static_range": "10.0.0.10-10.0.0.30", "key_pair_name": "bats-1-key", "dns_recursor_ip": "10.0.0.2",
		"bats_eip": "47.0.0.7", "network_static_ip_1": "10.0.0.29", "network_static_ip_2": "10.0.0.30",
		"slb": "lb-0001", "server_group_slb": "rsp-0001", "manual_vswitch_id": "vsw-0002",
		"blobstore_bucket": "bats-blobs", "integration_bucket": bucket, "ram_role": "bosh-director-role",
	}
}

// writeEnvironment writes an environment task's output (metadata, name, ssh.key) into dir.
func writeEnvironment(t testing.TB, dir string, metadata map[string]string) {
	t.Helper()
	testtools.WriteEnvironment(t, dir, metadata, envSSHKey)
	writeFiles(t, dir, map[string]string{"name": "bats-1\n"})
}

const envSSHKey = "-----BEGIN RSA PRIVATE KEY-----\nENVSSHKEYfixture0123456789\n-----END RSA PRIVATE KEY-----\n"

// started is a `cpi-ci execute` running in the background.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	done           chan struct{}
	code           int
}

func (s *started) wait(t testing.TB) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("cpi-ci execute did not finish within 2 minutes")
	}
}

// start is executeWithEnv in the background.
func (e taskEnv) start(t testing.TB, env []string, task string, args ...string) *started {
	t.Helper()
	argv := append([]string{"execute", "-c", filepath.Join(e.pack, "tasks", task, "task.yml"),
		"-l", filepath.Join(e.pack, "tasks", "vars.example.yml"), "-i", "concourse-pack=" + e.pack}, args...)
	s := &started{cmd: exec.Command(e.cli, argv...), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	NewWithT(t).Expect(s.cmd.Start()).To(Succeed())
	go func() {
		defer close(s.done)
		err := s.cmd.Wait()
		if exit, ok := err.(*exec.ExitError); ok {
			s.code = exit.ExitCode()
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill() // a test that failed half way: nothing to report
		<-s.done
	})
	return s
}

func testIntegration(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var (
		Expect                          = NewWithT(t).Expect
		c                               *testtools.Cloud
		src, stemcellDir, envDir, calls string
		reports, home                   string
		root, image                     []byte
	)
	it.Before(func() {
		c = testtools.NewCloud(t)
		src = testtools.IntegrationCPIModule(t)
		root = bytes.Repeat([]byte("raw disk image "), 4096)
		var tarball []byte
		tarball, image = stemcelltest.HeavyStemcell(t, root)
		stemcellDir, envDir, calls, reports, home = t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
		Expect(os.WriteFile(filepath.Join(stemcellDir, "stemcell.tgz"), tarball, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(stemcellDir, "version"), []byte("1.484"), 0o644)).To(Succeed())
		writeEnvironment(t, envDir, environmentMetadata(c.Region, c.Bucket))
	})
	params := func(p map[string]string) []string {
		var out []string
		for k, v := range p {
			out = append(out, "-p", k+"="+v)
		}
		return out
	}
	args := func(extra ...string) []string {
		return append([]string{"-i", "bosh-cpi-src=" + src, "-i", "stemcell=" + stemcellDir, "-i", "environment=" + envDir,
			"-o", "test-reports=" + reports}, extra...)
	}
	doubleEnv := func(vars ...string) []string {
		return append(env.env(home), append([]string{testtools.GinkgoDoubleDir + "=" + calls}, vars...)...)
	}

	it("runs the integration package with the vendored ginkgo, the CPI_* environment of the metadata and the credentials, while the raw image is in the bucket; then deletes it", func() {
		proceed := filepath.Join(t.TempDir(), "proceed")
		run := env.start(t, doubleEnv(testtools.GinkgoDoubleWait+"="+proceed, testtools.GinkgoDoubleSay+"=CPI_ACCESS_KEY_SECRET"),
			"integration", args(params(c.TaskParams())...)...)
		call := testtools.WaitGinkgo(t, calls)

		Expect(call.Dir).To(HaveSuffix("/bosh-cpi-src/src/bosh-alicloud-cpi"))
		Expect(call.Argv).To(HaveLen(8))
		Expect(call.Argv[6]).To(HavePrefix("-reportFile=/"))
		Expect(call.Argv[6]).To(HaveSuffix("/test-reports/junit.xml"))
		call.Argv[6] = "-reportFile=…"
		Expect(call.Argv).To(Equal([]string{"-mod=vendor", "-slowSpecThreshold=500", "-progress", "-randomizeAllSpecs", "-randomizeSuites", "-v", "-reportFile=…", "integration"}))

		cpi := map[string]string{}
		for k, v := range call.Env {
			if strings.HasPrefix(k, "CPI_") || k == "RAM_ROLE_NAME" {
				cpi[k] = v
			}
		}
		object := cpi["CPI_STEMCELL_OSS_OBJECT"]
		Expect(object).To(MatchRegexp(`^root-bats-1-\d{8}t\d{6}-[0-9a-f]{8}\.img$`))
		imageFile := cpi["CPI_STEMCELL_FILE"]
		Expect(imageFile).To(HaveSuffix("/stemcell/image.tgz"))
		Expect(os.ReadFile(imageFile)).To(Equal(image), "the stemcell's image member, as the suite's BeforeSuite uploads it")
		cpi["CPI_STEMCELL_OSS_OBJECT"], cpi["CPI_STEMCELL_FILE"] = "…", "…"
		Expect(cpi).To(Equal(map[string]string{
			"CPI_REGION": c.Region, "CPI_ZONE": c.Region + "-i", "CPI_SECURITY_GROUP_ID": "sg-0001", "CPI_VSWITCH_ID": "vsw-0001",
			"CPI_INTERNAL_CIDR": "10.0.0.0/24", "CPI_INTERNAL_NETMASK": "255.255.255.0", "CPI_INTERNAL_IP": "10.0.0.6",
			"CPI_INTERNAL_GW": "10.0.0.1", "CPI_EXTERNAL_IP": "47.0.0.6", "CPI_STEMCELL_OSS_BUCKET": c.Bucket,
			"CPI_SLB_ID": "lb-0001", "CPI_SLB_SERVER_GROUP_ID": "rsp-0001", "RAM_ROLE_NAME": "bosh-director-role",
			"CPI_STEMCELL_FILE": "…", "CPI_STEMCELL_VERSION": "1.484", "CPI_STEMCELL_OSS_OBJECT": "…",
			"CPI_CREDENTIAL_SOURCE": "static", "CPI_SPOT_INSTANCE_TYPE": "ecs.sn1ne.large", "CPI_SRC_DIR": "src/bosh-alicloud-cpi",
			"CPI_ACCESS_KEY_ID": c.KeyID, "CPI_ACCESS_KEY_SECRET": c.Secret,
		}))
		for _, name := range []string{"ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECURITY_TOKEN", "ALICLOUD_RAM_ROLE", "ALICLOUD_ASSUME_ROLE_ARN"} {
			Expect(call.Env).NotTo(HaveKey(name), "the provisioning params never reach the suite")
		}

		Expect(c.Keys(t, "")).To(Equal([]string{object}), "the raw image is in the integration bucket while the suite runs")
		Expect(c.GetObject(t, object)).To(Equal(root))

		Expect(os.WriteFile(proceed, nil, 0o644)).To(Succeed())
		run.wait(t)
		Expect(run.code).To(Equal(0), run.stderr.String())
		Expect(c.Keys(t, "")).To(BeEmpty(), "the upload is deleted after the suite")
		Expect(readReport(t, filepath.Join(reports, "junit.xml")).Tests).To(Equal(2))
		Expect(run.stdout.String()).To(ContainSubstring("ginkgo double: CPI_ACCESS_KEY_SECRET=((redacted))"))
		Expect(run.stdout.String() + run.stderr.String()).NotTo(ContainSubstring(c.Secret))
	})

	it("fails when the suite fails, still with its report, and deletes the upload", func() {
		r := env.executeWithEnv(t, doubleEnv(testtools.GinkgoDoubleExit+"=1"), "integration", args(params(c.TaskParams())...)...)
		Expect(r.code).To(Equal(1), r.stderr)
		call, ok := testtools.GinkgoCall(t, calls)
		Expect(ok).To(BeTrue())
		Expect(call.Env["CPI_STEMCELL_OSS_OBJECT"]).NotTo(BeEmpty())
		Expect(c.Keys(t, "")).To(BeEmpty())
		Expect(r.stderr).To(ContainSubstring("deleted the raw image oss://" + c.Bucket + "/" + call.Env["CPI_STEMCELL_OSS_OBJECT"]))
		report, err := os.ReadFile(filepath.Join(reports, "junit.xml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(report)).To(ContainSubstring(`<testsuite name="Integration Suite" tests="2" failures="1"`), "the suite's own report")
	})

	it("writes a failed report of its own when the suite leaves none", func() {
		r := env.executeWithEnv(t, doubleEnv(testtools.GinkgoDoubleExit+"=2", testtools.GinkgoDoubleNoReport+"=1"), "integration", args(params(c.TaskParams())...)...)
		Expect(r.code).To(Equal(2), r.stderr)
		rep := readReport(t, filepath.Join(reports, "junit.xml"))
		Expect(rep.Failures).To(Equal(1))
		Expect(c.Keys(t, "")).To(BeEmpty())
	})

	it("deletes the upload when the build is aborted (SIGTERM) while the suite runs", func() {
		run := env.start(t, doubleEnv(testtools.GinkgoDoubleWait+"="+filepath.Join(t.TempDir(), "never")), "integration", args(params(c.TaskParams())...)...)
		call := testtools.WaitGinkgo(t, calls)
		Expect(c.Keys(t, "")).To(Equal([]string{call.Env["CPI_STEMCELL_OSS_OBJECT"]}))
		Expect(run.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		run.wait(t)
		Expect(run.code).NotTo(Equal(0))
		Expect(c.Keys(t, "")).To(BeEmpty(), run.stderr.String())
	})

	it("aborts and removes the upload when the build is aborted (SIGTERM) while root.img is uploading, and never runs the suite", func() {
		big, _ := stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("raw disk image "), 20<<20/15))
		Expect(os.WriteFile(filepath.Join(stemcellDir, "stemcell.tgz"), big, 0o644)).To(Succeed())
		c.Sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Kind: sim.FaultBandwidth, Bandwidth: 512 << 10})
		run := env.start(t, doubleEnv(), "integration", args(params(c.TaskParams())...)...)
		NewWithT(t).Eventually(func() []string { return c.PendingUploads(t, "") }, time.Minute, 50*time.Millisecond).ShouldNot(BeEmpty())
		Expect(run.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		run.wait(t)
		Expect(run.code).NotTo(Equal(0))
		Expect(c.PendingUploads(t, "")).To(BeEmpty(), run.stderr.String())
		Expect(c.Keys(t, "")).To(BeEmpty())
		_, ran := testtools.GinkgoCall(t, calls)
		Expect(ran).To(BeFalse())
	})

	it("hands the CPI the worker's RAM role credentials, or with ecs_ram_role no key and the role's name", func() {
		r := env.executeWithEnv(t, doubleEnv(), "integration", args(params(c.RAMRoleTaskParams())...)...)
		Expect(r.code).To(Equal(0), r.stderr)
		call, _ := testtools.GinkgoCall(t, calls)
		Expect(call.Env["CPI_ACCESS_KEY_ID"]).To(HavePrefix("STS."))
		Expect(call.Env["CPI_SECURITY_TOKEN"]).NotTo(BeEmpty())
		Expect(call.Env).To(HaveKeyWithValue("CPI_CREDENTIAL_SOURCE", "static"))

		p := c.RAMRoleTaskParams()
		p["CPI_CREDENTIAL_SOURCE"] = "ecs_ram_role"
		r = env.executeWithEnv(t, doubleEnv(), "integration", args(params(p)...)...)
		Expect(r.code).To(Equal(0), r.stderr)
		call, _ = testtools.GinkgoCall(t, calls)
		Expect(call.Env).To(HaveKeyWithValue("CPI_CREDENTIAL_SOURCE", "ecs_ram_role"))
		Expect(call.Env).To(HaveKeyWithValue("CPI_RAM_ROLE_NAME", "ConcourseWorker"))
		for _, name := range []string{"CPI_ACCESS_KEY_ID", "CPI_ACCESS_KEY_SECRET", "CPI_SECURITY_TOKEN"} {
			Expect(call.Env).NotTo(HaveKey(name))
		}
		Expect(c.Keys(t, "")).To(BeEmpty())
	})

	it("names what the metadata lacks, and uploads and runs nothing", func() {
		metadata := environmentMetadata(c.Region, c.Bucket)
		delete(metadata, "vswitch_id")
		delete(metadata, "integration_bucket")
		writeEnvironment(t, envDir, metadata)
		r := env.executeWithEnv(t, doubleEnv(), "integration", args(params(c.TaskParams())...)...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("the environment's metadata lacks vswitch_id, integration_bucket"))
		_, ran := testtools.GinkgoCall(t, calls)
		Expect(ran).To(BeFalse())
		Expect(c.Keys(t, "")).To(BeEmpty())
	})

	it("says so when the CPI's vendor directory has no ginkgo CLI and no ginkgo is on PATH", func() {
		vars := doubleEnv()
		for i, kv := range vars {
			if strings.HasPrefix(kv, "PATH=") {
				var dirs []string
				for _, d := range filepath.SplitList(strings.TrimPrefix(kv, "PATH=")) {
					if _, err := os.Stat(filepath.Join(d, "ginkgo")); err != nil {
						dirs = append(dirs, d)
					}
				}
				vars[i] = "PATH=" + strings.Join(dirs, ":")
			}
		}
		r := env.executeWithEnv(t, vars, "integration", "-i", "bosh-cpi-src="+testtools.CPIModule(t), "-i", "stemcell="+stemcellDir,
			"-i", "environment="+envDir, "-p", "ALICLOUD_REGION="+c.Region)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("vendor has no github.com/onsi/ginkgo/ginkgo (the ginkgo v1 CLI) and no ginkgo v1 is on PATH"))
	})

	it("runs the task image's ginkgo v1 when the CPI's vendor directory has no ginkgo CLI (the real CPI's), and refuses a ginkgo v2", func() {
		for _, tc := range []struct {
			version string
			ok      bool
		}{{"Ginkgo Version 1.16.5", true}, {"Ginkgo Version 2.34.0", false}} {
			bin := t.TempDir()
			ginkgo := testtools.NewRecorder(t, bin, "ginkgo", `if [ "${1:-}" = version ]; then echo "`+tc.version+`"; exit 0; fi
for a in "$@"; do case $a in -reportFile=*) r=${a#-reportFile=}; printf '<testsuite name="integration" tests="1" failures="0"><testcase name="creates a VM"/></testsuite>\n' >"$r" ;; esac; done`)
			vars := doubleEnv()
			for i, kv := range vars {
				if strings.HasPrefix(kv, "PATH=") {
					vars[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
				}
			}
			r := env.executeWithEnv(t, vars, "integration", append([]string{"-i", "bosh-cpi-src=" + testtools.CPIModule(t), "-i", "stemcell=" + stemcellDir,
				"-i", "environment=" + envDir, "-o", "test-reports=" + reports}, params(c.TaskParams())...)...)
			if !tc.ok {
				Expect(r.code).To(Equal(1))
				Expect(r.stderr).To(ContainSubstring("no ginkgo v1 is on PATH"))
				Expect(ginkgo.Argvs(t)).To(Equal([]string{"version"}))
				continue
			}
			Expect(r.code).To(Equal(0), r.stderr)
			Expect(r.stderr).To(ContainSubstring("running Ginkgo Version 1.16.5 from the task image"))
			calls := ginkgo.Calls(t)
			Expect(calls).To(HaveLen(2))
			Expect(calls[1].Argv[0]).To(Equal("-mod=vendor"))
			Expect(calls[1].Argv[len(calls[1].Argv)-1]).To(Equal("integration"))
			Expect(calls[1].Env).To(HaveKeyWithValue("ACK_GINKGO_RC", "true"))
			Expect(readReport(t, filepath.Join(reports, "junit.xml")).Tests).To(Equal(1))
			Expect(c.Keys(t, "")).To(BeEmpty(), "the upload is deleted after the suite")
		}
	})
}
