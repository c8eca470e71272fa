package junit_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/lib/junit"
)

func TestJUnit(t *testing.T) {
	suite := spec.New("junit", spec.Report(report.Terminal{}))
	suite("a real go test -json stream", testRealStream)
	suite("streams cut short", testCutShort)
	suite("rspec JSON", testRSpec)
	suite.Run(t)
}

type parsed struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func convert(t *testing.T, stream []byte) (parsed, junit.Summary, string) {
	var echo bytes.Buffer
	rep, err := junit.Read(bytes.NewReader(stream), &echo)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var out bytes.Buffer
	NewWithT(t).Expect(rep.WriteXML(&out)).To(Succeed())
	var p parsed
	NewWithT(t).Expect(xml.Unmarshal(out.Bytes(), &p)).To(Succeed(), out.String())
	return p, rep.Summary(), echo.String()
}

func testRealStream(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("has a case per test and subtest, failures with their output, a failed build as a case", func() {
		dir := t.TempDir()
		files := map[string]string{
			"go.mod":           "module example.test/m\n\ngo 1.26\n",
			"ok/ok_test.go":    "package ok\nimport \"testing\"\nfunc TestA(t *testing.T) {}\nfunc TestB(t *testing.T) { t.Run(\"sub\", func(t *testing.T) {}) }\nfunc TestC(t *testing.T) { t.Skip(\"not here\") }\n",
			"bad/bad_test.go":  "package bad\nimport \"testing\"\nfunc TestBad(t *testing.T) { t.Log(\"the reason\"); t.Fail() }\n",
			"broken/b_test.go": "package broken\nimport \"testing\"\nfunc TestX(t *testing.T) { undefinedThing() }\n",
			"none/none.go":     "package none\n",
		}
		for name, body := range files {
			Expect(os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)).To(Succeed())
			Expect(os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)).To(Succeed())
		}
		cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		stream, err := cmd.Output()
		Expect(err).To(HaveOccurred()) // two packages fail

		p, sum, echo := convert(t, stream)
		Expect(sum).To(Equal(junit.Summary{Tests: 6, Failures: 2, Skipped: 1}))
		Expect(p.Tests).To(Equal(6))
		Expect(p.Failures).To(Equal(2))
		Expect(p.Skipped).To(Equal(1))
		names := map[string][]string{}
		for _, s := range p.Suites {
			for _, c := range s.Cases {
				names[s.Name] = append(names[s.Name], c.Name)
				switch c.Name {
				case "TestBad":
					Expect(c.Failure).NotTo(BeNil())
					Expect(c.Failure.Body).To(ContainSubstring("the reason"))
				case "[package]":
					Expect(c.Failure.Message).To(Equal("Build failed"))
					Expect(c.Failure.Body).To(ContainSubstring("undefinedThing"))
				}
			}
		}
		Expect(names).To(Equal(map[string][]string{
			"example.test/m/ok":     {"TestA", "TestB", "TestB/sub", "TestC"},
			"example.test/m/bad":    {"TestBad"},
			"example.test/m/broken": {"[package]"},
		}))
		Expect(echo).To(ContainSubstring("the reason"))
		Expect(echo).To(ContainSubstring("--- PASS: TestA"))
	})
}

func testCutShort(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("fails a test that started and never ended, and skips lines that are not events", func() {
		stream := strings.Join([]string{
			`{"Action":"start","Package":"p"}`,
			`{"Action":"run","Package":"p","Test":"TestHang"}`,
			`{"Action":"output","Package":"p","Test":"TestHang","Output":"waiting\n"}`,
			`not json`,
			`{"Action":"output","Package":"p","Output":"panic: test timed out\n"}`,
		}, "\n")
		var echo bytes.Buffer
		rep, err := junit.Read(strings.NewReader(stream), &echo)
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Stray).To(Equal(1))
		Expect(rep.Summary()).To(Equal(junit.Summary{Tests: 1, Failures: 1}))
		var out bytes.Buffer
		Expect(rep.WriteXML(&out)).To(Succeed())
		Expect(out.String()).To(ContainSubstring(`message="Did not finish"`))
		Expect(out.String()).To(ContainSubstring("panic: test timed out"))
	})

	it("fails a package that failed with no failing test", func() {
		stream := `{"Action":"start","Package":"p"}` + "\n" + `{"Action":"output","Package":"p","Output":"FAIL p [setup failed]\n"}` + "\n" + `{"Action":"fail","Package":"p","Elapsed":0.1}` + "\n"
		p, sum, _ := convert(t, []byte(stream))
		Expect(sum).To(Equal(junit.Summary{Tests: 1, Failures: 1}))
		Expect(p.Suites[0].Cases[0].Name).To(Equal("[package]"))
	})
}
