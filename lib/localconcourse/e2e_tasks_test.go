//go:build e2e

package localconcourse

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"gopkg.in/yaml.v3"
)

// e2eStep runs one fly command and fails the test unless it ends as wanted.
type e2eStep func(wantOK bool, args ...string) (string, time.Duration)

// e2eEnvironmentConfig is a provider-free terraform config (no provider can be downloaded here)
// declaring what the environment task passes, with a sensitive key output.
const e2eEnvironmentConfig = `
variable "env_name" { type = string }
variable "region" { type = string }
variable "zone" { type = string }
resource "terraform_data" "net" {
  input = { vpc = "vpc-${var.env_name}", vswitch = "vsw-${var.env_name}" }
}
output "region" { value = var.region }
output "zone" { value = var.zone }
output "vpc_id" { value = terraform_data.net.output.vpc }
output "vswitch_id" { value = terraform_data.net.output.vswitch }
output "internal_cidr" { value = "10.0.0.0/24" }
output "ssh_private_key" {
  value     = "-----BEGIN OPENSSH PRIVATE KEY-----\ne2e\n-----END OPENSSH PRIVATE KEY-----\n"
  sensitive = true
}
`

// flyCloudTasks fly-executes the tasks that need a cloud or a director, their task.yml unchanged,
// on the task image against the emulator with the worker's RAM role (no key anywhere), and the
// director's side on the demo variant of the image (images/task-demo: the bosh director double).
// lightImage is a light stemcell image the pipeline published, which teardown must keep.
func flyCloudTasks(t *testing.T, step e2eStep, root, pack, varsFile, lightImage string) map[string]time.Duration {
	var Expect = NewWithT(t).Expect
	raw, err := os.ReadFile(varsFile)
	Expect(err).NotTo(HaveOccurred())
	var vars struct {
		Registry string `yaml:"registry"`
		Region   string `yaml:"alicloud_region"`
		Bucket   string `yaml:"alicloud_bucket"`
		Endpoint string `yaml:"alicloud_endpoint"`
	}
	Expect(yaml.Unmarshal(raw, &vars)).To(Succeed())
	for k, v := range map[string]string{
		"ALICLOUD_REGION": vars.Region, "ALICLOUD_RAM_ROLE": "ConcourseWorker",
		"ALICLOUD_ECS_ENDPOINT": vars.Endpoint, "ALICLOUD_OSS_ENDPOINT": vars.Endpoint, "ALICLOUD_STS_ENDPOINT": vars.Endpoint,
	} {
		t.Setenv(k, v) // fly execute fills a task's declared params from its environment
	}
	demoImage := fmt.Sprintf("task_image={repository: %s/task-demo, tag: latest, insecure: true}", vars.Registry)
	took := map[string]time.Duration{}
	execute := func(wantOK bool, task string, args ...string) string {
		out, d := step(wantOK, append([]string{"execute", "-c", filepath.Join(root, "tasks", task, "task.yml"), "-l", varsFile,
			"-i", "concourse-pack=" + pack}, args...)...)
		took[task] += d
		return out
	}

	// environment apply: the real terraform with its oss backend on the emulator.
	tf := t.TempDir()
	Expect(os.WriteFile(filepath.Join(tf, "main.tf"), []byte(e2eEnvironmentConfig), 0o644)).To(Succeed())
	t.Setenv("ENV_NAME", "e2e-env")
	t.Setenv("INSTANCE_TYPES", "ecs.g6.large")
	t.Setenv("STATE_BUCKET", vars.Bucket)
	envDir := t.TempDir()
	out := execute(true, "environment", "-i", "terraform="+tf, "-o", "environment="+envDir)
	Expect(out).To(ContainSubstring("Apply complete!"))
	var metadata map[string]string
	raw, err = os.ReadFile(filepath.Join(envDir, "metadata"))
	Expect(err).NotTo(HaveOccurred(), "the environment came back with -o")
	Expect(json.Unmarshal(raw, &metadata)).To(Succeed())
	Expect(metadata).To(HaveKeyWithValue("vpc_id", "vpc-e2e-env"))
	Expect(metadata).To(HaveKeyWithValue("region", vars.Region))
	Expect(metadata["zone"]).To(HavePrefix(vars.Region), "a zone of the region with stock")
	Expect(metadata).NotTo(HaveKey("ssh_private_key"))
	Expect(filepath.Join(envDir, "ssh.key")).To(BeARegularFile())
	Expect(out).NotTo(ContainSubstring("BEGIN OPENSSH PRIVATE KEY"))

	// teardown, on the demo image: the director double holds a deployment, a release, the light
	// stemcell the pipeline published and a heavy one; only the light one stays.
	state := t.TempDir()
	double := map[string]any{
		"deployments": map[string]any{"e2e-test": map[string]any{"releases": []string{"probe/1"}, "stemcells": []string{"bosh-alicloud-kvm-ubuntu-noble/1.484"},
			"disks": []map[string]string{{"disk_cid": "d-e2e-test1", "size": "10 GiB", "deployment": "e2e-test", "instance": "test/0", "az": "z1"}}}},
		"stemcells": []map[string]string{
			{"name": "bosh-alicloud-kvm-ubuntu-noble", "os": "ubuntu-noble", "version": "1.484", "cid": lightImage},
			{"name": "bosh-alicloud-kvm-ubuntu-noble", "os": "ubuntu-noble", "version": "1.483", "cid": "m-gone-heavy"},
		},
		"releases": []map[string]string{{"name": "probe", "version": "1"}},
	}
	body, err := json.Marshal(double)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(state, "double-director.json"), body, 0o644)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(state, "director.env"), []byte("export BOSH_ENVIRONMENT=10.0.0.6\nexport BOSH_CLIENT=admin\n"+
		"export BOSH_CLIENT_SECRET=e2e-client-secret\nexport BOSH_DOUBLE_DIRECTOR_STATE=\"$PWD/director-state/double-director.json\"\n"+
		"export BOSH_DOUBLE_REGION="+vars.Region+"\n"), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(state, "metadata"), []byte(`{"region":"`+vars.Region+`"}`), 0o644)).To(Succeed())
	out = execute(true, "teardown", "-y", demoImage, "-i", "director-state="+state)
	Expect(out).To(ContainSubstring("bosh-double: --json --non-interactive -d e2e-test delete-deployment --force"))
	Expect(out).To(ContainSubstring("delete-disk d-e2e-test1"))
	Expect(out).To(ContainSubstring("delete-stemcell bosh-alicloud-kvm-ubuntu-noble/1.483"))
	Expect(out).NotTo(ContainSubstring("delete-stemcell bosh-alicloud-kvm-ubuntu-noble/1.484"))
	Expect(out).To(ContainSubstring("delete-release probe/1"))
	Expect(out).NotTo(ContainSubstring("clean-up"))
	Expect(out).NotTo(ContainSubstring("e2e-client-secret"))

	// ensure-terminated after the director job destroyed its env: nothing of it is left.
	t.Setenv("DIRECTOR_BUCKET", vars.Bucket)
	t.Setenv("DIRECTOR_PREFIX", "directors/")
	t.Setenv("DIRECTOR_ENV", "e2e")
	out = execute(true, "ensure-terminated", "-i", "environment="+envDir)
	Expect(out).To(ContainSubstring("director env e2e is destroyed"))
	Expect(out).To(ContainSubstring("nothing of director=e2e is left in vpc-e2e-env"))

	// environment destroy, with the zone the state was applied with.
	t.Setenv("ACTION", "destroy")
	out = execute(true, "environment", "-i", "terraform="+tf, "-o", "environment="+t.TempDir())
	Expect(out).To(ContainSubstring("Destroy complete!"))
	t.Setenv("ACTION", "apply")
	return took
}
