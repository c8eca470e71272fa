package tasks_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
)

// The two credential sets an e2e run sees: the provisioning one (the cloud params every cloud
// task takes, and the names tools read) must never reach the deployment; the errands get the
// read-only one.
const (
	provisioningKeyID  = "LTAI-provisioning-key"
	provisioningSecret = "provisioning-secret-Hn4sV9"
	provisioningToken  = "provisioning-sts-token-Lq2"
	readOnlyKeyID      = "LTAI-read-only-key"
	readOnlySecret     = "read-only-secret-Tb8pW1"
	readOnlyToken      = "read-only-sts-token-Zc5"
)

// cpiE2ERelease is a fixture shaped like the CPI's ci/assets/e2e-test-release: errand jobs
// slb-registration-test and spot-instance-test, the non-errand nvme-upgrade-test, packages
// aliyuncli and jq whose blobs come from the jq-blob and aliyun-cli inputs, and a blobs.yml with
// a stale entry, as the real one has.
var cpiE2ERelease = map[string]string{
	"config/final.yml": "---\nname: e2e-test\nblobstore:\n  provider: local\n  options:\n    blobstore_path: ./blobs\n",
	"config/blobs.yml": "jq/jq-linux64:\n  size: 3027945\n  sha: d8e36831c3c94bb58be34dd544f44a6c6cb88568\npip/pip-1.3.1.tar.gz:\n  size: 247594\n  sha: 9c70d314e5dea6f41415af814056b0f63c3ffd14\n",
	"jobs/slb-registration-test/spec": "---\nname: slb-registration-test\ntemplates: {run.erb: bin/run}\npackages: [jq, aliyuncli]\n" +
		"properties:\n  load_balancer_id: {description: lb}\n  ecs_region: {description: region}\n  access_key: {description: id}\n  secret_key: {description: secret}\n  security_token: {description: token}\n",
	"jobs/slb-registration-test/monit":             "",
	"jobs/slb-registration-test/templates/run.erb": "#!/usr/bin/env bash\necho slb\n",
	"jobs/spot-instance-test/spec": "---\nname: spot-instance-test\npackages: [jq, aliyuncli]\ntemplates: {run.erb: bin/run}\n" +
		"properties:\n  ecs_region: {description: region}\n  access_key: {description: id}\n  secret_key: {description: secret}\n  security_token: {description: token}\n",
	"jobs/spot-instance-test/monit":             "",
	"jobs/spot-instance-test/templates/run.erb": "#!/usr/bin/env bash\necho spot\n",
	"jobs/nvme-upgrade-test/spec":               "---\nname: nvme-upgrade-test\ntemplates: {ctl.erb: bin/ctl}\n",
	"jobs/nvme-upgrade-test/monit":              "check process nvme-upgrade-test\n",
	"jobs/nvme-upgrade-test/templates/ctl.erb":  "#!/usr/bin/env bash\n",
	"packages/aliyuncli/spec":                   "---\nname: aliyuncli\nfiles:\n- aliyuncli/aliyun-cli-linux-amd64.tgz\n",
	"packages/aliyuncli/packaging":              "tar xzf aliyuncli/aliyun-cli-linux-amd64.tgz -C ${BOSH_INSTALL_TARGET}\n",
	"packages/jq/spec":                          "---\nname: jq\ndependencies: []\nfiles:\n- jq/jq-linux64\n",
	"packages/jq/packaging":                     "cp jq/jq-linux64 ${BOSH_INSTALL_TARGET}/jq\n",
	"src/.gitkeep":                              "",
}

// e2eRun is one e2e task run's fixture: its inputs, the bosh double and what it captured.
type e2eRun struct {
	inputs, reports, captured string
	bosh                      *testtools.Recorder
	env                       []string
	params                    map[string]string // the credential params execute passes
}

