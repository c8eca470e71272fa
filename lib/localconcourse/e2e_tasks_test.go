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

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/fixtures"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// writeAll writes files (path → content) under dir.
func writeAll(t *testing.T, dir string, files map[string]string) {
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// e2eStep runs one fly command and fails the test unless it ends as wanted.
type e2eStep func(wantOK bool, args ...string) (string, time.Duration)

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
		took[task] += d.Round(100 * time.Millisecond)
		return out
	}

	// environment apply: the real terraform with its oss backend on the emulator.
	tf := t.TempDir()
	key, err := fixtures.NewSSHKey()
	Expect(err).NotTo(HaveOccurred())
	writeAll(t, tf, fixtures.EnvironmentConfig(key))
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
	Expect(os.ReadFile(filepath.Join(envDir, "ssh.key"))).To(Equal([]byte(key)))

	// prepare-director: the real bosh interpolate on a bosh-deployment checkout, RAM-role ops.
	boshDeployment, cpiRelease, light := t.TempDir(), t.TempDir(), t.TempDir()
	writeAll(t, boshDeployment, testtools.BoshDeployment)
	writeAll(t, cpiRelease, map[string]string{"bosh-alicloud-cpi-61.0.1.tgz": "cpi release bytes", "version": "61.0.1"})
	testtools.WriteLightStemcellDir(t, light, "1.484")
	t.Setenv("CREDENTIAL_SOURCE", "ram_role")
	config := t.TempDir()
	execute(true, "prepare-director", "-i", "bosh-deployment="+boshDeployment, "-i", "environment="+envDir,
		"-i", "cpi-release="+cpiRelease, "-i", "stemcell="+light, "-o", "director-config="+config)
	manifest, err := os.ReadFile(filepath.Join(config, "director.yml"))
	Expect(err).NotTo(HaveOccurred(), "the director config came back with -o")
	Expect(string(manifest)).To(ContainSubstring("((access_key_id))"), "credentials stay vars")
	Expect(string(manifest)).To(ContainSubstring("file://"), "the local CPI release and stemcell")
	Expect(string(manifest)).NotTo(ContainSubstring("PRIVATE KEY"))

	// integration: ginkgo built from the fixture CPI's vendor dir (a double that prints its call)
	// with the go of the task image; the raw image goes to the environment's integration bucket.
	heavy := t.TempDir()
	tarball, _ := stemcelltest.HeavyStemcell(t, []byte("raw disk image"))
	Expect(os.WriteFile(filepath.Join(heavy, "stemcell.tgz"), tarball, 0o644)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(heavy, "version"), []byte("1.484"), 0o644)).To(Succeed())
	integrationEnv := t.TempDir()
	meta := map[string]string{}
	for k, v := range metadata {
		meta[k] = v
	}
	meta["integration_bucket"] = vars.Bucket
	raw, err = json.Marshal(meta)
	Expect(err).NotTo(HaveOccurred())
	writeAll(t, integrationEnv, map[string]string{"metadata": string(raw), "name": "e2e-env\n"})
	reports := t.TempDir()
	out = execute(true, "integration", "-i", "bosh-cpi-src="+testtools.IntegrationCPIModule(t), "-i", "stemcell="+heavy,
		"-i", "environment="+integrationEnv, "-o", "test-reports="+reports)
	Expect(out).To(ContainSubstring("ginkgo double: argv: -mod=vendor"))
	Expect(out).To(ContainSubstring("ginkgo double: env: CPI_STEMCELL_OSS_BUCKET=" + vars.Bucket))
	Expect(out).To(ContainSubstring("ginkgo double: env: CPI_VSWITCH_ID=vsw-e2e-env"))
	Expect(filepath.Join(reports, "junit.xml")).To(BeARegularFile())

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
	Expect(out).To(ContainSubstring("bosh-double: --non-interactive -d e2e-test delete-deployment --force"))
	Expect(out).To(ContainSubstring("delete-disk d-e2e-test1"))
	Expect(out).To(ContainSubstring("delete-stemcell bosh-alicloud-kvm-ubuntu-noble/1.483"))
	Expect(out).NotTo(ContainSubstring("delete-stemcell bosh-alicloud-kvm-ubuntu-noble/1.484"))
	Expect(out).To(ContainSubstring("delete-release probe/1"))
	Expect(out).NotTo(ContainSubstring("clean-up"))
	Expect(out).NotTo(ContainSubstring("e2e-client-secret"))

	// bats and e2e on the demo image, against the director double: the spec rendered from the
	// metadata, the test release made by the real bosh and deployed, its errand run.
	Expect(os.WriteFile(filepath.Join(state, "director.yml"), []byte("name: bosh\n"), 0o600)).To(Succeed())
	batsDir := t.TempDir()
	writeAll(t, batsDir, map[string]string{"Gemfile": "source 'https://rubygems.org'\ngem 'rspec'\n", "spec/system/cck_spec.rb": "# BATs\n"})
	reports = t.TempDir()
	out = execute(true, "bats", "-y", demoImage, "-i", "bats="+batsDir, "-i", "stemcell="+light, "-i", "director-state="+state,
		"-i", "environment="+envDir, "-o", "test-reports="+reports)
	Expect(out).To(ContainSubstring("bundle-double: exec rspec spec"))
	Expect(out).To(ContainSubstring("BAT_INFRASTRUCTURE=alicloud"))
	junit, err := os.ReadFile(filepath.Join(reports, "junit.xml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(string(junit)).To(ContainSubstring("the BATs double ran"))

	t.Setenv("ERRAND_ACCESS_KEY_ID", "LTAI-e2e-read-only")
	t.Setenv("ERRAND_ACCESS_KEY_SECRET", "e2e-read-only-secret")
	reports = t.TempDir()
	out = execute(true, "e2e", "-y", demoImage, "-i", "stemcell="+light, "-i", "director-state="+state,
		"-i", "environment="+envDir, "-o", "test-reports="+reports)
	for _, call := range []string{"upload-release", "upload-stemcell", "update-cloud-config", "-d e2e-test deploy", "-d e2e-test run-errand slb-registration-test", "-d e2e-test delete-deployment --force"} {
		Expect(out).To(ContainSubstring("bosh-double: " + call))
	}
	Expect(out).NotTo(ContainSubstring("e2e-read-only-secret"))
	Expect(filepath.Join(reports, "junit.xml")).To(BeARegularFile())

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
