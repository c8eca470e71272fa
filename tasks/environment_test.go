package tasks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

// envConfig is a provider-free terraform config shaped like the pack's own: it declares what the
// task passes, outputs scalars, a map, a list and a number, and two sensitive outputs, the
// private key among them. %[1]s is extra HCL.
const envConfig = `
variable "env_name" { type = string }
variable "region" { type = string }
variable "zone" { type = string }

resource "terraform_data" "net" {
  input = { vpc = "vpc-${var.env_name}", zone = var.zone }
}

output "zone" { value = var.zone }
output "region" { value = var.region }
output "vpc_id" { value = terraform_data.net.output.vpc }
output "network" {
  value = { static_ip_1 = "10.0.0.29", static_ip_2 = "10.0.0.30", ports = [22, 6868] }
}
output "dns_recursors" { value = ["100.100.2.136", "100.100.2.138"] }
output "ready" { value = true }
output "ssh_private_key" {
  value     = "-----BEGIN RSA PRIVATE KEY-----\nMIIE-fake-private-key-body\n-----END RSA PRIVATE KEY-----\n"
  sensitive = true
}
output "db_password" {
  value     = "sensitive-output-hunter2"
  sensitive = true
}
%[1]s
`

const stateKey = "terraform/env-1/terraform.tfstate"

