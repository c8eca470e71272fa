package tasks_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
)

func sha1Hex(t testing.TB, path string) string {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

func testPrepareDirector(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var (
		Expect                                        = NewWithT(t).Expect
		boshDeployment, environment, cpi, stemcellDir string
		boshRelease, out                              string
	)
	it.Before(func() {
		boshDeployment, environment, cpi, stemcellDir, boshRelease, out = t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
		writeFiles(t, boshDeployment, testtools.BoshDeployment)
		writeEnvironment(t, environment, environmentMetadata("cn-hangzhou", "cpi-integration"))
		writeFiles(t, cpi, map[string]string{"release.tgz": "cpi release bytes", "version": "61.0.1"})
		writeFiles(t, boshRelease, map[string]string{"bosh.tgz": "bosh release bytes"})
		testtools.WriteStemcell(t, filepath.Join(stemcellDir, "stemcell.tgz"), "1.484", map[string]string{"cn-hangzhou": "m-light0001"})
	})
	inputs := func(extra ...string) []string {
		return append([]string{"-i", "bosh-deployment=" + boshDeployment, "-i", "environment=" + environment, "-i", "cpi-release=" + cpi,
			"-i", "stemcell=" + stemcellDir, "-o", "director-config=" + out}, extra...)
	}
	rendered := func() map[string]any {
		data, err := os.ReadFile(filepath.Join(out, "director.yml"))
		Expect(err).NotTo(HaveOccurred())
		var doc map[string]any
		Expect(yaml.Unmarshal(data, &doc)).To(Succeed())
		return doc
	}
	at := func(v any, path ...any) any {
		for _, p := range path {
			switch p := p.(type) {
			case string:
				m, ok := v.(map[string]any)
				Expect(ok).To(BeTrue(), "a map at %v", p)
				v = m[p]
			case int:
				l, ok := v.([]any)
				Expect(ok).To(BeTrue(), "a list at %v", p)
				v = l[p]
			}
		}
		return v
	}
	release := func(doc map[string]any, name string) any {
		releases, _ := doc["releases"].([]any)
		for _, r := range releases {
			if m, _ := r.(map[string]any); m["name"] == name {
				return r
			}
		}
		return nil
	}

	it("renders director.yml with the real bosh: local CPI release and stemcell, credentials still vars, the SSH key a path; vars.yml holds the metadata values and no secret", func() {
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static", "-p", "USE_RAM_ROLE=false")...)
		Expect(r.code).To(Equal(0), r.stderr)
		doc := rendered()
		Expect(release(doc, "bosh-alicloud-cpi")).To(Equal(map[string]any{"name": "bosh-alicloud-cpi", "url": "file://../cpi-release/release.tgz", "sha1": sha1Hex(t, filepath.Join(cpi, "release.tgz"))}))
		Expect(release(doc, "bosh")).To(HaveKeyWithValue("url", "https://bosh.io/d/github.com/cloudfoundry/bosh?v=282.0.0"), "no bosh-release input: bosh.yml's")
		Expect(at(doc, "resource_pools", 0, "stemcell")).To(Equal(map[string]any{"url": "file://../stemcell/stemcell.tgz", "sha1": sha1Hex(t, filepath.Join(stemcellDir, "stemcell.tgz"))}))
		for _, where := range [][]any{{"cloud_provider", "properties", "alicloud"}, {"instance_groups", 0, "properties", "alicloud"}} {
			alicloud := at(doc, where...)
			Expect(alicloud).To(HaveKeyWithValue("access_key_id", "((access_key_id))"))
			Expect(alicloud).To(HaveKeyWithValue("access_key_secret", "((access_key_secret))"))
			Expect(alicloud).To(HaveKeyWithValue("region", "cn-hangzhou"))
		}
		Expect(at(doc, "cloud_provider", "ssh_tunnel")).To(Equal(map[string]any{"host": "47.0.0.6", "port": 22, "user": "vcap", "private_key": "../environment/ssh.key"}))
		Expect(at(doc, "cloud_provider", "mbus")).To(Equal("https://mbus:((mbus_bootstrap_password))@47.0.0.6:6868"), "the default OPS_FILES: bosh-deployment/external-ip-not-recommended.yml")
		Expect(at(doc, "networks", 0, "subnets", 0, "cloud_properties")).To(Equal(map[string]any{"vswitch_id": "vsw-0001", "security_group_ids": []any{"sg-0001"}}))
		Expect(at(doc, "instance_groups", 0, "properties", "director", "name")).To(Equal("bats-1"))
		Expect(at(doc, "instance_groups", 0, "properties", "director", "user_management", "local", "users", 0, "password")).To(Equal("((admin_password))"))

		varsData, err := os.ReadFile(filepath.Join(out, "vars.yml"))
		Expect(err).NotTo(HaveOccurred())
		var vars map[string]string
		Expect(yaml.Unmarshal(varsData, &vars)).To(Succeed())
		Expect(vars).To(Equal(map[string]string{
			"director_name": "bats-1", "internal_cidr": "10.0.0.0/24", "internal_gw": "10.0.0.1", "internal_ip": "10.0.0.6",
			"external_ip": "47.0.0.6", "vswitch_id": "vsw-0001", "security_group_id": "sg-0001", "zone": "cn-hangzhou-i",
			"region": "cn-hangzhou", "key_pair_name": "bats-1-key", "private_key": "../environment/ssh.key",
			"cpi_release_path": "../cpi-release/release.tgz", "cpi_release_sha1": sha1Hex(t, filepath.Join(cpi, "release.tgz")),
			"stemcell_path": "../stemcell/stemcell.tgz", "stemcell_sha1": sha1Hex(t, filepath.Join(stemcellDir, "stemcell.tgz")),
		}))
		raw, err := os.ReadFile(filepath.Join(out, "director.yml"))
		Expect(err).NotTo(HaveOccurred())
		for _, secret := range []string{"PRIVATE KEY", "ENVSSHKEY"} {
			Expect(string(varsData) + string(raw)).NotTo(ContainSubstring(secret))
		}
	})

	it("with temporary credentials gives the director VM the environment's RAM role, the credentials only to create-env, and uses a given bosh release", func() {
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-i", "bosh-release="+boshRelease, "-p", "CREDENTIAL_SOURCE=sts")...)
		Expect(r.code).To(Equal(0), r.stderr)
		doc := rendered()
		Expect(at(doc, "instance_groups", 0, "properties", "alicloud")).To(Equal(map[string]any{"credential_source": "ecs_ram_role", "availability_zone": "cn-hangzhou-i", "region": "cn-hangzhou"}))
		Expect(at(doc, "resource_pools", 0, "cloud_properties")).To(HaveKeyWithValue("ram_role_name", "bosh-director-role"))
		Expect(at(doc, "cloud_provider", "properties", "alicloud")).To(Equal(map[string]any{"access_key_id": "((access_key_id))", "access_key_secret": "((access_key_secret))",
			"security_token": "((security_token))", "availability_zone": "cn-hangzhou-i", "region": "cn-hangzhou"}))
		Expect(release(doc, "bosh")).To(Equal(map[string]any{"name": "bosh", "url": "file://../bosh-release/bosh.tgz", "sha1": sha1Hex(t, filepath.Join(boshRelease, "bosh.tgz"))}))
	})

	it("refuses temporary credentials without the RAM-role ops, naming USE_RAM_ROLE, and a missing CREDENTIAL_SOURCE; writes nothing", func() {
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=ram_role", "-p", "USE_RAM_ROLE=false")...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("CREDENTIAL_SOURCE=ram_role is temporary credentials, which would expire inside the director's own CPI config: set USE_RAM_ROLE=true"))
		Expect(os.ReadDir(out)).To(BeEmpty())

		r = env.execute(t, t.TempDir(), "prepare-director", inputs()...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring(`CREDENTIAL_SOURCE: expected static, sts, assume_role or ram_role (how the director-env resource authenticates), got ""`))
	})

	it("applies the ops files of OPS_FILES last", func() {
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static",
			"-p", "OPS_FILES=bosh-deployment/external-ip-not-recommended.yml bosh-deployment/director-instance-type.yml")...)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(at(rendered(), "resource_pools", 0, "cloud_properties", "instance_type")).To(Equal("ecs.g6.xlarge"))
	})

	it("refuses a light stemcell when create-env's CPI sets encrypted, naming the setting and the override, which lets it through", func() {
		ops := "OPS_FILES=bosh-deployment/encrypted.yml"
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static", "-p", ops)...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("refusing the light stemcell bosh-alicloud-kvm-ubuntu-noble/1.484"))
		Expect(r.stderr).To(ContainSubstring("/cloud_provider/properties/alicloud/encrypted: true"))
		Expect(r.stderr).To(ContainSubstring("ALLOW_ENCRYPTED_LIGHT_STEMCELL=true"))
		Expect(os.ReadDir(out)).To(BeEmpty())

		r = env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static", "-p", ops, "-p", "ALLOW_ENCRYPTED_LIGHT_STEMCELL=true")...)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(at(rendered(), "cloud_provider", "properties", "alicloud", "encrypted")).To(BeTrue())
	})

	it("names every missing input file, and writes nothing", func() {
		Expect(os.Remove(filepath.Join(boshDeployment, "jumpbox-user.yml"))).To(Succeed())
		Expect(os.Remove(filepath.Join(environment, "ssh.key"))).To(Succeed())
		r := env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static", "-p", "OPS_FILES=bosh-deployment/nowhere.yml")...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("bosh-deployment: no file bosh-deployment/jumpbox-user.yml; environment: no file environment/ssh.key; ops file: no file bosh-deployment/nowhere.yml"))
		Expect(os.ReadDir(out)).To(BeEmpty())

		Expect(os.Remove(filepath.Join(cpi, "release.tgz"))).To(Succeed())
		r = env.execute(t, t.TempDir(), "prepare-director", inputs("-p", "CREDENTIAL_SOURCE=static")...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("the cpi-release input cpi-release holds no *.tgz"))
	})
}

