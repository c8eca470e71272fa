package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
	"gopkg.in/yaml.v3"
)

// The resource is tested as Concourse runs it: the real binary, JSON on stdin, against the
// emulator, with the bosh test double (internal/boshdouble) as bosh_cli.
func TestDirectorEnvResource(t *testing.T) {
	binary := conformance.Compile(t, ".")
	suite := spec.New("director-env resource", spec.Report(report.Terminal{}))
	suite("lifecycle", func(t *testing.T, when spec.G, it spec.S) { testLifecycle(t, when, it, binary) })
	suite("contention and interruption", func(t *testing.T, when spec.G, it spec.S) { testContention(t, when, it, binary) })
	suite("refusals", func(t *testing.T, when spec.G, it spec.S) { testRefusals(t, when, it, binary) })
	suite.Run(t)
}

type step struct {
	stdout, stderr string
	code           int
	response       concourse.Response
}

// harness is one emulator, one build directory holding the fixture, and the double.
type harness struct {
	cloud   *testtools.Cloud
	fixture testtools.DirectorFixture
	double  string
	journal string
	home    string
	source  map[string]any
	env     []string
}

func newHarness(t testing.TB, tweaks ...func(*sim.Config)) *harness {
	h := &harness{cloud: testtools.NewCloud(t, tweaks...), double: testtools.BoshDouble(t)}
	h.fixture = testtools.NewDirectorFixture(t, t.TempDir(), h.cloud.Region)
	h.journal = filepath.Join(t.TempDir(), "journal")
	h.home = t.TempDir()
	h.source = h.cloud.Source()
	h.source["env"] = "bats"
	h.source["prefix"] = "directors/"
	h.source["bosh_cli"] = h.double
	h.env = []string{"BOSH_DOUBLE_REAL=" + testtools.Bosh(t), "BOSH_DOUBLE_LOG=" + h.journal}
	return h
}