func newE2ERun(t testing.TB, env taskEnv) e2eRun {
	base := t.TempDir()
	r := e2eRun{inputs: base, reports: filepath.Join(base, "test-reports"), captured: filepath.Join(base, "captured"),
		params: map[string]string{
			"ALICLOUD_REGION": "cn-hangzhou", "ALICLOUD_ACCESS_KEY_ID": provisioningKeyID,
			"ALICLOUD_ACCESS_KEY_SECRET": provisioningSecret, "ALICLOUD_SECURITY_TOKEN": provisioningToken,
			"ALIBABA_CLOUD_ACCESS_KEY_SECRET": provisioningSecret,
			"ERRAND_ACCESS_KEY_ID":            readOnlyKeyID, "ERRAND_ACCESS_KEY_SECRET": readOnlySecret, "ERRAND_SECURITY_TOKEN": readOnlyToken,
		}}
	for _, d := range []string{r.reports, r.captured} {
		NewWithT(t).Expect(os.MkdirAll(d, 0o755)).To(Succeed())
	}
	testtools.WriteLightStemcellDir(t, filepath.Join(base, "stemcell"), "1.484")
	directorState(t, filepath.Join(base, "director-state"), "name: bosh\n")
	testtools.WriteEnvironment(t, filepath.Join(base, "environment"), testtools.EnvMetadata(), "unused\n")
	// The real bosh makes the release; the director's side is recorded, and every file it is
	// handed is kept (mode too) in captured/<call>-<name>. deploy prints the vars file, as a
	// verbose director would, to show it is redacted; run-errand fails for the errands listed
	// in fail-errands, deploy when fail-deploy exists.
	r.bosh = testtools.NewRecorder(t, filepath.Join(base, "bin"), "bosh", `
case "$1" in
  create-release|add-blob|interpolate) exec `+shellQuote(testtools.Bosh(t))+` "$@" ;;
esac
captured=`+shellQuote(r.captured)+`
n=$(find "$captured" -mindepth 1 -maxdepth 1 -name 'call-*' | wc -l)
mkdir "$captured/call-$n"
for a in "$@"; do
  if [ -f "$a" ]; then cp -p "$a" "$captured/call-$n/$(basename "$a")"; fi
done
case " $* " in
  *" deploy "*)
    cat "${@: -1}"
    if [ -e `+shellQuote(filepath.Join(base, "fail-deploy"))+` ]; then echo "deploy failed" >&2; exit 1; fi ;;
  *" run-errand "*)
    if grep -qx -- "${@: -1}" `+shellQuote(filepath.Join(base, "fail-errands"))+` 2>/dev/null; then echo "errand ${@: -1} failed" >&2; exit 1; fi ;;
esac
`)
	r.env = env.env(t.TempDir())
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			r.env[i] = "PATH=" + filepath.Join(base, "bin") + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	return r
}

// execute runs the task with both credential sets, as a pipeline sharing one params block would.
func (r e2eRun) execute(t testing.TB, env taskEnv, args ...string) result {
	in := func(name string) string { return name + "=" + filepath.Join(r.inputs, name) }
	argv := []string{"-i", in("stemcell"), "-i", in("director-state"), "-i", in("environment"), "-o", "test-reports=" + r.reports}
	for k, v := range r.params {
		argv = append(argv, "-p", k+"="+v)
	}
	return env.executeWithEnv(t, r.env, "e2e", append(argv, args...)...)
}

// capturedFile is the file named name that the bosh call matching argv got.
func (r e2eRun) capturedFile(t testing.TB, argvPrefix, name string) string {
	t.Helper()
	n := 0
	for _, c := range r.bosh.Calls(t) {
		switch c.Argv[0] {
		case "create-release", "add-blob", "interpolate":
			continue
		}
		if strings.HasPrefix(strings.Join(c.Argv, " "), argvPrefix) {
			return filepath.Join(r.captured, "call-"+strconv.Itoa(n), name)
		}
		n++
	}
	t.Fatalf("no bosh call %q", argvPrefix)
	return ""
}

// directorCalls are the recorded calls but those delegated to the real bosh.
func (r e2eRun) directorCalls(t testing.TB) []string {
	var out []string
	for _, argv := range r.bosh.Argvs(t) {
		if !regexp.MustCompile(`^(create-release|add-blob|interpolate) `).MatchString(argv) {
			out = append(out, argv)
		}
	}
	return out
}

func matchEach(t testing.TB, got []string, patterns ...string) {
	t.Helper()
	NewWithT(t).Expect(got).To(HaveLen(len(patterns)), strings.Join(got, "\n"))
	for i, p := range patterns {
		NewWithT(t).Expect(got[i]).To(MatchRegexp("^"+p+"$"), "call %d", i)
	}
}

