package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
)

func TestDirectorDouble(t *testing.T) {
	double := conformance.Compile(t, ".")
	suite := spec.New("directordouble", spec.Report(report.Terminal{}))
	suite("director", func(t *testing.T, context spec.G, it spec.S) { testDirector(t, context, it, double) })
	suite.Run(t)
}

func testDirector(t *testing.T, context spec.G, it spec.S, double string) {
	var (
		Expect = NewWithT(t).Expect
		dir    string
		env    []string
	)
	it.Before(func() {
		dir = t.TempDir()
		env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "BOSH_ENVIRONMENT=10.0.0.6", "BOSH_CLIENT=admin",
			"BOSH_DOUBLE_DIRECTOR_STATE=" + filepath.Join(dir, "director.json"), "BOSH_DOUBLE_REGION=cn-hangzhou",
			"BOSH_DOUBLE_REAL=" + testtools.Bosh(t)}
	})
	bosh := func(args ...string) (string, string, error) {
		cmd := exec.Command(double, args...)
		cmd.Env, cmd.Dir = env, dir
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	rows := func(args ...string) []map[string]string {
		out, stderr, err := bosh(append(args, "--json")...)
		Expect(err).NotTo(HaveOccurred(), stderr)
		var doc struct {
			Tables []struct {
				Rows []map[string]string
			}
		}
		Expect(json.Unmarshal([]byte(out), &doc)).To(Succeed(), out)
		Expect(doc.Tables).To(HaveLen(1))
		return doc.Tables[0].Rows
	}

	it("keeps a director's stemcells, releases, deployments and orphaned disks as the bosh CLI shows them", func() {
		light := filepath.Join(dir, "light.tgz")
		testtools.WriteStemcell(t, light, "1.484", map[string]string{"cn-hangzhou": "m-light"})
		heavy := filepath.Join(dir, "heavy.tgz")
		testtools.WriteStemcell(t, heavy, "1.485", nil)
		for _, s := range []string{light, heavy} {
			_, stderr, err := bosh("upload-stemcell", s)
			Expect(err).NotTo(HaveOccurred(), stderr)
		}
		rel := testtools.NewRelease(t, filepath.Join(dir, "src"), "probe", "one")
		_, stderr, err := bosh("upload-release", rel.Tarball(t, filepath.Join(dir, "probe.tgz")))
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(os.WriteFile(filepath.Join(dir, "cc.yml"), []byte("azs: []\nnetworks: []\nvm_types: []\ncompilation: {}\n"), 0o644)).To(Succeed())
		_, stderr, err = bosh("-n", "update-cloud-config", "cc.yml")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stderr).To(ContainSubstring("bosh-double: -n update-cloud-config cc.yml"))
		Expect(os.WriteFile(filepath.Join(dir, "m.yml"), []byte("name: e2e\nreleases: [{name: probe, version: latest}]\nstemcells: [{alias: default, os: ubuntu-noble, version: '1.484'}]\n"), 0o644)).To(Succeed())
		_, stderr, err = bosh("-d", "e2e", "-n", "deploy", "m.yml")
		Expect(err).NotTo(HaveOccurred(), stderr)

		Expect(rows("deployments")).To(ConsistOf(HaveKeyWithValue("name", "e2e")))
		stemcells := rows("stemcells")
		Expect(stemcells).To(ConsistOf(
			And(HaveKeyWithValue("version", "1.484*"), HaveKeyWithValue("cid", "m-light")),
			And(HaveKeyWithValue("version", "1.485"), HaveKeyWithValue("cid", "m-heavy1485"))))
		Expect(rows("releases")).To(ConsistOf(HaveKeyWithValue("version", HaveSuffix("*"))))
		_, _, err = bosh("-n", "delete-stemcell", "bosh-alicloud-kvm-ubuntu-noble/1.484")
		Expect(err).To(HaveOccurred(), "a stemcell in use stays")

		_, errand, err := bosh("-d", "e2e", "run-errand", "slb-registration-test")
		Expect(err).NotTo(HaveOccurred(), errand)
		env = append(env, "BOSH_DOUBLE_ERRAND_FAIL=slb-registration-test")
		out, _, err := bosh("-d", "e2e", "run-errand", "slb-registration-test")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("completed with error"))

		_, stderr, err = bosh("-d", "e2e", "-n", "delete-deployment", "--force")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(rows("deployments")).To(BeEmpty())
		Expect(rows("disks", "--orphaned")).To(ConsistOf(HaveKeyWithValue("disk_cid", "d-e2e1")))
		Expect(rows("stemcells")).To(ContainElement(HaveKeyWithValue("version", "1.484")), "no longer in use")

		_, stderr, err = bosh("-n", "clean-up", "--all")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("refuses clean-up"))
	})

	it("runs the real bosh CLI for what needs no director, and refuses director commands without BOSH_ENVIRONMENT", func() {
		Expect(os.WriteFile(filepath.Join(dir, "m.yml"), []byte("a: ((x))\n"), 0o644)).To(Succeed())
		out, stderr, err := bosh("interpolate", "m.yml", "-v", "x=1")
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(out).To(Equal("a: 1\n"))
		env = env[:1]
		_, stderr, err = bosh("deployments", "--json")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("BOSH_ENVIRONMENT"))
	})

	it("takes the first region of a light stemcell when it is not told the director's", func() {
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "BOSH_DOUBLE_REGION=") })
		light := filepath.Join(dir, "light.tgz")
		testtools.WriteStemcell(t, light, "1.484", map[string]string{"eu-central-1": "m-eu", "cn-hangzhou": "m-hz"})
		_, stderr, err := bosh("upload-stemcell", light)
		Expect(err).NotTo(HaveOccurred(), stderr)
		Expect(stderr).To(ContainSubstring("the director's region is cn-hangzhou"))
		Expect(rows("stemcells")).To(ConsistOf(HaveKeyWithValue("cid", "m-hz")))
	})

	it("refuses a light stemcell without an image in the director's region, as the CPI does", func() {
		light := filepath.Join(dir, "light.tgz")
		testtools.WriteStemcell(t, light, "1.484", map[string]string{"eu-central-1": "m-light"})
		_, stderr, err := bosh("upload-stemcell", light)
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("Can't find stemcell for Region: cn-hangzhou"))
	})
}
