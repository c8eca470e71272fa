package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// terraformConfig uses only what terraform has built in (terraform_data, outputs) and its
// oss backend, so init needs no provider download. %[1]s is the emulator's host:port.
const terraformConfig = `terraform {
  backend "oss" {
    bucket       = "tf-state"
    prefix       = "envs/ci"
    key          = "terraform.tfstate"
    region       = "cn-hangzhou"
    endpoint     = "https://%[1]s"
    sts_endpoint = "%[1]s"
    access_key   = "%[2]s"
    secret_key   = "%[3]s"
    assume_role {
      role_arn     = "acs:ram::1234567890123456:role/terraform"
      session_name = "terraform-backend-test"
    }
  }
}

variable "director" {
  type    = string
  default = "bosh-ci"
}

resource "terraform_data" "env" {
  input = { director = var.director, region = "cn-hangzhou" }
}

output "metadata" {
  value = terraform_data.env.output
}
`

// testTerraform drives the real terraform binary's oss state backend against the emulator,
// assuming a role through the TLS listener (terraform's sts_endpoint speaks HTTPS only).
func testTerraform(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("keeps terraform's state in OSS through init, apply, output and destroy, with assume_role over TLS", func() {
		tf, err := exec.LookPath("terraform")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("terraform is not on PATH, and CI=true: the oss backend test must run in CI (%v)", err)
			}
			t.Skipf("SKIPPED: terraform is not on PATH (%v); install terraform 1.11 to run the oss backend test", err)
		}
		e := newEnv(t, func(cfg *sim.Config) { cfg.STSMinDuration = 900 * time.Second })
		Expect(e.srv.CreateBucket(sim.Bucket{Name: "tf-state", Region: homeRegion})).To(Succeed())
		certs, err := sim.NewCertificates([]string{"127.0.0.1"})
		Expect(err).NotTo(HaveOccurred())
		addr := serveOn(t, e.srv, certs)

		dir := t.TempDir()
		work := filepath.Join(dir, "work")
		Expect(os.MkdirAll(work, 0o755)).To(Succeed())
		ca := filepath.Join(dir, "ca.pem")
		Expect(os.WriteFile(ca, certs.CAPEM, 0o644)).To(Succeed())
		cliConfig := filepath.Join(dir, "terraformrc")
		Expect(os.WriteFile(cliConfig, []byte("disable_checkpoint = true\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(work, "main.tf"),
			[]byte(fmt.Sprintf(terraformConfig, addr, keyID, keySecret)), 0o600)).To(Succeed())

		run := func(args ...string) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(contextBackground(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tf, args...)
			cmd.Dir = work
			cmd.Env = []string{
				"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + ca,
				"TF_CLI_CONFIG_FILE=" + cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
				"NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			Expect(err).NotTo(HaveOccurred(), "terraform %s:\n%s\n%s", strings.Join(args, " "), stdout.String(), stderr.String())
			return stdout.String()
		}

		run("init", "-input=false", "-no-color")
		run("apply", "-auto-approve", "-input=false", "-no-color")

		const stateKey = "envs/ci/terraform.tfstate"
		state := e.mustGet(e.ossClient(), "tf-state", stateKey)
		Expect(state).To(ContainSubstring(`"terraform_data"`))

		var outputs map[string]struct {
			Value map[string]string `json:"value"`
		}
		Expect(json.Unmarshal([]byte(run("output", "-json", "-no-color")), &outputs)).To(Succeed())
		Expect(outputs["metadata"].Value).To(Equal(map[string]string{"director": "bosh-ci", "region": "cn-hangzhou"}))

		run("destroy", "-auto-approve", "-input=false", "-no-color")
		state = e.mustGet(e.ossClient(), "tf-state", stateKey)
		Expect(state).NotTo(ContainSubstring(`"terraform_data"`))

		// The backend assumed the role over HTTPS and used the STS credentials for OSS.
		assumed, stsOSS := 0, 0
		for _, en := range e.srv.Journal() {
			switch {
			case en.Service == "sts" && en.Action == "AssumeRole" && en.Status == 200:
				assumed++
			case en.Service == "oss" && en.Bucket == "tf-state" && strings.HasPrefix(en.AccessKeyID, "STS."):
				stsOSS++
			}
			Expect(en.Status).To(BeNumerically("<", 500), "%+v", en)
		}
		t.Logf("terraform: %d AssumeRole calls, %d OSS requests with STS credentials", assumed, stsOSS)
		Expect(assumed).To(BeNumerically(">", 0))
		Expect(stsOSS).To(BeNumerically(">", 0))
	})
}
