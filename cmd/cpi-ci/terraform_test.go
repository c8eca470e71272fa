package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

// terraformOutputJSON is what `terraform output -json` prints for a config with nested,
// numeric, boolean, null and sensitive outputs.
const terraformOutputJSON = `{
  "zone": {"sensitive": false, "type": "string", "value": "cn-hangzhou-b"},
  "network": {"sensitive": false, "type": ["object", {}], "value": {"static_ip_1": "10.0.0.29", "ips": ["10.0.0.5", "10.0.0.6"], "dns": {"primary": "100.100.2.136"}}},
  "cidrs": {"sensitive": false, "type": ["list", "string"], "value": ["10.0.0.0/24"]},
  "port": {"sensitive": false, "type": "number", "value": 6868},
  "ratio": {"sensitive": false, "type": "number", "value": 0.25},
  "ready": {"sensitive": false, "type": "bool", "value": false},
  "nothing": {"sensitive": false, "type": "string", "value": null},
  "empty": {"sensitive": false, "type": ["map", "string"], "value": {}},
  "ssh_private_key": {"sensitive": true, "type": "string", "value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE-secret-body\n-----END RSA PRIVATE KEY-----"},
  "db_password": {"sensitive": true, "type": "string", "value": "hunter2-output"}
}`

func testTerraformCommand(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		bin    string
	)
	it.Before(func() {
		bin = t.TempDir()
		t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	})
	// double puts a terraform double on PATH whose `output -json` prints outputs.
	double := func(outputs string) *testtools.Recorder {
		Expect(os.WriteFile(filepath.Join(bin, "outputs.json"), []byte(outputs), 0o644)).To(Succeed())
		return testtools.NewRecorder(t, bin, "terraform", `cat `+filepath.Join(bin, "outputs.json"))
	}

	context("outputs", func() {
		it("flattens every non-sensitive output into string metadata, writes the key 0600, and prints no value", func() {
			tf := double(terraformOutputJSON)
			dir := t.TempDir()
			meta, key := filepath.Join(dir, "metadata"), filepath.Join(dir, "ssh.key")
			stdout, stderr, code := cli("", "terraform", "outputs", "--metadata", meta, "--ssh-key", key, "--ssh-key-output", "ssh_private_key", "--require-ssh-key")
			Expect(code).To(Equal(0), stderr)
			Expect(tf.Argvs(t)).To(Equal([]string{"output -json -no-color"}))
			body, err := os.ReadFile(meta)
			Expect(err).NotTo(HaveOccurred())
			var m map[string]string
			Expect(json.Unmarshal(body, &m)).To(Succeed())
			Expect(m).To(Equal(map[string]string{
				"zone": "cn-hangzhou-b", "network_static_ip_1": "10.0.0.29", "network_ips_0": "10.0.0.5", "network_ips_1": "10.0.0.6",
				"network_dns_primary": "100.100.2.136", "cidrs_0": "10.0.0.0/24", "port": "6868", "ratio": "0.25", "ready": "false", "nothing": "",
			}))
			info, err := os.Stat(key)
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			pem, err := os.ReadFile(key)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(pem)).To(Equal("-----BEGIN RSA PRIVATE KEY-----\nMIIE-secret-body\n-----END RSA PRIVATE KEY-----\n"))
			for _, secret := range []string{"MIIE-secret-body", "hunter2-output"} {
				Expect(stdout + stderr).NotTo(ContainSubstring(secret))
				Expect(string(body)).NotTo(ContainSubstring(secret))
			}
			Expect(stderr).To(ContainSubstring("metadata: 10 keys from 10 outputs (2 sensitive, left out)"))
		})

		it("refuses a key output that is not sensitive, a missing one when required, and colliding keys, writing nothing", func() {
			dir := t.TempDir()
			meta, key := filepath.Join(dir, "metadata"), filepath.Join(dir, "ssh.key")
			double(`{"ssh_private_key": {"sensitive": false, "type": "string", "value": "PLAIN-KEY"}}`)
			_, stderr, code := cli("", "terraform", "outputs", "--metadata", meta, "--ssh-key", key, "--ssh-key-output", "ssh_private_key")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("output ssh_private_key holds the private key but is not sensitive"))
			Expect(stderr).NotTo(ContainSubstring("PLAIN-KEY"))

			double(`{"zone": {"sensitive": false, "type": "string", "value": "z"}}`)
			_, stderr, code = cli("", "terraform", "outputs", "--metadata", meta, "--ssh-key", key, "--ssh-key-output", "private_key", "--require-ssh-key")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("the state has no output private_key for ssh.key (outputs: zone)"))

			double(`{"network": {"sensitive": false, "type": ["object", {}], "value": {"ip": "a"}}, "network_ip": {"sensitive": false, "type": "string", "value": "b"}}`)
			_, stderr, code = cli("", "terraform", "outputs", "--metadata", meta)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("outputs network and network_ip both flatten to the metadata key network_ip"))

			double(`not json {"db_password": "hunter2-output"}`)
			_, stderr, code = cli("", "terraform", "outputs", "--metadata", meta)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("is not an object of outputs"))
			Expect(stderr).NotTo(ContainSubstring("hunter2-output"))

			entries, err := os.ReadDir(dir)
			Expect(err).NotTo(HaveOccurred())
			Expect(entries).To(BeEmpty())
		})
	})

	context("output", func() {
		it("prints a non-sensitive string output, nothing for a missing one, and refuses a sensitive one", func() {
			double(terraformOutputJSON)
			stdout, stderr, code := cli("", "terraform", "output", "zone")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal("cn-hangzhou-b\n"))
			stdout, stderr, code = cli("", "terraform", "output", "region")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(BeEmpty())
			stdout, stderr, code = cli("", "terraform", "output", "db_password")
			Expect(code).To(Equal(1))
			Expect(stdout + stderr).NotTo(ContainSubstring("hunter2-output"))
		})
	})

	context("init", func() {
		it("tries again after a failure, logging it, and passes the arguments on", func() {
			count := filepath.Join(bin, "count")
			tf := testtools.NewRecorder(t, bin, "terraform", `n=$(cat `+count+` 2>/dev/null || echo 0); echo $((n+1)) >`+count+`; [ "$n" -ge 2 ] || { echo "Error: connection reset" >&2; exit 1; }`)
			_, stderr, code := cli("", "terraform", "init", "--delay", "1ms", "--", "-input=false", "-backend-config=bucket=b")
			Expect(code).To(Equal(0), stderr)
			Expect(tf.Argvs(t)).To(Equal([]string{"init -input=false -backend-config=bucket=b", "init -input=false -backend-config=bucket=b", "init -input=false -backend-config=bucket=b"}))
			Expect(stderr).To(ContainSubstring("terraform init failed (exit 1) on try 1 of 4: trying again in"))
			Expect(stderr).To(ContainSubstring("terraform init failed (exit 1) on try 2 of 4"))
		})

		it("gives up after --attempts, and when --max-time has passed, with terraform's exit code", func() {
			tf := testtools.NewRecorder(t, bin, "terraform", `exit 7`)
			_, stderr, code := cli("", "terraform", "init", "--attempts", "2", "--delay", "1ms")
			Expect(code).To(Equal(7))
			Expect(tf.Calls(t)).To(HaveLen(2))
			Expect(stderr).To(ContainSubstring("terraform init failed (exit 7) 2 times: giving up"))

			_, stderr, code = cli("", "terraform", "init", "--attempts", "5", "--max-time", "1s", "--delay", "10s")
			Expect(code).To(Equal(7))
			Expect(tf.Calls(t)).To(HaveLen(3))
			Expect(stderr).To(ContainSubstring("terraform init failed (exit 7) on try 1, and 1s have passed: giving up"))
		})
	})

	context("private-state", func() {
		it("makes the state object private in a public-read bucket, and passes when there is none yet", func() {
			c := testtools.NewCloud(t)
			for k, v := range c.TaskParams() {
				t.Setenv(k, v)
			}
			c.SetBucketACL(t, "public-read")
			c.PutObject(t, "terraform/env-1/terraform.tfstate", []byte(`{"version": 4}`))
			status := func() int {
				response, err := http.Get(c.URL + "/" + c.Bucket + "/terraform/env-1/terraform.tfstate")
				Expect(err).NotTo(HaveOccurred())
				_ = response.Body.Close() // only the status matters
				return response.StatusCode
			}
			Expect(status()).To(Equal(http.StatusOK))
			_, stderr, code := cli("", "terraform", "private-state", "--bucket", c.Bucket, "--key", "terraform/env-1/terraform.tfstate")
			Expect(code).To(Equal(0), stderr)
			Expect(status()).To(Equal(http.StatusForbidden))
			_, stderr, code = cli("", "terraform", "private-state", "--bucket", c.Bucket, "--key", "terraform/env-2/terraform.tfstate")
			Expect(code).To(Equal(0), stderr)
			Expect(c.Keys(t, "terraform/")).To(Equal([]string{"terraform/env-1/terraform.tfstate"}))
		})
	})
}
