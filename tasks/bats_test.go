package tasks_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// The director's credentials in director-state fixtures.
const (
	directorSecret = "director-client-secret-Qw7x"
	directorCA     = "-----BEGIN CERTIFICATE-----\nMIIBdirectorCA\n-----END CERTIFICATE-----\n"
)

// directorState writes a bosh-director-env get as the director-env resource writes it
// (director.env made by lib/director, jumpbox.key, director.yml, metadata, name).
func directorState(t testing.TB, dir, directorYML string) {
	target := director.Target{InternalIP: "10.0.0.6", ExternalIP: "47.96.1.6", Client: "admin", ClientSecret: directorSecret,
		CACert: directorCA, JumpboxUser: "jumpbox", JumpboxKey: "JUMPBOX PRIVATE KEY\n"}
	writeFiles(t, dir, map[string]string{
		"director.env": target.EnvScript(director.AddressInternal),
		"jumpbox.key":  target.JumpboxKey,
		"director.yml": directorYML,
		"metadata":     "{}",
		"name":         "bats-1\n",
	})
}

const encryptingDirector = "name: bosh\ninstance_groups:\n- name: bosh\n  properties:\n    alicloud: {region: cn-hangzhou, encrypted: true}\n"

// sshKey makes an OpenSSH private key with the real ssh-keygen.
func sshKey(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "id")
	run(t, os.Environ(), t.TempDir(), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "env-1", "-f", path)
	return string(readFile(t, path))
}

// batsRun is one bats task run's fixture: its inputs, the bundle double and where it copies
// the spec it was given.
type batsRun struct {
	inputs, reports string
	bundle          *testtools.Recorder
	specCopy        string
	env             []string
}