func (h *harness) command(t testing.TB, binary, verb string, request any, dir string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	body, _ := json.Marshal(request) // maps of strings, numbers and lists always encode
	args := []string{verb}
	if dir != "" {
		args = append(args, dir)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(append(append(os.Environ(), "NO_COLOR=1", "BUILD_PIPELINE_NAME=cpi", "BUILD_JOB_NAME=bats", "BUILD_NAME=7",
		"HOME="+h.home), h.env...), extraEnv...)
	return cmd
}

func (h *harness) run(t testing.TB, binary, verb string, request any, dir string, extraEnv ...string) step {
	t.Helper()
	cmd := h.command(t, binary, verb, request, dir, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return finish(t, stdout.String(), stderr.String(), err)
}

func finish(t testing.TB, stdout, stderr string, err error) step {
	t.Helper()
	s := step{stdout: stdout, stderr: stderr}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		s.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if s.code == 0 && strings.HasPrefix(strings.TrimSpace(stdout), "{") {
		if err := json.Unmarshal([]byte(stdout), &s.response); err != nil {
			t.Fatalf("stdout is not a response: %v\n%s", err, stdout)
		}
	}
	return s
}

func (h *harness) createParams(extra map[string]any) map[string]any {
	vars := map[string]any{}
	for k, v := range h.fixture.Vars {
		vars[k] = v
	}
	p := map[string]any{"action": "create", "manifest": h.fixture.Manifest, "ops_files": h.fixture.OpsFiles, "vars": vars}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func (h *harness) put(t testing.TB, binary string, params map[string]any, extraEnv ...string) step {
	t.Helper()
	return h.run(t, binary, "out", map[string]any{"source": h.source, "params": params}, h.fixture.Dir, extraEnv...)
}

func (h *harness) get(t testing.TB, binary string, v concourse.Version, dest string) step {
	t.Helper()
	return h.run(t, binary, "in", map[string]any{"source": h.source, "version": v}, dest)
}

// secrets are every secret the env holds once created: none may be printed or put in metadata.
func (h *harness) secrets(t *testing.T, dir string) []string {
	out := []string{h.cloud.Secret, h.cloud.KeyID, h.fixture.JumpboxKey}
	data, err := os.ReadFile(filepath.Join(dir, "creds.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AdminPassword string `yaml:"admin_password"`
		DirectorSSL   struct {
			PrivateKey string `yaml:"private_key"`
		} `yaml:"director_ssl"`
		JumpboxSSH struct {
			PrivateKey string `yaml:"private_key"`
		} `yaml:"jumpbox_ssh"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	out = append(out, c.AdminPassword, c.DirectorSSL.PrivateKey, c.JumpboxSSH.PrivateKey)
	if token, err := os.ReadFile(filepath.Join(dir, "lease")); err == nil {
		out = append(out, string(token))
	}
	return out
}

func expectNoSecrets(t *testing.T, secrets []string, steps ...step) {
	t.Helper()
	for _, s := range steps {
		for _, secret := range secrets {
			for _, line := range strings.Split(strings.TrimSpace(secret), "\n") {
				if strings.HasPrefix(line, "-----") || len(line) < 6 {
					continue
				}
				if strings.Contains(s.stdout, line) || strings.Contains(s.stderr, line) {
					t.Errorf("a secret (%.6s…) was printed:\nstdout: %s\nstderr: %s", line, s.stdout, s.stderr)
				}
			}
		}
	}
}

func testLifecycle(t *testing.T, when spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		h      *harness
	)
	it.Before(func() { h = newHarness(t) })

	it("claims, creates, gets, destroys from a fresh work dir and HOME, and releases", func() {
		Expect(h.run(t, binary, "check", map[string]any{"source": h.source}, "").stdout).To(MatchJSON(`[]`))

		claimed := h.put(t, binary, map[string]any{"action": "claim", "lease_ttl": "2h"})
		Expect(claimed.code).To(Equal(0), claimed.stderr)
		Expect(claimed.response.Version).To(Equal(concourse.Version{"env": "bats", "revision": "1"}))
		claim := filepath.Join(h.fixture.Dir, "claim")
		got := h.get(t, binary, claimed.response.Version, claim)
		Expect(got.code).To(Equal(0), got.stderr)
		Expect(filepath.Join(claim, "lease")).To(BeARegularFile())
		Expect(filepath.Join(claim, "director.env")).NotTo(BeAnExistingFile(), "never created: nothing to target")

		refused := h.put(t, binary, h.createParams(nil))
		Expect(refused.code).To(Equal(1))
		Expect(refused.stderr).To(ContainSubstring("the lease is held by cpi/bats #7"))

		created := h.put(t, binary, h.createParams(map[string]any{"lease": "claim", "metadata_file": "metadata.json"}))
		Expect(created.code).To(Equal(1), "metadata_file is missing")
		Expect(created.stderr).To(ContainSubstring("params.metadata_file"))
		Expect(os.WriteFile(filepath.Join(h.fixture.Dir, "metadata.json"), []byte(`{"internal_ip":"10.0.0.6","external_ip":"47.0.0.6","region":"cn-hangzhou"}`), 0o644)).To(Succeed())
		created = h.put(t, binary, h.createParams(map[string]any{"lease": "claim", "metadata_file": "metadata.json"}))
		Expect(created.code).To(Equal(0), created.stderr)
		Expect(created.response.Version).To(Equal(concourse.Version{"env": "bats", "revision": "2"}))

		checked := h.run(t, binary, "check", map[string]any{"source": h.source, "version": claimed.response.Version}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"env":"bats","revision":"1"},{"env":"bats","revision":"2"}]`))

		dest := t.TempDir()
		fetched := h.get(t, binary, created.response.Version, dest)
		Expect(fetched.code).To(Equal(0), fetched.stderr)
		for _, name := range []string{"director.yml", "director-state.json", "creds.yml", "director.env", "jumpbox.key", "bdr-source-file", "lease"} {
			info, err := os.Stat(filepath.Join(dest, name))
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), name)
		}
		for _, name := range []string{"name", "metadata", "ca.crt"} {
			Expect(filepath.Join(dest, name)).To(BeARegularFile())
		}
		manifest, _ := os.ReadFile(filepath.Join(dest, "director.yml")) // checked just above
		Expect(string(manifest)).To(ContainSubstring("ram_role_name: bosh-director"), "rendered by the real bosh interpolate with the RAM-role ops")
		Expect(string(manifest)).To(ContainSubstring("access_key_secret: ((access_key_secret))"))

		secrets := h.secrets(t, dest)
		for _, s := range []step{claimed, created, fetched} {
			for _, field := range s.response.Metadata {
				for _, secret := range secrets {
					Expect(field.Value).NotTo(ContainSubstring(strings.TrimSpace(secret)), field.Name)
				}
			}
		}
		for _, key := range h.cloud.Keys(t, "directors/bats/") {
			data := h.object(t, key)
			Expect(data).NotTo(ContainSubstring(h.cloud.Secret), key)
		}

		// Destroy as on another worker: a fresh build dir with only the lease get, a fresh HOME.
		h.home = t.TempDir()
		fresh := t.TempDir()
		Expect(os.CopyFS(filepath.Join(fresh, "claim"), os.DirFS(dest))).To(Succeed())
		destroyed := h.run(t, binary, "out", map[string]any{"source": h.source, "params": map[string]any{"action": "destroy", "lease": "claim"}}, fresh)
		Expect(destroyed.code).To(Equal(0), destroyed.stderr)
		Expect(destroyed.response.Version).To(Equal(concourse.Version{"env": "bats", "revision": "3"}))
		journal, _ := os.ReadFile(h.journal) // written by the double's runs above
		Expect(string(journal)).To(MatchRegexp(`delete_vm i-`))
		Expect(strings.Count(string(journal), "compile cpi")).To(Equal(1), "the destroy used the compiled packages kept with the env")

		tomb := t.TempDir()
		implicit := h.get(t, binary, destroyed.response.Version, tomb)
		Expect(implicit.code).To(Equal(0), implicit.stderr)
		Expect(filepath.Join(tomb, "destroyed")).To(BeARegularFile())
		name, _ := os.ReadFile(filepath.Join(tomb, "name")) // asserted right after
		Expect(string(name)).To(Equal("bats"))

		released := h.run(t, binary, "out", map[string]any{"source": h.source, "params": map[string]any{"action": "release", "lease": "claim"}}, fresh)
		Expect(released.code).To(Equal(0), released.stderr)
		again := h.run(t, binary, "out", map[string]any{"source": h.source, "params": map[string]any{"action": "release", "lease": "claim"}}, fresh)
		Expect(again.code).To(Equal(1))
		Expect(again.stderr).To(ContainSubstring("holds no lease"))

		expectNoSecrets(t, secrets, claimed, got, refused, created, fetched, destroyed, implicit, released, again)
	})

	it("writes a director.env that sets the right variables from a copied directory, and a bosh-deployment-resource source", func() {
		Expect(os.WriteFile(filepath.Join(h.fixture.Dir, "metadata.json"), []byte(`{"internal_ip":"10.0.0.6","external_ip":"47.0.0.6"}`), 0o644)).To(Succeed())
		created := h.put(t, binary, h.createParams(map[string]any{"metadata_file": "metadata.json"}))
		Expect(created.code).To(Equal(0), created.stderr)
		for _, address := range []string{"internal", "external"} {
			h.source["address"] = address
			dest := t.TempDir()
			Expect(h.get(t, binary, created.response.Version, dest).code).To(Equal(0))
			copied := filepath.Join(t.TempDir(), "director-state")
			Expect(os.CopyFS(copied, os.DirFS(dest))).To(Succeed())
			out, err := exec.Command("bash", "-c", `cd / && source "$1" && env | grep '^BOSH_' | sort`, "_", filepath.Join(copied, "director.env")).Output()
			Expect(err).NotTo(HaveOccurred())
			vars := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				vars[k] = v
			}
			ip := map[string]string{"internal": "10.0.0.6", "external": "47.0.0.6"}[address]
			Expect(vars["BOSH_ENVIRONMENT"]).To(Equal(ip))
			Expect(vars["BOSH_CLIENT"]).To(Equal("admin"))
			Expect(vars["BOSH_CLIENT_SECRET"]).To(HavePrefix("admin-"))
			Expect(vars).To(HaveKey("BOSH_CA_CERT"))
			Expect(vars["BOSH_GW_HOST"]).To(Equal("47.0.0.6"))
			Expect(vars["BOSH_GW_USER"]).To(Equal("jumpbox"))
			Expect(vars["BOSH_GW_PRIVATE_KEY"]).To(Equal(filepath.Join(copied, "jumpbox.key")))
			Expect(vars["BOSH_ALL_PROXY"]).To(Equal("ssh+socks5://jumpbox@47.0.0.6:22?private-key=" + filepath.Join(copied, "jumpbox.key")))
			ca, _ := os.ReadFile(filepath.Join(copied, "ca.crt")) // compared right after
			Expect(string(ca)).To(HavePrefix("-----BEGIN CERTIFICATE-----"))

			// bosh-deployment-resource decodes its source strictly into these keys.
			var bdr struct {
				Deployment    string `json:"deployment"`
				Target        string `json:"target"`
				Client        string `json:"client"`
				ClientSecret  string `json:"client_secret"`
				CACert        string `json:"ca_cert"`
				JumpboxURL    string `json:"jumpbox_url"`
				JumpboxSSHKey string `json:"jumpbox_ssh_key"`
			}
			data, _ := os.ReadFile(filepath.Join(copied, "bdr-source-file")) // decoded right after
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			Expect(dec.Decode(&bdr)).To(Succeed())
			Expect(bdr.Target).To(Equal("https://" + ip + ":25555"))
			Expect(bdr.JumpboxURL).To(Equal("47.0.0.6:22"))
			Expect(bdr.ClientSecret).To(Equal(vars["BOSH_CLIENT_SECRET"]))
		}
	})

	it("stores the revision when create-env fails, then fails; an implicit get still works", func() {
		failed := h.put(t, binary, h.createParams(nil), "BOSH_DOUBLE_FAIL=1")
		Expect(failed.code).To(Equal(1))
		Expect(failed.stderr).To(ContainSubstring("its state is stored: revision 1"))
		Expect(failed.stderr).NotTo(ContainSubstring(h.cloud.Secret))
		Expect(failed.stderr).To(ContainSubstring(concourse.Redacted), "the double printed the CPI config")
		checked := h.run(t, binary, "check", map[string]any{"source": h.source}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"env":"bats","revision":"1"}]`))
	})

	it("keeps the protocol (conformance kit), printing no secret", func() {
		created := h.put(t, binary, h.createParams(nil))
		Expect(created.code).To(Equal(0), created.stderr)
		dest := t.TempDir()
		Expect(h.get(t, binary, created.response.Version, dest).code).To(Equal(0))
		conformance.Run(t, conformance.Config{
			Binary: binary, Source: h.source, MissingVersion: concourse.Version{"env": "bats", "revision": "99"},
			Secrets: h.secrets(t, dest), Env: h.env,
		})
	})
}

func (h *harness) object(t *testing.T, key string) string {
	t.Helper()
	return string(h.cloud.GetObject(t, key))
}

func testContention(t *testing.T, when spec.G, it spec.S, binary string) {
	var (
		g          = NewWithT(t)
		Expect     = g.Expect
		Eventually = g.Eventually
		h          *harness
	)
	it.Before(func() { h = newHarness(t) })

	it("runs 50 concurrent creates on one env: each runs or fails naming the lock holder; revisions listed equal those emitted, 1..k", func() {
		var mu sync.Mutex
		var emitted []int
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Spread over 2 s, so some creates find the lock free and run one after another.
				time.Sleep(time.Duration(i) * 40 * time.Millisecond)
				s := h.put(t, binary, h.createParams(nil))
				mu.Lock()
				defer mu.Unlock()
				if s.code == 0 {
					n, err := strconv.Atoi(s.response.Version["revision"])
					Expect(err).NotTo(HaveOccurred())
					emitted = append(emitted, n)
					return
				}
				Expect(s.stderr).To(MatchRegexp(`the operation lock is held by cpi/bats #7 \(create\) until`))
			}()
		}
		wg.Wait()
		Expect(emitted).NotTo(BeEmpty())
		sort.Ints(emitted)
		var listed []int
		for _, key := range h.cloud.Keys(t, "directors/bats/revisions/") {
			n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(key), ".json"))
			Expect(err).NotTo(HaveOccurred())
			listed = append(listed, n)
		}
		Expect(listed).To(Equal(emitted))
		for i, n := range listed {
			Expect(n).To(Equal(i + 1))
		}
		t.Logf("%d of 50 creates ran", len(emitted))
	})

	it("stores the revision within 5 s of SIGTERM during create-env", func() {
		cmd := h.command(t, binary, "out", map[string]any{"source": h.source, "params": h.createParams(nil)}, h.fixture.Dir, "BOSH_DOUBLE_SLEEP=60s")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Start()).To(Succeed())
		Eventually(func() string { data, _ := os.ReadFile(h.journal); return string(data) }, 20*time.Second).Should(ContainSubstring("create_stemcell"))
		time.Sleep(200 * time.Millisecond)
		stopped := time.Now()
		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		waitErr := cmd.Wait()
		took := time.Since(stopped)
		s := finish(t, stdout.String(), stderr.String(), waitErr)
		Expect(s.code).NotTo(Equal(0))
		Expect(s.stdout).To(BeEmpty())
		Expect(s.stderr).To(ContainSubstring("stored revision 1 (interrupted)"))
		t.Logf("exited %s after SIGTERM", took)
		Expect(took).To(BeNumerically("<", 5*time.Second))
	})

	it("leaves the previous revision intact when killed during the upload", func() {
		first := h.put(t, binary, h.createParams(nil))
		Expect(first.code).To(Equal(0), first.stderr)
		// PutObject 1 is the lock; the 2nd, the first part after create-env, never answers.
		fault := h.cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 2, Kind: sim.FaultHang, Latency: 5 * time.Second})
		defer h.cloud.Sim.RemoveFault(fault)
		cmd := h.command(t, binary, "out", map[string]any{"source": h.source, "params": h.createParams(nil)}, h.fixture.Dir)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		Expect(cmd.Start()).To(Succeed())
		Eventually(stderr.String, 20*time.Second).Should(ContainSubstring("Finished deploying"))
		time.Sleep(500 * time.Millisecond)
		Expect(cmd.Process.Kill()).To(Succeed())
		_ = cmd.Wait() // killed: its status says so
		checked := h.run(t, binary, "check", map[string]any{"source": h.source}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"env":"bats","revision":"1"}]`))
		got := h.get(t, binary, concourse.Version{"env": "bats", "revision": "1"}, t.TempDir())
		Expect(got.code).To(Equal(0), got.stderr)
	})

	it("gives a pool of 5 to 5 of 20 claimers, and the env of a claim to its create", func() {
		delete(h.source, "env")
		h.source["pool"] = "bats/"
		h.source["envs"] = []string{"bats-1", "bats-2", "bats-3", "bats-4", "bats-5"}
		var mu sync.Mutex
		won := map[string]int{}
		var wg sync.WaitGroup
		start := time.Now()
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := h.put(t, binary, map[string]any{"action": "claim"})
				mu.Lock()
				defer mu.Unlock()
				if s.code == 0 {
					won[s.response.Version["env"]]++
				} else {
					Expect(s.stderr).To(ContainSubstring("no env of the pool is free"))
				}
			}()
		}
		wg.Wait()
		t.Logf("20 claimer processes settled in %s", time.Since(start))
		Expect(won).To(HaveLen(5))
		checked := h.run(t, binary, "check", map[string]any{"source": h.source}, "")
		Expect(checked.code).To(Equal(0), checked.stderr)
		var versions []concourse.Version
		Expect(json.Unmarshal([]byte(checked.stdout), &versions)).To(Succeed())
		Expect(versions).To(HaveLen(1))
		Expect(h.cloud.Keys(t, "directors/bats/bats-1/revisions/")).To(HaveLen(1))

		claim := filepath.Join(h.fixture.Dir, "claim")
		Expect(h.get(t, binary, versions[0], claim).code).To(Equal(0))
		created := h.put(t, binary, h.createParams(map[string]any{"lease": "claim"}))
		Expect(created.code).To(Equal(0), created.stderr)
		Expect(created.response.Version["env"]).To(Equal(versions[0]["env"]))
	})
}

// lockedBuffer is a buffer a child writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testRefusals(t *testing.T, when spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		h      *harness
	)
	it.Before(func() { h = newHarness(t) })

	it("refuses a source with both env and pool, and a bad action, naming the keys", func() {
		h.source["pool"] = "p/"
		s := h.run(t, binary, "check", map[string]any{"source": h.source}, "")
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("pool"))
		delete(h.source, "pool")
		s = h.put(t, binary, map[string]any{"action": "explode"})
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring(`expected create, destroy, claim, release or register, got "explode"`))
		s = h.put(t, binary, map[string]any{"action": "destroy", "manifest": "x.yml"})
		Expect(s.stderr).To(ContainSubstring("goes with action create"))
	})

	it("fails in for a revision that does not exist, and for an env not of the source", func() {
		s := h.get(t, binary, concourse.Version{"env": "bats", "revision": "4"}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("env bats has no revision 4"))
		s = h.get(t, binary, concourse.Version{"env": "other", "revision": "1"}, t.TempDir())
		Expect(s.stderr).To(ContainSubstring(`version env "other" is not an env of this source`))
	})

	it("refuses a destroy of an env that was never created", func() {
		s := h.put(t, binary, map[string]any{"action": "destroy"})
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("env bats has no revision: nothing to destroy"))
	})

	it("never puts a cloud secret in a revision even with STS credentials (and refuses a manifest baking them in)", func() {
		h.source["security_token"] = "sts-token-0123456789"
		s := h.put(t, binary, h.createParams(map[string]any{"ops_files": h.fixture.OpsFiles[:2]}))
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("apply the director RAM-role ops file"))
		Expect(s.stderr).NotTo(ContainSubstring("sts-token-0123456789"))
		Expect(fmt.Sprint(h.cloud.Keys(t, "directors/"))).To(Equal("[]"))
	})
}
