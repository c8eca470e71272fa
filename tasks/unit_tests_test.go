package tasks_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

type junitReport struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name string `xml:"name,attr"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readReport(t testing.TB, path string) junitReport {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var r junitReport
	NewWithT(t).Expect(xml.Unmarshal(data, &r)).To(Succeed())
	return r
}

func testUnitTests(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var Expect = NewWithT(t).Expect

	it("passes on passing unit tests, skipping the integration packages, with a report of them", func() {
		src, reports := testtools.CPIModule(t), t.TempDir()
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-o", "test-reports="+reports)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stderr).To(ContainSubstring("skipping integration package bosh-alicloud-cpi/integration\n"))
		rep := readReport(t, filepath.Join(reports, "junit.xml"))
		Expect(rep.Tests).To(Equal(2))
		Expect(rep.Failures).To(Equal(0))
		var names []string
		for _, s := range rep.Suites {
			for _, c := range s.Cases {
				names = append(names, s.Name+"."+c.Name)
			}
		}
		Expect(names).To(ConsistOf("bosh-alicloud-cpi/action.TestCreate", "bosh-alicloud-cpi/alicloud.TestRegion"))
	})

	it("fails when a unit test fails, and still writes the report", func() {
		src, reports := testtools.CPIModule(t), t.TempDir()
		writeFiles(t, src, map[string]string{
			"src/bosh-alicloud-cpi/action/broken_test.go": "package action\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { t.Fatal(\"broken on purpose\") }\n",
		})
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-o", "test-reports="+reports)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("broken on purpose"))
		rep := readReport(t, filepath.Join(reports, "junit.xml"))
		Expect(rep.Tests).To(Equal(3))
		Expect(rep.Failures).To(Equal(1))
	})

	it("fails when go vet fails", func() {
		src, reports := testtools.CPIModule(t), t.TempDir()
		writeFiles(t, src, map[string]string{
			"src/bosh-alicloud-cpi/alicloud/vet.go": "package alicloud\n\nimport \"fmt\"\n\nfunc Bad() string { return fmt.Sprintf(\"%d\", \"not a number\") }\n",
		})
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-o", "test-reports="+reports)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("go vet exit 1"))
	})

	it("names CPI_SRC_DIR when it holds no Go module", func() {
		src := testtools.CPIModule(t)
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-p", "CPI_SRC_DIR=src/elsewhere")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("CPI_SRC_DIR: no go.mod in bosh-cpi-src/src/elsewhere"))
	})
}
