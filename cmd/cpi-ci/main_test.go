package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestCLI(t *testing.T) {
	binary := conformance.Compile(t, ".")
	suite := spec.New("cpi-ci", spec.Report(report.Terminal{}))
	suite("commands", testCommands)
	suite("stemcell", testStemcellCommand)
	suite("stemcell guard", testStemcellGuard)
	suite("integration", testIntegrationCommand)
	suite("director", testDirectorCommand)
	suite("release", testReleaseCommand)
	suite("blob through a proxy", func(t *testing.T, context spec.G, it spec.S) { testBlobThroughProxy(t, context, it, binary) })
	suite("demo", testDemo)
	suite("bosh-version", testBoshVersion)
	suite("concourse and images", testConcourseCLI)
	suite("task helpers: execute, junit, sha256", testTaskHelpers)
	suite("bats", testBatsCommand)
	suite("e2e", testE2ECommand)
	suite("cloud", func(t *testing.T, context spec.G, it spec.S) { testCloudCommand(t, context, it, binary) })
	suite("cleanup: ensure-terminated and director teardown", testCleanupCommands)
	suite("terraform", testTerraformCommand)
	suite.Run(t)
}

// cli runs cpi-ci with args and stdin, returning stdout, stderr and the exit code.
func cli(stdin string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, stdio{strings.NewReader(stdin), &out, &errOut})
	return out.String(), errOut.String(), code
}

func testCommands(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("lists the commands when run without one, and exits 1", func() {
		_, stderr, code := cli("")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("bosh-version"))
		Expect(stderr).To(ContainSubstring("demo"))
	})

	it("names an unknown command", func() {
		_, stderr, code := cli("", "deploy")
		Expect(code).To(Equal(1))
		Expect(stderr).To(HavePrefix(`error: unknown command "deploy"`))
	})

	it("refuses to wipe a work dir the demo did not make", func() {
		dir := t.TempDir()
		Expect(writeFile(dir+"/precious", "keep me")).To(Succeed())
		_, stderr, code := cli("", "demo", "--work-dir", dir)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("is not empty and was not made by the demo"))
		Expect(dir + "/precious").To(BeAnExistingFile())
	})
}

func testBoshVersion(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("sort", func() {
		it("orders arguments as the bosh CLI does", func() {
			stdout, stderr, code := cli("", "bosh-version", "sort", "194.1+dev.1", "194.1", "193", "194.1-dev", "194+dev.1", "194")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal("193\n194\n194+dev.1\n194.1-dev\n194.1\n194.1+dev.1\n"))
		})

		it("reads stdin, filters by family and keeps finals only when asked", func() {
			stdout, stderr, code := cli("61.0.1\n62.0.0\n61.0.0+dev.2\n\n61.0.2-rc.1\n", "bosh-version", "sort", "--family", "61.latest", "--final-only")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal("61.0.1\n"))
		})

		it("names every version it cannot parse", func() {
			_, stderr, code := cli("", "bosh-version", "sort", "1.2", "1..2", "", "x+")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(`"1..2"`))
			Expect(stderr).To(ContainSubstring(`"x+"`))
		})

		it("explains a bad family", func() {
			_, stderr, code := cli("", "bosh-version", "sort", "--family", "sixty-one", "1")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("sixty-one"))
			Expect(stderr).To(ContainSubstring("accepted forms"))
		})
	})

	context("latest", func() {
		it("prints the newest version of the family", func() {
			stdout, _, code := cli("", "bosh-version", "latest", "--family", "1.x", "1.484", "2.1", "1.1000", "1.485", "1.9")
			Expect(code).To(Equal(0))
			Expect(stdout).To(Equal("1.1000\n"))
		})

		it("fails when nothing matches", func() {
			_, stderr, code := cli("", "bosh-version", "latest", "--family", "2.latest", "1.484")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(`no version of 1 matches family "2.latest"`))
		})
	})

	context("next-dev and next-final", func() {
		it("follow the bosh CLI's rules", func() {
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"next-dev"}, "0+dev.1"},
				{[]string{"next-dev", "--last-final", "61.0.0"}, "61.0.0+dev.1"},
				{[]string{"next-dev", "--last-final", "61.0.0", "--last-dev", "61.0.0+dev.3"}, "61.0.0+dev.4"},
				{[]string{"next-final"}, "1"},
				{[]string{"next-final", "--last-final", "1.484"}, "1.485"},
			} {
				stdout, stderr, code := cli("", append([]string{"bosh-version"}, c.args...)...)
				Expect(code).To(Equal(0), stderr)
				Expect(stdout).To(Equal(c.want+"\n"), "%v", c.args)
			}
		})

		it("rejects a bad version naming the flag", func() {
			_, stderr, code := cli("", "bosh-version", "next-dev", "--last-dev", "1..0")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("--last-dev"))
		})
	})
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