func testEnvironment(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var (
		Expect     = NewWithT(t).Expect
		Eventually = NewWithT(t).Eventually
		c          *testtools.Cloud
		home       string
		tfEnv      []string
		zones      []string
	)
	it.Before(func() {
		c = testtools.NewCloud(t)
		home = t.TempDir()
		rc := filepath.Join(home, "terraformrc")
		Expect(os.WriteFile(rc, []byte("disable_checkpoint = true\n"), 0o644)).To(Succeed())
		Expect(os.MkdirAll(filepath.Join(home, "plugins"), 0o755)).To(Succeed())
		// terraform's config and plugin cache stay in the test's temp dirs.
		tfEnv = append(env.env(home), "TF_CLI_CONFIG_FILE="+rc, "TF_PLUGIN_CACHE_DIR="+filepath.Join(home, "plugins"),
			"NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1", "NO_COLOR=1")
		zones = nil
		for _, z := range c.Sim.Zones() {
			if z.Region == c.Region {
				zones = append(zones, z.ID)
			}
		}
		Expect(len(zones)).To(BeNumerically(">=", 2))
	})

	config := func(extra string) string {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"main.tf": fmt.Sprintf(envConfig, extra)})
		return dir
	}
	// environment runs the task on the emulator with params (cloud params from cloudParams).
	environment := func(cloudParams map[string]string, tfDir, out string, params ...string) result {
		t.Helper()
		args := []string{"-o", "environment=" + out, "-p", "STATE_BUCKET=" + c.Bucket}
		if !slices.ContainsFunc(params, func(p string) bool { return strings.HasPrefix(p, "INIT_ATTEMPTS=") }) {
			args = append(args, "-p", "INIT_ATTEMPTS=1") // a failing init fails at once
		}
		if tfDir != "" {
			args = append(args, "-i", "terraform="+tfDir)
		}
		for k, v := range cloudParams {
			args = append(args, "-p", k+"="+v)
		}
		for _, p := range params {
			args = append(args, "-p", p)
		}
		return env.executeWithEnv(t, tfEnv, "environment", args...)
	}
	readMetadata := func(out string) map[string]string {
		t.Helper()
		body, err := os.ReadFile(filepath.Join(out, "metadata"))
		Expect(err).NotTo(HaveOccurred())
		var m map[string]string
		Expect(json.Unmarshal(body, &m)).To(Succeed())
		return m
	}
	// anonymousStatus is the status of an unsigned GET of key.
	anonymousStatus := func(key string) int {
		t.Helper()
		response, err := http.Get(c.URL + "/" + c.Bucket + "/" + key)
		Expect(err).NotTo(HaveOccurred())
		_ = response.Body.Close() // only the status matters
		return response.StatusCode
	}

	it("applies in the zone with stock, writes metadata, name and a 0600 ssh.key, keeps the state private in OSS, and destroys it with the applied zone", func() {
		Expect(c.Sim.SetStock(zones[0], "ecs.g6.large", false)).To(Succeed())
		c.SetBucketACL(t, "public-read") // the state object must be private on its own
		tf := config("")
		out := t.TempDir()
		r := environment(c.TaskParams(), tf, out, "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large,ecs.c6.large")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)

		Expect(readMetadata(out)).To(Equal(map[string]string{
			"zone": zones[1], "region": c.Region, "vpc_id": "vpc-env-1",
			"network_static_ip_1": "10.0.0.29", "network_static_ip_2": "10.0.0.30",
			"network_ports_0": "22", "network_ports_1": "6868",
			"dns_recursors_0": "100.100.2.136", "dns_recursors_1": "100.100.2.138",
			"ready": "true",
		}))
		name, err := os.ReadFile(filepath.Join(out, "name"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(name)).To(Equal("env-1\n"))
		key := filepath.Join(out, "ssh.key")
		info, err := os.Stat(key)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		body, err := os.ReadFile(key)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(Equal("-----BEGIN RSA PRIVATE KEY-----\nMIIE-fake-private-key-body\n-----END RSA PRIVATE KEY-----\n"))
		for _, secret := range []string{"MIIE-fake-private-key-body", "sensitive-output-hunter2", c.Secret, c.KeyID} {
			Expect(r.stdout + r.stderr).NotTo(ContainSubstring(secret))
		}

		Expect(c.Keys(t, "terraform/")).To(Equal([]string{stateKey}), "the state, and the lock gone")
		Expect(string(c.GetObject(t, stateKey))).To(ContainSubstring(`"terraform_data"`))
		Expect(anonymousStatus(stateKey)).To(Equal(http.StatusForbidden), "the state (with the sensitive outputs) is private")

		// Destroy takes the zone from the state: no zone has stock any more.
		for _, z := range zones {
			Expect(c.Sim.SetStock(z, "ecs.g6.large", false)).To(Succeed())
		}
		gone := t.TempDir()
		r = environment(c.TaskParams(), tf, gone, "ENV_NAME=env-1", "ACTION=destroy")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(r.stdout).To(ContainSubstring("zone " + zones[1] + " from the state"))
		Expect(string(c.GetObject(t, stateKey))).NotTo(ContainSubstring(`"terraform_data"`))
		Expect(readMetadata(gone)).To(BeEmpty())
		Expect(filepath.Join(gone, "ssh.key")).NotTo(BeAnExistingFile())
	})

	it("ships a config that is terraform fmt clean, declares what the task passes, and outputs every metadata key, the key sensitive", func() {
		dir := filepath.Join(env.root, "tasks", "environment", "terraform")
		run(t, tfEnv, dir, "terraform", "fmt", "-check", "-diff", "-recursive")
		files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
		Expect(err).NotTo(HaveOccurred())
		var hcl strings.Builder
		for _, f := range files {
			body, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			hcl.Write(body)
			hcl.WriteString("\n")
		}
		// terraform fmt keeps every top-level block starting at a line's start and ending at "}".
		blocks := map[string]string{}
		for _, m := range regexp.MustCompile(`(?ms)^(variable|output) "([^"]+)" \{\n(.*?)^\}`).FindAllStringSubmatch(hcl.String(), -1) {
			blocks[m[1]+" "+m[2]] = m[3]
		}
		var required []string
		for k, body := range blocks {
			if name, ok := strings.CutPrefix(k, "variable "); ok && !strings.Contains(body, "default") {
				required = append(required, name)
			}
		}
		Expect(required).To(ConsistOf("env_name", "region", "zone"), "the variables the task passes with -var, and no other without a default")
		for _, key := range []string{"region", "zone", "vpc_id", "vswitch_id", "security_group_id", "internal_cidr", "internal_gw",
			"internal_ip", "external_ip", "reserved_range", "static_range", "key_pair_name", "dns_recursor_ip", "bats_eip",
			"network_static_ip_1", "network_static_ip_2", "slb", "blobstore_bucket", "integration_bucket", "ram_role",
			"server_group_slb", "manual_vswitch_id"} {
			body, ok := blocks["output "+key]
			Expect(ok).To(BeTrue(), "output %s", key)
			Expect(body).NotTo(ContainSubstring("sensitive"), "output %s goes into metadata", key)
		}
		Expect(blocks).To(HaveKey("output ssh_private_key"), "the task's default SSH_KEY_OUTPUT")
		Expect(blocks["output ssh_private_key"]).To(MatchRegexp(`sensitive\s*=\s*true`))
		Expect(hcl.String()).NotTo(MatchRegexp(`(?m)^\s*backend\s`), "the task adds the backend")
	})

	it("ships its own config when no terraform input is given", func() {
		// The pack's config needs the alicloud provider, which cannot be downloaded here: init
		// fails, after the task chose it and put the oss backend in (init names the provider).
		r := environment(c.TaskParams(), "", t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stdout).To(ContainSubstring("config concourse-pack/tasks/environment/terraform"))
		Expect(r.stdout + r.stderr).To(ContainSubstring("aliyun/alicloud"))
	})

	it("tries terraform init again after a failure, and logs it", func() {
		// ListObjects is terraform's own call (cpi-ci lists with ListObjectsV2).
		c.Sim.AddFault(sim.Fault{Service: "oss", Action: "ListObjects", Count: 1, Kind: "service-unavailable"})
		r := environment(c.TaskParams(), config(""), t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large", "INIT_ATTEMPTS=3")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("terraform init failed (exit 1) on try 1 of 3: trying again in"))
		Expect(r.stdout).To(ContainSubstring("Apply complete!"))
	})

	it("keeps the state in OSS whatever backend the config declares", func() {
		r := environment(c.TaskParams(), config(`
terraform {
  backend "local" { path = "elsewhere.tfstate" }
}
`), t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(string(c.GetObject(t, stateKey))).To(ContainSubstring(`"terraform_data"`))
	})

	it("fails naming the types and zones when no zone has stock, and never applies", func() {
		for _, z := range zones {
			Expect(c.Sim.SetStock(z, "ecs.g6.large", false)).To(Succeed())
		}
		out := t.TempDir()
		r := environment(c.TaskParams(), config(""), out, "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large,ecs.c6.large")
		Expect(r.code).To(Equal(1), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("ecs.g6.large"))
		for _, z := range zones {
			Expect(r.stderr).To(ContainSubstring(z))
		}
		Expect(r.stdout).NotTo(ContainSubstring("terraform_data"))
		Expect(c.Keys(t, "terraform/")).To(BeEmpty())
		entries, err := os.ReadDir(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())
	})

	it("destroys a failed apply with DELETE_ON_FAILURE=true, and still fails", func() {
		failing := config(`
resource "terraform_data" "broken" {
  depends_on = [terraform_data.net]
  provisioner "local-exec" {
    command = "echo provisioning fails >&2; exit 3"
  }
}
`)
		out := t.TempDir()
		r := environment(c.TaskParams(), failing, out, "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large", "DELETE_ON_FAILURE=true")
		Expect(r.code).To(Equal(1), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("apply failed (what it made is destroyed)"))
		Expect(r.stdout).To(ContainSubstring("Destroy complete!"))
		Expect(string(c.GetObject(t, stateKey))).NotTo(ContainSubstring(`"terraform_data"`))
		entries, err := os.ReadDir(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty(), "nothing half-written")

		r = environment(c.TaskParams(), failing, t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large", "DELETE_ON_FAILURE=false")
		Expect(r.code).To(Equal(1), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("what it made is left"))
		Expect(string(c.GetObject(t, stateKey))).To(ContainSubstring(`"terraform_data"`))
	})

	it("fails a second run on the same state while the first holds the lock, naming the holder", func() {
		gate := t.TempDir()
		started, release := filepath.Join(gate, "started"), filepath.Join(gate, "release")
		slow := config(fmt.Sprintf(`
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "touch %s; for i in $(seq 600); do [ -e %s ] && exit 0; sleep 0.1; done; exit 9"
  }
}
`, started, release))
		var wg sync.WaitGroup
		var first result
		wg.Add(1)
		go func() {
			defer wg.Done()
			first = environment(c.TaskParams(), slow, t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large")
		}()
		Eventually(func() bool { _, err := os.Stat(started); return err == nil }, 90*time.Second, 100*time.Millisecond).Should(BeTrue())

		r := environment(c.TaskParams(), config(""), t.TempDir(), "ENV_NAME=env-1", "ACTION=destroy")
		Expect(os.WriteFile(release, nil, 0o644)).To(Succeed())
		wg.Wait()
		Expect(r.code).To(Equal(1), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("environment apply of env-1 on "))
		Expect(r.stdout).NotTo(ContainSubstring("Destroy complete!"))
		Expect(first.code).To(Equal(0), first.stdout+first.stderr)
		Expect(string(c.GetObject(t, stateKey))).To(ContainSubstring(`"slow"`), "the second run destroyed nothing")
	})

	it("redacts the key id and the secret terraform prints, and hands them over in its environment only", func() {
		bin := t.TempDir()
		tf := testtools.NewRecorder(t, bin, "terraform", `
case "$1" in
output) printf '%s\n' '{"zone":{"sensitive":false,"type":"string","value":"cn-hangzhou-i"},"ssh_private_key":{"sensitive":true,"type":"string","value":"KEY-BODY"}}' ;;
*) echo "Error: GET https://ecs-cn-hangzhou.aliyuncs.com/?AccessKeyId=$ALICLOUD_ACCESS_KEY&Signature=abc%3D failed (secret $ALICLOUD_SECRET_KEY)" >&2 ;;
esac`)
		tfEnv = append(tfEnv, "PATH="+bin+":"+env.path)
		r := environment(c.TaskParams(), config(""), t.TempDir(), "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("AccessKeyId="), "the double's line is in the log")
		Expect(r.stdout + r.stderr).NotTo(ContainSubstring(c.KeyID))
		Expect(r.stdout + r.stderr).NotTo(ContainSubstring(c.Secret))

		calls := tf.Calls(t)
		var argvs []string
		for _, call := range calls {
			Expect(call.Env).To(HaveKeyWithValue("ALICLOUD_ACCESS_KEY", c.KeyID))
			Expect(call.Env).To(HaveKeyWithValue("ALICLOUD_SECRET_KEY", c.Secret))
			Expect(call.Env).NotTo(HaveKey("ALICLOUD_ACCESS_KEY_ID"))
			Expect(call.Env).NotTo(HaveKey("ALICLOUD_ACCESS_KEY_SECRET"))
			for _, arg := range call.Argv {
				Expect(arg).NotTo(ContainSubstring(c.KeyID))
				Expect(arg).NotTo(ContainSubstring(c.Secret))
			}
			argvs = append(argvs, strings.Join(call.Argv, " "))
		}
		Expect(argvs).To(Equal([]string{
			"init -input=false -no-color -reconfigure -backend-config=bucket=" + c.Bucket + " -backend-config=prefix=terraform/env-1" +
				" -backend-config=key=terraform.tfstate -backend-config=region=" + c.Region + " -backend-config=acl=private -backend-config=endpoint=" + c.URL,
			"apply -auto-approve -input=false -no-color -var env_name=env-1 -var region=" + c.Region + " -var zone=" + zones[0],
			"output -json -no-color",
		}))
	})

	it("keeps the state with the worker's RAM role credentials", func() {
		params := c.RAMRoleTaskParams()
		out := t.TempDir()
		r := environment(params, config(""), out, "ENV_NAME=env-1", "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(readMetadata(out)).To(HaveKeyWithValue("zone", zones[0]))
		Expect(string(c.GetObject(t, stateKey))).To(ContainSubstring(`"terraform_data"`))
		var sts int
		for _, e := range c.Sim.Journal() {
			if e.Service == "oss" && e.Bucket == c.Bucket && strings.HasPrefix(e.AccessKeyID, "STS.") {
				sts++
			}
		}
		Expect(sts).To(BeNumerically(">", 0), "the backend used the role's STS keys")
	})

	it("takes the config from TERRAFORM_DIR inside the terraform input (a checkout holding more), and refuses a dir outside it or missing", func() {
		checkout := t.TempDir()
		writeFiles(t, checkout, map[string]string{"README.md": "not terraform\n", "envs/test/main.tf": fmt.Sprintf(envConfig, "")})
		out := t.TempDir()
		r := environment(c.TaskParams(), checkout, out, "ENV_NAME=env-9", "INSTANCE_TYPES=ecs.g6.large", "TERRAFORM_DIR=envs/test/")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(r.stdout + r.stderr).To(ContainSubstring("config terraform/envs/test,"))
		Expect(readMetadata(out)).To(HaveKeyWithValue("vpc_id", "vpc-env-9"))

		r = environment(c.TaskParams(), checkout, t.TempDir(), "ENV_NAME=env-9", "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("no .tf files in terraform"))
		r = environment(c.TaskParams(), checkout, t.TempDir(), "ENV_NAME=env-9", "INSTANCE_TYPES=ecs.g6.large", "TERRAFORM_DIR=../etc")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("expected a directory inside the terraform input"))
		r = environment(c.TaskParams(), checkout, t.TempDir(), "ENV_NAME=env-9", "INSTANCE_TYPES=ecs.g6.large", "TERRAFORM_DIR=envs/prod")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("TERRAFORM_DIR 'envs/prod': no such directory in the terraform input"))
		r = environment(c.TaskParams(), "", t.TempDir(), "ENV_NAME=env-9", "INSTANCE_TYPES=ecs.g6.large", "TERRAFORM_DIR=envs/test")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("the terraform input is not given"))
	})

	it("takes the name from ENV_NAME_FILE, and refuses both or neither before anything runs", func() {
		claim := t.TempDir()
		writeFiles(t, claim, map[string]string{"name": "env-7\n"})
		tf := config("")
		out := t.TempDir()
		args := []string{"-o", "environment=" + out, "-i", "terraform=" + tf, "-i", "director-state=" + claim,
			"-p", "STATE_BUCKET=" + c.Bucket, "-p", "INSTANCE_TYPES=ecs.g6.large", "-p", "ENV_NAME_FILE=director-state/name"}
		for k, v := range c.TaskParams() {
			args = append(args, "-p", k+"="+v)
		}
		r := env.executeWithEnv(t, tfEnv, "environment", args...)
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(readMetadata(out)).To(HaveKeyWithValue("vpc_id", "vpc-env-7"))
		Expect(c.Keys(t, "terraform/")).To(Equal([]string{"terraform/env-7/terraform.tfstate"}))

		r = env.executeWithEnv(t, tfEnv, "environment", append(args, "-p", "ENV_NAME=env-8")...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("set ENV_NAME or ENV_NAME_FILE, not both"))
		r = environment(c.TaskParams(), tf, t.TempDir(), "INSTANCE_TYPES=ecs.g6.large")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("set ENV_NAME (the environment's name) or ENV_NAME_FILE"))
		r = environment(c.TaskParams(), tf, t.TempDir(), "ENV_NAME=env-1", "ACTION=plan")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("ACTION: expected apply or destroy, got 'plan'"))
		Expect(c.Keys(t, "terraform/")).To(Equal([]string{"terraform/env-7/terraform.tfstate"}))
	})
}