func testE2E(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var Expect = NewWithT(t).Expect

	// noProvisioningCredentials searches every recorded argv, environment and captured file.
	noProvisioningCredentials := func(r e2eRun) {
		for _, c := range r.bosh.Calls(t) {
			for _, secret := range []string{provisioningKeyID, provisioningSecret, provisioningToken} {
				Expect(strings.Join(c.Argv, " ")).NotTo(ContainSubstring(secret))
				for k, v := range c.Env {
					Expect(v).NotTo(ContainSubstring(secret), k)
				}
			}
			for k := range c.Env {
				Expect(k).NotTo(HavePrefix("ALICLOUD_"), strings.Join(c.Argv, " "))
				Expect(k).NotTo(HavePrefix("ALIBABA_CLOUD_"), strings.Join(c.Argv, " "))
			}
			Expect(strings.Join(c.Argv, " ")).NotTo(ContainSubstring(readOnlySecret))
		}
		Expect(filepath.Walk(r.captured, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || strings.HasSuffix(path, ".tgz") {
				return err
			}
			body := string(readFile(t, path))
			for _, secret := range []string{provisioningKeyID, provisioningSecret, provisioningToken} {
				Expect(body).NotTo(ContainSubstring(secret), path)
			}
			return nil
		})).To(Succeed())
	}

	it("creates and uploads the pack's release, uploads the stemcell, updates the cloud-config, deploys, runs the errand and deletes the deployment", func() {
		r := newE2ERun(t, env)
		res := r.execute(t, env, "-p", "E2E_RELEASE_VERSION=0+dev.7")
		Expect(res.code).To(Equal(0), res.stderr+res.stdout)

		argvs := r.bosh.Argvs(t)
		Expect(argvs[0]).To(MatchRegexp(`^add-blob /\S+/aliyun-rpc-sdk\.tar\.gz aliyun_py/aliyun-rpc-sdk\.tar\.gz$`))
		Expect(argvs[1]).To(MatchRegexp(`^create-release --force --version 0\+dev\.7 --tarball /\S+/e2e-release\.tgz$`))
		stemcell := `/\S+/stemcell/stemcell\.tgz` // the input's copy in the task's scratch directory
		matchEach(t, r.directorCalls(t),
			`upload-release /\S+/e2e-release\.tgz`,
			`upload-stemcell `+stemcell,
			`update-cloud-config /\S+/cloud-config\.yml`,
			`-d e2e-test deploy /\S+/manifest\.yml -l /\S+/errand-vars\.yml`,
			`-d e2e-test run-errand slb-registration-test`,
			`-d e2e-test delete-deployment --force`)
		for _, c := range r.bosh.Calls(t)[2:] {
			Expect(c.Env).To(HaveKeyWithValue("BOSH_ENVIRONMENT", "10.0.0.6"))
			Expect(c.Env).To(HaveKeyWithValue("BOSH_CLIENT_SECRET", directorSecret))
			Expect(c.Env).To(HaveKeyWithValue("BOSH_NON_INTERACTIVE", "true"))
		}

		tarball, err := release.InspectFile(t.Context(), r.capturedFile(t, "upload-release", "e2e-release.tgz"))
		Expect(err).NotTo(HaveOccurred())
		Expect(tarball.Manifest.Name).To(Equal("e2e-test"))
		Expect(tarball.Manifest.Version).To(Equal("0+dev.7"))
		Expect(tarball.Manifest.Jobs).To(HaveLen(1))
		Expect(tarball.Manifest.Jobs[0].Name).To(Equal("slb-registration-test"))
		sdk := member(t, r.capturedFile(t, "upload-release", "e2e-release.tgz"), "packages/aliyun_py.tgz")
		Expect(sdk).To(HaveKey("aliyun_py/aliyun-rpc-sdk.tar.gz"))
		Expect(untar(t, []byte(sdk["aliyun_py/aliyun-rpc-sdk.tar.gz"]))).To(HaveKey("aliyun_rpc/slb_member.py"))

		var cc map[string]any
		Expect(yaml.Unmarshal(readFile(t, r.capturedFile(t, "update-cloud-config", "cloud-config.yml")), &cc)).To(Succeed())
		Expect(cc["azs"]).To(Equal([]any{map[string]any{"name": "z1", "cloud_properties": map[string]any{"availability_zone": "cn-hangzhou-h"}}}))
		Expect(cc["networks"]).To(Equal([]any{
			map[string]any{"name": "default", "type": "manual", "subnets": []any{map[string]any{
				"range": "10.0.0.0/16", "gateway": "10.0.0.1", "azs": []any{"z1"}, "reserved": []any{"10.0.0.2-10.0.0.9"},
				"static": []any{"10.0.0.10-10.0.0.30"}, "dns": []any{"100.100.2.136"},
				"cloud_properties": map[string]any{"vswitch_id": "vsw-bp1test", "security_group_ids": []any{"sg-bp1test"}},
			}}},
			map[string]any{"name": "vip", "type": "vip"},
		}))
		Expect(cc["vm_types"]).To(ContainElement(map[string]any{"name": "slb_registration_pool", "cloud_properties": map[string]any{
			"instance_type": "ecs.g6.large", "availability_zone": "cn-hangzhou-h", "slbs": []any{"lb-bp1test"}}}))
		Expect(cc["compilation"]).To(HaveKeyWithValue("network", "default"))
		Expect(cc["disk_types"]).NotTo(BeEmpty())

		var manifest map[string]any
		Expect(yaml.Unmarshal(readFile(t, r.capturedFile(t, "-d e2e-test deploy", "manifest.yml")), &manifest)).To(Succeed())
		Expect(manifest["name"]).To(Equal("e2e-test"))
		Expect(manifest["releases"]).To(Equal([]any{map[string]any{"name": "e2e-test", "version": "0+dev.7"}}))
		Expect(manifest["stemcells"]).To(Equal([]any{map[string]any{"alias": "default", "name": "bosh-alicloud-kvm-ubuntu-noble", "version": "1.484"}}))
		Expect(manifest["instance_groups"]).To(Equal([]any{map[string]any{
			"name": "slb-registration-test", "lifecycle": "errand", "instances": 1, "azs": []any{"z1"},
			"jobs": []any{map[string]any{"name": "slb-registration-test", "release": "e2e-test", "properties": map[string]any{
				"access_key": "((errand_access_key_id))", "ecs_region": "cn-hangzhou", "load_balancer_id": "lb-bp1test",
				"secret_key": "((errand_access_key_secret))", "security_token": "((errand_security_token))"}}},
			"vm_type": "slb_registration_pool", "stemcell": "default",
			"networks": []any{map[string]any{"name": "default", "default": []any{"dns", "gateway"}}},
		}}))
		// The errand side gets the read-only key, through a 0600 vars file.
		vars := r.capturedFile(t, "-d e2e-test deploy", "errand-vars.yml")
		info, err := os.Stat(vars)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		var got map[string]string
		Expect(yaml.Unmarshal(readFile(t, vars), &got)).To(Succeed())
		Expect(got).To(Equal(map[string]string{"errand_access_key_id": readOnlyKeyID, "errand_access_key_secret": readOnlySecret, "errand_security_token": readOnlyToken}))
		noProvisioningCredentials(r)
		Expect(res.stdout + res.stderr).NotTo(ContainSubstring(readOnlySecret))
		Expect(res.stdout + res.stderr).NotTo(ContainSubstring(provisioningSecret))

		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Tests).To(Equal(3))
		Expect(doc.Failures).To(Equal(0))
		var names []string
		for _, c := range doc.Suites[0].Cases {
			names = append(names, c.Name)
		}
		Expect(names).To(Equal([]string{"deploy", "slb-registration-test", "delete-deployment"}))
	})

	it("uses the CPI's e2e-test-release when given: its blobs from E2E_BLOBS, its errands (not nvme-upgrade-test), each on its vm_type", func() {
		r := newE2ERun(t, env)
		writeFiles(t, filepath.Join(r.inputs, "e2e-release"), cpiE2ERelease)
		writeFiles(t, filepath.Join(r.inputs, "jq-blob"), map[string]string{"jq-linux64": "jq binary"})
		writeFiles(t, filepath.Join(r.inputs, "aliyun-cli"), map[string]string{"aliyun-cli-linux-3.0.200-amd64.tgz": "aliyun cli"})
		in := func(name string) string { return name + "=" + filepath.Join(r.inputs, name) }
		res := r.execute(t, env, "-i", in("e2e-release"), "-i", in("jq-blob"), "-i", in("aliyun-cli"))
		Expect(res.code).To(Equal(0), res.stderr+res.stdout)
		argvs := r.bosh.Argvs(t)
		Expect(argvs[0]).To(MatchRegexp(`^add-blob /\S+/jq-blob/jq-linux64 jq/jq-linux64$`))
		Expect(argvs[1]).To(MatchRegexp(`^add-blob /\S+/aliyun-cli/aliyun-cli-linux-3\.0\.200-amd64\.tgz aliyuncli/aliyun-cli-linux-amd64\.tgz$`))
		Expect(argvs[2]).To(MatchRegexp(`^create-release --force --version 0\+dev\.\d+ --tarball /\S+/e2e-release\.tgz$`))
		calls := r.directorCalls(t)
		Expect(calls[4:]).To(Equal([]string{"-d e2e-test run-errand slb-registration-test", "-d e2e-test run-errand spot-instance-test", "-d e2e-test delete-deployment --force"}))

		tgz := r.capturedFile(t, "upload-release", "e2e-release.tgz")
		Expect(member(t, tgz, "packages/jq.tgz")).To(HaveKeyWithValue("jq/jq-linux64", "jq binary"))
		var manifest struct {
			Releases       []map[string]string `yaml:"releases"`
			InstanceGroups []struct {
				Name   string `yaml:"name"`
				VMType string `yaml:"vm_type"`
				Jobs   []struct {
					Properties map[string]string `yaml:"properties"`
				} `yaml:"jobs"`
			} `yaml:"instance_groups"`
		}
		Expect(yaml.Unmarshal(readFile(t, r.capturedFile(t, "-d e2e-test deploy", "manifest.yml")), &manifest)).To(Succeed())
		Expect(manifest.Releases[0]["name"]).To(Equal("e2e-test"))
		Expect(manifest.Releases[0]["version"]).To(MatchRegexp(`^0\+dev\.\d+$`))
		Expect(manifest.InstanceGroups).To(HaveLen(2))
		Expect(manifest.InstanceGroups[0].Name).To(Equal("slb-registration-test"))
		Expect(manifest.InstanceGroups[0].VMType).To(Equal("slb_registration_pool"))
		Expect(manifest.InstanceGroups[1].Name).To(Equal("spot-instance-test"))
		Expect(manifest.InstanceGroups[1].VMType).To(Equal("spot_instance_pool"))
		Expect(manifest.InstanceGroups[1].Jobs[0].Properties).To(Equal(map[string]string{"ecs_region": "cn-hangzhou",
			"access_key": "((errand_access_key_id))", "secret_key": "((errand_access_key_secret))", "security_token": "((errand_security_token))"}))
		noProvisioningCredentials(r)
	})

	it("deletes the deployment when an errand fails, runs the other errands, and fails", func() {
		r := newE2ERun(t, env)
		writeFiles(t, filepath.Join(r.inputs, "e2e-release"), cpiE2ERelease)
		writeFiles(t, filepath.Join(r.inputs, "jq-blob"), map[string]string{"jq-linux64": "jq binary"})
		writeFiles(t, filepath.Join(r.inputs, "aliyun-cli"), map[string]string{"aliyun-cli-linux-3.0.200-amd64.tgz": "aliyun cli"})
		writeFiles(t, r.inputs, map[string]string{"fail-errands": "slb-registration-test\n"})
		in := func(name string) string { return name + "=" + filepath.Join(r.inputs, name) }
		res := r.execute(t, env, "-i", in("e2e-release"), "-i", in("jq-blob"), "-i", in("aliyun-cli"))
		Expect(res.code).To(Equal(1), res.stderr+res.stdout)
		Expect(res.stderr).To(ContainSubstring("e2e: errands failed: slb-registration-test"))
		calls := r.directorCalls(t)
		Expect(calls[len(calls)-3:]).To(Equal([]string{"-d e2e-test run-errand slb-registration-test", "-d e2e-test run-errand spot-instance-test", "-d e2e-test delete-deployment --force"}))
		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Failures).To(Equal(1))
		Expect(doc.Suites[0].Cases[1].Name).To(Equal("slb-registration-test"))
		Expect(doc.Suites[0].Cases[1].Failure.Body).To(ContainSubstring("errand slb-registration-test failed"))
	})

	it("deletes the deployment when deploy fails, runs no errand, and fails", func() {
		r := newE2ERun(t, env)
		writeFiles(t, r.inputs, map[string]string{"fail-deploy": ""})
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1), res.stderr+res.stdout)
		calls := r.directorCalls(t)
		Expect(calls[len(calls)-2:]).To(Equal([]string{"-d e2e-test deploy " + strings.Fields(calls[3])[3] + " -l " + strings.Fields(calls[3])[5], "-d e2e-test delete-deployment --force"}))
		Expect(strings.Join(calls, "\n")).NotTo(ContainSubstring("run-errand"))
		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Failures).To(Equal(1))
	})

	it("deploys nothing when the manifest cannot be rendered, naming the property, with a failed prepare case", func() {
		r := newE2ERun(t, env)
		rel := map[string]string{}
		for k, v := range cpiE2ERelease {
			rel[k] = v
		}
		rel["jobs/spot-instance-test/spec"] += "  api_url: {description: where}\n"
		writeFiles(t, filepath.Join(r.inputs, "e2e-release"), rel)
		writeFiles(t, filepath.Join(r.inputs, "jq-blob"), map[string]string{"jq-linux64": "jq binary"})
		writeFiles(t, filepath.Join(r.inputs, "aliyun-cli"), map[string]string{"aliyun-cli-linux-3.0.200-amd64.tgz": "aliyun cli"})
		in := func(name string) string { return name + "=" + filepath.Join(r.inputs, name) }
		res := r.execute(t, env, "-i", in("e2e-release"), "-i", in("jq-blob"), "-i", in("aliyun-cli"))
		Expect(res.code).To(Equal(1), res.stderr+res.stdout)
		Expect(res.stderr).To(ContainSubstring("job spot-instance-test: property api_url has no default"))
		Expect(r.directorCalls(t)).To(BeEmpty())
		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Suites[0].Cases).To(HaveLen(1))
		Expect(doc.Suites[0].Cases[0].Name).To(Equal("prepare"))
		Expect(doc.Failures).To(Equal(1))
	})

	it("names an E2E_BLOBS source that matches no file (its input not given), deploying nothing", func() {
		r := newE2ERun(t, env)
		writeFiles(t, filepath.Join(r.inputs, "e2e-release"), cpiE2ERelease)
		res := r.execute(t, env, "-i", "e2e-release="+filepath.Join(r.inputs, "e2e-release"))
		Expect(res.code).To(Equal(1), res.stderr+res.stdout)
		Expect(res.stderr).To(ContainSubstring("e2e: E2E_BLOBS: jq-blob/jq-linux64 matches 0 files, want one (is its input given?)"))
		Expect(r.directorCalls(t)).To(BeEmpty())
	})

	it("ships an SDK blob whose client signs requests the emulator accepts, and reports a bad signature", func() {
		cloud := testtools.NewCloud(t)
		call := func(secret string) (string, error) {
			cmd := exec.Command("python3", "-c", `import json, sys, aliyun_rpc
print(json.dumps(aliyun_rpc.call(sys.argv[1], "DescribeRegions", "2014-05-26", {"RegionId": "cn-hangzhou"}, sys.argv[2], sys.argv[3])))`,
				cloud.URL, cloud.KeyID, secret)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(env.pack, "tasks", "e2e", "sdk"))
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := call(cloud.Secret)
		Expect(err).NotTo(HaveOccurred(), out)
		var answer struct {
			Regions struct {
				Region []struct {
					RegionID string `json:"RegionId"`
				} `json:"Region"`
			} `json:"Regions"`
		}
		Expect(json.Unmarshal([]byte(out), &answer)).To(Succeed(), out)
		Expect(answer.Regions.Region).To(ContainElement(HaveField("RegionID", "cn-hangzhou")))
		out, err = call("wrong-secret")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("DescribeRegions: HTTP 400"))
		Expect(out).To(ContainSubstring("SignatureDoesNotMatch"))
	})

	it("refuses a light stemcell for a director whose CPI encrypts disks before anything reaches the director; the override lets it through", func() {
		r := newE2ERun(t, env)
		directorState(t, filepath.Join(r.inputs, "director-state"), encryptingDirector)
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("ALLOW_ENCRYPTED_LIGHT_STEMCELL=true"))
		Expect(r.directorCalls(t)).To(BeEmpty())
		res = r.execute(t, env, "-p", "ALLOW_ENCRYPTED_LIGHT_STEMCELL=true")
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(r.directorCalls(t)).To(ContainElement(ContainSubstring("upload-stemcell")))
	})

	it("refuses to run without the errands' read-only credentials, or with the provisioning key as theirs", func() {
		r := newE2ERun(t, env)
		r.params["ERRAND_ACCESS_KEY_ID"], r.params["ERRAND_ACCESS_KEY_SECRET"] = "", ""
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("set ERRAND_ACCESS_KEY_ID and ERRAND_ACCESS_KEY_SECRET"))
		r.params["ERRAND_ACCESS_KEY_ID"], r.params["ERRAND_ACCESS_KEY_SECRET"] = provisioningKeyID, readOnlySecret
		res = r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("ERRAND_ACCESS_KEY_ID is the provisioning key"))
		Expect(r.bosh.Calls(t)).To(BeEmpty())
	})
}