// testPrepareThenCreate feeds prepare-director's output to the director-env resource's create,
// as a pipeline does: the real resource binary, the emulator, the bosh double (the real bosh for
// interpolate), temporary credentials (the worker's RAM role).
func testPrepareThenCreate(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var Expect = NewWithT(t).Expect

	it("renders what the director-env resource's create takes with temporary credentials", func() {
		resource := conformance.Compile(t, "../resources/director-env")
		double := testtools.BoshDouble(t)
		c := testtools.NewCloud(t)
		build := t.TempDir() // the put's build directory: the task's inputs and output by name
		for _, dir := range []string{"bosh-deployment", "environment", "cpi-release", "stemcell", "director-config"} {
			Expect(os.MkdirAll(filepath.Join(build, dir), 0o755)).To(Succeed())
		}
		writeFiles(t, filepath.Join(build, "bosh-deployment"), testtools.BoshDeployment)
		writeEnvironment(t, filepath.Join(build, "environment"), environmentMetadata(c.Region, c.Bucket))
		writeFiles(t, filepath.Join(build, "cpi-release"), map[string]string{"release.tgz": "cpi release bytes"})
		testtools.WriteStemcell(t, filepath.Join(build, "stemcell", "stemcell.tgz"), "1.484", map[string]string{c.Region: "m-light0001"})
		in := func(name string) string { return name + "=" + filepath.Join(build, name) }
		r := env.execute(t, t.TempDir(), "prepare-director", "-i", in("bosh-deployment"), "-i", in("environment"), "-i", in("cpi-release"),
			"-i", in("stemcell"), "-o", in("director-config"), "-p", "CREDENTIAL_SOURCE=ram_role")
		Expect(r.code).To(Equal(0), r.stderr)

		source := map[string]any{"ram_role": "ConcourseWorker", "region": c.Region, "bucket": c.Bucket, "oss_endpoint": c.URL,
			"ecs_endpoint": c.URL, "sts_endpoint": c.URL, "env": "bats-1", "prefix": "directors/", "bosh_cli": double}
		request, err := json.Marshal(map[string]any{"source": source, "params": map[string]any{"action": "create",
			"manifest": "director-config/director.yml", "vars_files": []string{"director-config/vars.yml"}, "metadata_file": "environment/metadata"}})
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.Command(resource, "out", build)
		cmd.Stdin = bytes.NewReader(request)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+t.TempDir(), "ALIBABA_CLOUD_METADATA_URL="+c.URL,
			"BOSH_DOUBLE_REAL="+testtools.Bosh(t), "BOSH_DOUBLE_LOG="+filepath.Join(t.TempDir(), "journal"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), stderr.String())
		Expect(stdout.String()).To(ContainSubstring(`"revision":"1"`))
		revision := string(c.GetObject(t, "directors/bats-1/revisions/0000000001.json"))
		Expect(revision).To(MatchRegexp(`"files/\d+-ssh\.key"`), "the SSH key, taken from environment/ssh.key into the revision")
		Expect(revision).To(MatchRegexp(`"files/\d+-release\.tgz"`))
		Expect(revision).To(MatchRegexp(`"files/\d+-stemcell\.tgz"`))
	})
}
