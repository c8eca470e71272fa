package tasks_test

import (
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
)

const stemcellName = "bosh-alicloud-kvm-ubuntu-noble-go_agent"

// boshTable is what `bosh --json` prints for a table: the bosh CLI's own document shape.
func boshTable(content, header string, rows ...string) string {
	return `{"Tables":[{"Content":"` + content + `","Header":` + header + `,"Rows":[` + strings.Join(rows, ",") +
		`],"Notes":null}],"Blocks":null,"Lines":["Using environment '10.0.0.6' as client 'admin'","Succeeded"]}`
}

func testTeardown(t *testing.T, _ spec.G, it spec.S, env taskEnv) {
	var (
		Expect       = NewWithT(t).Expect
		c            *testtools.Cloud
		s            *alicloud.Session
		state, bin   string
		light, heavy string
	)

	it.Before(func() {
		c, s = cleanCloud(t)
		light = cleanImage(t, c, s, "light", map[string]string{builder.TagStemcell: stemcellName,
			builder.TagStemcellVersion: "1.484", builder.TagChannel: "candidate"})
		heavy = cleanImage(t, c, s, "heavy", nil) // what the CPI's create_stemcell imports: untagged
		state, bin = t.TempDir(), t.TempDir()
		writeFiles(t, state, map[string]string{
			"director.env": "# Source me\nexport BOSH_ENVIRONMENT='10.0.0.6'\nexport BOSH_CLIENT='admin'\n" +
				"export BOSH_CLIENT_SECRET='client-secret-value'\nexport BOSH_CA_CERT='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'\n",
			"metadata": `{"region":"cn-hangzhou","vpc_id":"vpc-env","internal_ip":"10.0.0.6"}`,
			"name":     "bats-1",
			"ca.crt":   "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		})
	})

	double := func(deployments, stemcells, releases []string, failing string) *testtools.Recorder {
		answer := func(doc string) string { return "cat <<'JSON'\n" + doc + "\nJSON\n" }
		body := `case "$*" in
"--json --non-interactive deployments") ` + answer(boshTable("", `{"name":"Name","release_s":"Release(s)","stemcell_s":"Stemcell(s)","team_s":"Team(s)"}`, deployments...)) + ` ;;
"--json --non-interactive disks --orphaned") ` + answer(boshTable("disks", `{"disk_cid":"Disk CID","size":"Size","deployment":"Deployment","instance":"Instance","az":"AZ","orphaned_at":"Orphaned At"}`,
			`{"disk_cid":"d-orphan1","size":"10 GiB","deployment":"e2e","instance":"slb-registration-test/5d9ba8c1-ec1a-4b4e-8c0e-1b0c8f0e1c7a","az":"z1","orphaned_at":"Tue Dec  1 10:04:11 UTC 2026"}`,
			`{"disk_cid":"d-orphan2","size":"10 GiB","deployment":"bats","instance":"batlight/0c0a7f53-1e0e-4d8a-9c6d-3b2c1a0f9e8d","az":"z1","orphaned_at":"Tue Dec  1 10:05:42 UTC 2026"}`)) + ` ;;
"--json --non-interactive stemcells") ` + answer(boshTable("stemcells", `{"name":"Name","version":"Version","os":"OS","cpi":"CPI","cid":"CID"}`, stemcells...)) + ` ;;
"--json --non-interactive releases") ` + answer(boshTable("releases", `{"name":"Name","version":"Version","commit_hash":"Commit Hash"}`, releases...)) + ` ;;
` + failing + `
*) echo "Succeeded" ;;
esac`
		return testtools.NewRecorder(t, bin, "bosh", body)
	}
	execute := func() result {
		t.Helper()
		home := t.TempDir()
		environ := []string{}
		for _, kv := range env.env(home) {
			if strings.HasPrefix(kv, "PATH=") {
				kv = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
			}
			environ = append(environ, kv)
		}
		args := []string{"-i", "director-state=" + state}
		for k, v := range c.TaskParams() {
			args = append(args, "-p", k+"="+v)
		}
		return env.executeWithEnv(t, environ, "teardown", args...)
	}
	stemcellRow := func(version, cid string) string {
		return `{"name":"` + stemcellName + `","version":"` + version + `","os":"ubuntu-noble","cpi":"","cid":"` + cid + `"}`
	}
	releaseRow := func(name, version string) string {
		return `{"name":"` + name + `","version":"` + version + `","commit_hash":"4f1e2d3c"}`
	}

	it("deletes deployments, then orphaned disks, then unused heavy stemcells and releases; never a light stemcell, never clean-up", func() {
		bosh := double(
			[]string{`{"name":"e2e","release_s":"alicloud-e2e/0+dev.1\nbosh-alicloud-cpi/61.0.0","stemcell_s":"` + stemcellName + `/1.484","team_s":""}`,
				`{"name":"bats","release_s":"bosh-alicloud-cpi/61.0.0","stemcell_s":"` + stemcellName + `/1.483","team_s":""}`},
			[]string{stemcellRow("1.484", light), stemcellRow("1.483", heavy)},
			[]string{releaseRow("alicloud-e2e", "0+dev.1"), releaseRow("bosh-alicloud-cpi", "61.0.0")}, "")
		r := execute()
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(bosh.Argvs(t)).To(Equal([]string{
			"--json --non-interactive deployments",
			"--non-interactive -d e2e delete-deployment --force",
			"--non-interactive -d bats delete-deployment --force",
			"--json --non-interactive disks --orphaned",
			"--non-interactive delete-disk d-orphan1",
			"--non-interactive delete-disk d-orphan2",
			"--json --non-interactive stemcells",
			"--non-interactive delete-stemcell " + stemcellName + "/1.483",
			"--json --non-interactive releases",
			"--non-interactive delete-release alicloud-e2e/0+dev.1",
			"--non-interactive delete-release bosh-alicloud-cpi/61.0.0",
		}))
		for _, call := range bosh.Calls(t) {
			Expect(call.Env).To(HaveKeyWithValue("BOSH_ENVIRONMENT", "10.0.0.6"))
			Expect(call.Env).To(HaveKeyWithValue("BOSH_CLIENT", "admin"))
			Expect(call.Env).To(HaveKeyWithValue("BOSH_CLIENT_SECRET", "client-secret-value"))
			Expect(call.Env).To(HaveKeyWithValue("BOSH_CA_CERT", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"))
			Expect(call.Env).NotTo(HaveKey("ALICLOUD_ACCESS_KEY_SECRET"), "bosh needs no cloud credentials")
			Expect(call.Argv).NotTo(ContainElement("clean-up"))
		}
		Expect(r.stderr).To(ContainSubstring("keeping stemcell " + stemcellName + "/1.484: its image " + light + " is a light stemcell's"))
		Expect(r.stderr).NotTo(ContainSubstring("client-secret-value"))
		// The light stemcell's image is still there.
		_, err := s.Image(t.Context(), c.Region, light)
		Expect(err).NotTo(HaveOccurred())
	})

	it("tries every step when a deployment fails to delete, keeps what is still in use, and fails naming the failure", func() {
		bosh := double(
			[]string{`{"name":"stuck","release_s":"bosh-alicloud-cpi/61.0.0","stemcell_s":"` + stemcellName + `/1.483","team_s":""}`,
				`{"name":"e2e","release_s":"alicloud-e2e/0+dev.1","stemcell_s":"` + stemcellName + `/1.484","team_s":""}`},
			[]string{stemcellRow("1.484", light), stemcellRow("1.483*", heavy), stemcellRow("1.482", heavy+"-old")},
			[]string{releaseRow("alicloud-e2e", "0+dev.1"), releaseRow("bosh-alicloud-cpi", "61.0.0*")},
			`"--non-interactive -d stuck delete-deployment --force") echo "Task 42 | Error: CPI error 'Bosh::Clouds::CloudError'" ; exit 1 ;;`)
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(bosh.Argvs(t)).To(Equal([]string{
			"--json --non-interactive deployments",
			"--non-interactive -d stuck delete-deployment --force",
			"--non-interactive -d e2e delete-deployment --force",
			"--json --non-interactive disks --orphaned",
			"--non-interactive delete-disk d-orphan1",
			"--non-interactive delete-disk d-orphan2",
			"--json --non-interactive stemcells",
			// 1.482's image does not exist any more: nothing left to protect.
			"--non-interactive delete-stemcell " + stemcellName + "/1.482",
			"--json --non-interactive releases",
			"--non-interactive delete-release alicloud-e2e/0+dev.1",
		}))
		Expect(r.stderr).To(ContainSubstring("error: teardown: bosh -d stuck delete-deployment --force: exit status 1"))
		Expect(r.stderr).To(ContainSubstring("keeping stemcell " + stemcellName + "/1.483: a deployment uses it"))
		Expect(r.stderr).To(ContainSubstring("keeping release bosh-alicloud-cpi/61.0.0: a deployment uses it"))
	})

	it("does nothing for a destroyed env, and refuses a director-state without director.env", func() {
		bosh := double(nil, nil, nil, "")
		writeFiles(t, state, map[string]string{"destroyed": ""})
		r := execute()
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stderr).To(ContainSubstring("the director env bats-1 is destroyed: nothing to tear down"))
		Expect(bosh.Argvs(t)).To(BeEmpty())

		state = t.TempDir()
		writeFiles(t, state, map[string]string{"name": "bats-1"})
		r = execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("director-state/director.env is missing"))
		Expect(filepath.Join(state, "director.env")).NotTo(BeAnExistingFile())
	})
}