func newBatsRun(t testing.TB, env taskEnv, rspecJSON string, rspecExit int) batsRun {
	base := t.TempDir()
	r := batsRun{inputs: base, reports: filepath.Join(base, "test-reports"), specCopy: filepath.Join(base, "spec-as-given.yml")}
	NewWithT(t).Expect(os.MkdirAll(r.reports, 0o755)).To(Succeed())
	writeFiles(t, filepath.Join(base, "bats"), map[string]string{"Gemfile": "source 'https://rubygems.org'\ngem 'rspec'\n", "spec/system/cck_spec.rb": "# BATs\n"})
	testtools.WriteLightStemcellDir(t, filepath.Join(base, "stemcell"), "1.484")
	directorState(t, filepath.Join(base, "director-state"), "name: bosh\n")
	testtools.WriteEnvironment(t, filepath.Join(base, "environment"), testtools.EnvMetadata(), sshKey(t))
	writeFiles(t, base, map[string]string{"rspec.json": rspecJSON})
	bin := filepath.Join(base, "bin")
	// rspec's part: copy the spec BATs would read, write the JSON report where --out says.
	r.bundle = testtools.NewRecorder(t, bin, "bundle", `
case "$1" in
  check) exit "${BUNDLE_CHECK_EXIT:-0}" ;;
  install) exit 0 ;;
esac
cp "$BAT_DEPLOYMENT_SPEC" `+shellQuote(r.specCopy)+`
prev=
for a in "$@"; do
  if [ "$prev" = --out ] && [ -s `+shellQuote(filepath.Join(base, "rspec.json"))+` ]; then cp `+shellQuote(filepath.Join(base, "rspec.json"))+` "$a"; fi
  prev=$a
done
echo "rspec: BOSH_CLIENT_SECRET=$BOSH_CLIENT_SECRET"
ruby_inspect() { printf '{:key_data=>["%s"]}\n' "$(sed -z 's/\n/\\n/g' "$1")"; }
echo "--> ssh options: $(ruby_inspect "$BAT_PRIVATE_KEY")"
echo "--> gateway key: $(ruby_inspect "${BOSH_GW_PRIVATE_KEY}")"
exit `+strconv.Itoa(rspecExit)+`
`)
	r.env = env.env(t.TempDir())
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			r.env[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	return r
}

func (r batsRun) execute(t testing.TB, env taskEnv, args ...string) result {
	in := func(name string) string { return name + "=" + filepath.Join(r.inputs, name) }
	return env.executeWithEnv(t, r.env, "bats", append([]string{"-i", in("bats"), "-i", in("stemcell"), "-i", in("director-state"),
		"-i", in("environment"), "-o", "test-reports=" + r.reports}, args...)...)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

const batsPassingJSON = `{"examples":[
 {"full_description":"cck recreates a vm","status":"passed","file_path":"./spec/system/cck_spec.rb","run_time":1.5},
 {"full_description":"persistent disks attaches multiple disks","status":"pending","file_path":"./spec/system/persistent_disks_spec.rb","pending_message":"20 GB"}],
"summary":{"errors_outside_of_examples_count":0}}`

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Body string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t testing.TB, path string) junitDoc {
	var doc junitDoc
	NewWithT(t).Expect(xml.Unmarshal(readFile(t, path), &doc)).To(Succeed())
	return doc
}

func testBats(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var Expect = NewWithT(t).Expect

	it("runs BATs in the bats checkout with the rendered spec, BAT_* and the director's BOSH_*, Alibaba's filters and skips; JUnit in test-reports", func() {
		r := newBatsRun(t, env, batsPassingJSON, 0)
		res := r.execute(t, env)
		Expect(res.code).To(Equal(0), res.stderr+res.stdout)

		calls := r.bundle.Calls(t)
		Expect(calls).To(HaveLen(2))
		Expect(calls[0].Argv).To(Equal([]string{"check"}))
		rspec := calls[1]
		Expect(filepath.Base(rspec.Dir)).To(Equal("bats"))
		pack := strings.TrimSuffix(rspec.Dir, "/bats") + "/concourse-pack"
		Expect(rspec.Argv).To(Equal([]string{"exec", "rspec", "spec", "--tag", "~multiple_manual_networks", "--tag", "~raw_ephemeral_storage",
			"--require", pack + "/tasks/bats/skip_examples.rb", "--format", "BatsVerboseFormatter", "--format", "json", "--out", rspec.Env["BAT_STEMCELL"][:strings.Index(rspec.Env["BAT_STEMCELL"], "/stemcell/")] + "/test-reports/rspec.json"}))
		Expect(filepath.Join(env.pack, "tasks", "bats", "skip_examples.rb")).To(BeARegularFile())

		e := rspec.Env
		Expect(e).To(HaveKeyWithValue("BAT_INFRASTRUCTURE", "alicloud"))
		Expect(e["BAT_STEMCELL"]).To(HaveSuffix("/stemcell/stemcell.tgz"))
		Expect(e["BAT_BOSH_CLI"]).To(Equal(testtools.Bosh(t)))
		Expect(e["BAT_DEPLOYMENT_SPEC"]).To(HaveSuffix("/bats.yml"))
		Expect(e["BAT_PRIVATE_KEY"]).To(HaveSuffix("/environment/ssh.key"))
		Expect(e).To(HaveKeyWithValue("BAT_DNS_HOST", "10.0.0.6"))
		Expect(e).NotTo(HaveKey("BAT_DEBUG_MODE"))
		Expect(e).To(HaveKeyWithValue("BOSH_ENVIRONMENT", "10.0.0.6"))
		Expect(e).To(HaveKeyWithValue("BOSH_CLIENT", "admin"))
		Expect(e).To(HaveKeyWithValue("BOSH_CLIENT_SECRET", directorSecret))
		Expect(e).To(HaveKeyWithValue("BOSH_CA_CERT", directorCA))
		Expect(e["BOSH_ALL_PROXY"]).To(MatchRegexp(`^ssh\+socks5://jumpbox@47\.96\.1\.6:22\?private-key=/.*/director-state/jumpbox\.key$`))
		Expect(e).To(HaveKeyWithValue("BATS_SKIP_EXAMPLES", "attaches multiple disks\nshould migrate disk contents\n"))
		Expect(e["BATS_SKIP_REASON"]).To(ContainSubstring("20 GB minimum"))

		var specDoc struct {
			CPI        string `yaml:"cpi"`
			Properties struct {
				Stemcell     map[string]string `yaml:"stemcell"`
				InstanceType string            `yaml:"instance_type"`
				VIP          string            `yaml:"vip"`
				AZ           string            `yaml:"availability_zone"`
				SSHKeyPair   map[string]string `yaml:"ssh_key_pair"`
				SSHGateway   map[string]string `yaml:"ssh_gateway"`
				Networks     []map[string]any  `yaml:"networks"`
			} `yaml:"properties"`
		}
		Expect(yaml.Unmarshal(readFile(t, r.specCopy), &specDoc)).To(Succeed())
		Expect(specDoc.CPI).To(Equal("alicloud"))
		Expect(specDoc.Properties.Stemcell).To(Equal(map[string]string{"name": "bosh-alicloud-kvm-ubuntu-noble", "version": "1.484"}))
		Expect(specDoc.Properties.InstanceType).To(Equal("ecs.hfc6.xlarge"))
		Expect(specDoc.Properties.VIP).To(Equal("47.96.1.7"))
		Expect(specDoc.Properties.AZ).To(Equal("cn-hangzhou-h"))
		Expect(specDoc.Properties.SSHKeyPair["private_key"]).To(Equal(string(readFile(t, filepath.Join(r.inputs, "environment", "ssh.key")))))
		Expect(specDoc.Properties.SSHKeyPair["public_key"]).To(HavePrefix("ssh-ed25519 "))
		Expect(specDoc.Properties.SSHGateway).To(Equal(map[string]string{"host": "47.96.1.6", "username": "jumpbox", "private_key": "JUMPBOX PRIVATE KEY\n"}))
		Expect(specDoc.Properties.Networks).To(HaveLen(1))
		Expect(specDoc.Properties.Networks[0]).To(HaveKeyWithValue("subnet", "vsw-bp1test"))
		Expect(specDoc.Properties.Networks[0]).To(HaveKeyWithValue("static_ip", "10.0.0.29"))

		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Tests).To(Equal(2))
		Expect(doc.Skipped).To(Equal(1))
		Expect(res.stdout + res.stderr).To(ContainSubstring("rspec: BOSH_CLIENT_SECRET=((redacted))"))
		Expect(res.stdout + res.stderr).NotTo(ContainSubstring(directorSecret))
		// BATs logs its SSH options with the keys in them, as Ruby's inspect writes them.
		Expect(res.stdout + res.stderr).To(ContainSubstring(`--> ssh options: {:key_data=>["((redacted))`))
		Expect(res.stdout + res.stderr).NotTo(ContainSubstring("OPENSSH PRIVATE KEY"))
		Expect(res.stdout + res.stderr).NotTo(ContainSubstring("JUMPBOX PRIVATE KEY"))
	})

	it("takes the tag filters, skips, instance type and rspec flags from params, and installs the gems only when bundle check fails", func() {
		r := newBatsRun(t, env, batsPassingJSON, 0)
		r.env = append(r.env, "BUNDLE_CHECK_EXIT=1")
		res := r.execute(t, env, "-p", "BATS_SKIP_TAGS=vip_networking  dynamic_networking", "-p", "BATS_RSPEC_FLAGS=--tag core -e cck",
			"-p", "BATS_SKIP_EXAMPLES=recreates a vm", "-p", "BATS_INSTANCE_TYPE=ecs.g7.large", "-p", "BAT_DEBUG_MODE=1")
		Expect(res.code).To(Equal(0), res.stderr+res.stdout)
		calls := r.bundle.Calls(t)
		Expect(calls).To(HaveLen(3))
		Expect(calls[1].Argv).To(Equal([]string{"install"}))
		argv := strings.Join(calls[2].Argv, " ")
		Expect(argv).To(HavePrefix("exec rspec spec --tag ~vip_networking --tag ~dynamic_networking --require "))
		Expect(argv).To(HaveSuffix("/test-reports/rspec.json --tag core -e cck"))
		Expect(calls[2].Env).To(HaveKeyWithValue("BATS_SKIP_EXAMPLES", "recreates a vm"))
		Expect(calls[2].Env).To(HaveKeyWithValue("BAT_DEBUG_MODE", "1"))
		Expect(string(readFile(t, r.specCopy))).To(ContainSubstring("instance_type: ecs.g7.large"))
	})

	it("fails when rspec fails, with the report written", func() {
		failing := `{"examples":[{"full_description":"cck recreates a vm","status":"failed","file_path":"./spec/system/cck_spec.rb","exception":{"class":"RuntimeError","message":"vm did not come back"}}],"summary":{}}`
		r := newBatsRun(t, env, failing, 1)
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1), res.stderr+res.stdout)
		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Failures).To(Equal(1))
		Expect(doc.Suites[0].Cases[0].Failure.Body).To(ContainSubstring("vm did not come back"))
		Expect(res.stderr).To(ContainSubstring("bats: rspec failed (exit 1)"))
	})

	it("reports a run that broke before rspec wrote anything as a failed case", func() {
		r := newBatsRun(t, env, "", 2)
		res := r.execute(t, env)
		Expect(res.code).To(Equal(2), res.stderr+res.stdout)
		doc := readJUnit(t, filepath.Join(r.reports, "junit.xml"))
		Expect(doc.Failures).To(Equal(1))
		Expect(doc.Suites[0].Cases[0].Name).To(Equal("rspec wrote no usable report"))
	})

	it("refuses a light stemcell for a director whose CPI encrypts disks, naming the setting and the override, which lets it through", func() {
		r := newBatsRun(t, env, batsPassingJSON, 0)
		directorState(t, filepath.Join(r.inputs, "director-state"), encryptingDirector)
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("encrypted"))
		Expect(res.stderr).To(ContainSubstring("ALLOW_ENCRYPTED_LIGHT_STEMCELL=true"))
		Expect(r.bundle.Calls(t)).To(BeEmpty())
		res = r.execute(t, env, "-p", "ALLOW_ENCRYPTED_LIGHT_STEMCELL=true")
		Expect(res.code).To(Equal(0), res.stderr)
		Expect(r.bundle.Calls(t)).NotTo(BeEmpty())
	})

	it("names a missing director-state file and runs nothing", func() {
		r := newBatsRun(t, env, batsPassingJSON, 0)
		Expect(os.Remove(filepath.Join(r.inputs, "director-state", "director.env"))).To(Succeed())
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("bats: director-state/director.env is missing"))
		Expect(r.bundle.Calls(t)).To(BeEmpty())
	})

	it("refuses metadata without what the spec needs, naming the keys, and runs nothing", func() {
		r := newBatsRun(t, env, batsPassingJSON, 0)
		meta := testtools.EnvMetadata()
		delete(meta, "network_static_ip_2")
		testtools.WriteEnvironment(t, filepath.Join(r.inputs, "environment"), meta, sshKey(t))
		res := r.execute(t, env)
		Expect(res.code).To(Equal(1))
		Expect(res.stderr).To(ContainSubstring("lacks network_static_ip_2"))
		Expect(r.bundle.Calls(t)).To(BeEmpty())
	})
}
