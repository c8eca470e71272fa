package tasks_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// cpiModule writes a Go module shaped like the CPI's (src/bosh-alicloud-cpi, a vendored
// dependency, unit packages and an integration package that fails outside a cloud) into a new
// bosh-cpi-src directory and returns it.
func cpiModule(t testing.TB) string {
	src := t.TempDir()
	mod := filepath.Join(src, "src", "bosh-alicloud-cpi")
	writeFiles(t, src, map[string]string{
		"src/bosh-alicloud-cpi/go.mod":                                  "module bosh-alicloud-cpi\n\ngo 1.26\n\nrequire example.test/dep v0.0.0\n\nreplace example.test/dep => ./dep\n",
		"src/bosh-alicloud-cpi/dep/go.mod":                              "module example.test/dep\n\ngo 1.26\n",
		"src/bosh-alicloud-cpi/dep/dep.go":                              "package dep\n\nfunc Answer() int { return 42 }\n",
		"src/bosh-alicloud-cpi/action/action.go":                        "package action\n\nimport \"example.test/dep\"\n\nfunc Create() int { return dep.Answer() }\n",
		"src/bosh-alicloud-cpi/action/action_test.go":                   "package action\n\nimport \"testing\"\n\nfunc TestCreate(t *testing.T) {\n\tif Create() != 42 {\n\t\tt.Fatal(\"wrong\")\n\t}\n}\n",
		"src/bosh-alicloud-cpi/alicloud/client.go":                      "package alicloud\n\nfunc Region() string { return \"cn-beijing\" }\n",
		"src/bosh-alicloud-cpi/alicloud/client_test.go":                 "package alicloud\n\nimport \"testing\"\n\nfunc TestRegion(t *testing.T) {\n\tif Region() == \"\" {\n\t\tt.Fatal(\"empty\")\n\t}\n}\n",
		"src/bosh-alicloud-cpi/integration/integration_test.go":         "package integration\n\nimport \"testing\"\n\nfunc TestNeedsACloud(t *testing.T) { t.Fatal(\"no cloud here\") }\n",
		"src/bosh-alicloud-cpi/integration/lifecycle/lifecycle_test.go": "package lifecycle\n\nimport \"testing\"\n\nfunc TestLifecycle(t *testing.T) { t.Fatal(\"no cloud here\") }\n",
	})
	run(t, append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"), mod, "go", "mod", "vendor")
	NewWithT(t).Expect(filepath.Join(mod, "vendor", "modules.txt")).To(BeAnExistingFile())
	NewWithT(t).Expect(os.RemoveAll(filepath.Join(mod, "dep"))).To(Succeed()) // only the vendored copy remains: -mod=vendor is needed
	return src
}

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
		src, reports := cpiModule(t), t.TempDir()
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
		src, reports := cpiModule(t), t.TempDir()
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
		src, reports := cpiModule(t), t.TempDir()
		writeFiles(t, src, map[string]string{
			"src/bosh-alicloud-cpi/alicloud/vet.go": "package alicloud\n\nimport \"fmt\"\n\nfunc Bad() string { return fmt.Sprintf(\"%d\", \"not a number\") }\n",
		})
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-o", "test-reports="+reports)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("go vet exit 1"))
	})

	it("names CPI_SRC_DIR when it holds no Go module", func() {
		src := cpiModule(t)
		r := env.execute(t, t.TempDir(), "unit-tests", "-i", "bosh-cpi-src="+src, "-p", "CPI_SRC_DIR=src/elsewhere")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("CPI_SRC_DIR: no go.mod in bosh-cpi-src/src/elsewhere"))
	})
}
