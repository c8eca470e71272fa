package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

func testE2ECommand(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect                           = NewWithT(t).Expect
		dir, metadata, stemcell, release string
	)
	it.Before(func() {
		dir = t.TempDir()
		testtools.WriteEnvironment(t, filepath.Join(dir, "environment"), testtools.EnvMetadata(), "unused")
		metadata = filepath.Join(dir, "environment", "metadata")
		stemcell = filepath.Join(dir, "stemcell")
		testtools.WriteLightStemcellDir(t, stemcell, "1.484")
		release = filepath.Join(dir, "release")
		for name, body := range map[string]string{
			"config/final.yml":             "---\nfinal_name: checks\n",
			"jobs/b-check/spec":            "---\nname: b-check\ntemplates: {run.sh: bin/run}\nproperties:\n  ecs_region: {description: r}\n  retries: {description: n, default: 3}\n",
			"jobs/a-check/spec":            "---\nname: a-check\ntemplates: {run.sh: bin/run}\n",
			"jobs/server/spec":             "---\nname: server\ntemplates: {ctl.erb: bin/ctl}\n",
			"jobs/spot-instance-test/spec": "---\nname: spot-instance-test\ntemplates: {run.erb: bin/run}\n",
		} {
			Expect(os.MkdirAll(filepath.Dir(filepath.Join(release, name)), 0o755)).To(Succeed())
			Expect(writeFile(filepath.Join(release, name), body)).To(Succeed())
		}
	})

	it("lists the errand jobs, sorted, not the others", func() {
		stdout, stderr, code := cli("", "e2e", "errands", "--release", release)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(Equal("a-check\nb-check\nspot-instance-test\n"))
		empty := t.TempDir()
		_, stderr, code = cli("", "e2e", "errands", "--release", empty)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("has no errand job (a job whose templates render bin/run)"))
	})

	it("renders the manifest: the release by final_name, known properties only, defaults left to bosh, vm_type per errand", func() {
		stdout, stderr, code := cli("", "e2e", "manifest", "--release", release, "--release-version", "0+dev.3", "--metadata", metadata,
			"--stemcell", stemcell, "--deployment", "e2e-2")
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(HavePrefix("---\nname: e2e-2\n"))
		var m struct {
			Releases       []map[string]string `yaml:"releases"`
			InstanceGroups []struct {
				Name      string `yaml:"name"`
				Lifecycle string `yaml:"lifecycle"`
				VMType    string `yaml:"vm_type"`
				Jobs      []struct {
					Release    string            `yaml:"release"`
					Properties map[string]string `yaml:"properties"`
				} `yaml:"jobs"`
			} `yaml:"instance_groups"`
		}
		Expect(yaml.Unmarshal([]byte(stdout), &m)).To(Succeed())
		Expect(m.Releases).To(Equal([]map[string]string{{"name": "checks", "version": "0+dev.3"}}))
		Expect(m.InstanceGroups).To(HaveLen(3))
		Expect(m.InstanceGroups[0].Name).To(Equal("a-check"))
		Expect(m.InstanceGroups[0].Jobs[0].Properties).To(BeNil())
		Expect(m.InstanceGroups[1].Jobs[0].Properties).To(Equal(map[string]string{"ecs_region": "cn-hangzhou"}))
		Expect(m.InstanceGroups[1].VMType).To(Equal("default"))
		Expect(m.InstanceGroups[2].VMType).To(Equal("spot_instance_pool"))
		for _, g := range m.InstanceGroups {
			Expect(g.Lifecycle).To(Equal("errand"))
			Expect(g.Jobs[0].Release).To(Equal("checks"))
		}
	})

	it("names every property it cannot fill, and the metadata it lacks", func() {
		Expect(writeFile(filepath.Join(release, "jobs/a-check/spec"), "---\nname: a-check\ntemplates: {run.sh: bin/run}\nproperties:\n  api_url: {description: u}\n  user: {}\n")).To(Succeed())
		_, stderr, code := cli("", "e2e", "manifest", "--release", release, "--release-version", "1", "--metadata", metadata, "--stemcell", stemcell)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("job a-check: property api_url has no default"))
		Expect(stderr).To(ContainSubstring("job a-check: property user has no default"))

		meta := testtools.EnvMetadata()
		delete(meta, "zone")
		delete(meta, "dns_recursor_ip")
		testtools.WriteEnvironment(t, filepath.Join(dir, "environment"), meta, "unused")
		_, stderr, code = cli("", "e2e", "cloud-config", "--metadata", metadata)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("lacks zone, dns_recursor_ip"))
		_, stderr, code = cli("", "e2e", "cloud-config", "--metadata", metadata, "--spot-price-limit", "cheap")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("--spot-price-limit: want a positive number"))
	})

	it("writes the errand vars 0600 from ERRAND_*, refusing the provisioning key", func() {
		t.Setenv("ERRAND_ACCESS_KEY_ID", "LTAI-ro")
		t.Setenv("ERRAND_ACCESS_KEY_SECRET", "ro-secret")
		t.Setenv("ERRAND_SECURITY_TOKEN", "")
		t.Setenv("ALICLOUD_ACCESS_KEY_ID", "LTAI-prov")
		out := filepath.Join(dir, "vars.yml")
		_, stderr, code := cli("", "e2e", "errand-vars", "-o", out)
		Expect(code).To(Equal(0), stderr)
		info, err := os.Stat(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		var got map[string]string
		Expect(yaml.Unmarshal(readBytes(t, out), &got)).To(Succeed())
		Expect(got).To(Equal(map[string]string{"errand_access_key_id": "LTAI-ro", "errand_access_key_secret": "ro-secret", "errand_security_token": ""}))

		t.Setenv("ERRAND_ACCESS_KEY_ID", "LTAI-prov")
		_, stderr, code = cli("", "e2e", "errand-vars", "-o", filepath.Join(dir, "other.yml"))
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("ERRAND_ACCESS_KEY_ID is the provisioning key"))
		Expect(filepath.Join(dir, "other.yml")).NotTo(BeAnExistingFile())
	})

	it("reports the steps as JUnit cases with their logs", func() {
		logs := t.TempDir()
		Expect(writeFile(filepath.Join(logs, "deploy.log"), "Succeeded\n")).To(Succeed())
		Expect(writeFile(filepath.Join(logs, "check.log"), "not registered\n")).To(Succeed())
		out := filepath.Join(dir, "junit.xml")
		_, stderr, code := cli("", "e2e", "junit", "--logs", logs, "-o", out, "deploy=0", "check=1", "delete-deployment=0")
		Expect(code).To(Equal(0), stderr)
		xml := string(readBytes(t, out))
		Expect(xml).To(ContainSubstring(`<testsuite name="e2e" tests="3" failures="1"`))
		Expect(xml).To(ContainSubstring("not registered&#xA;&#xA;exit 1"))
		_, stderr, code = cli("", "e2e", "junit", "--logs", logs, "-o", out, "deploy")
		Expect(code).To(Equal(1))
		Expect(strings.TrimSpace(stderr)).To(ContainSubstring(`"deploy": want STEP=EXIT_CODE`))
	})
}
