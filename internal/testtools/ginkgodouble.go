package testtools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The variables the ginkgo double of IntegrationCPIModule reads.
const (
	GinkgoDoubleDir      = "GINKGO_DOUBLE_DIR"       // where it records argv, env, dir (required)
	GinkgoDoubleWait     = "GINKGO_DOUBLE_WAIT"      // a file it waits for before it finishes
	GinkgoDoubleExit     = "GINKGO_DOUBLE_EXIT"      // its exit code (default 0)
	GinkgoDoubleNoReport = "GINKGO_DOUBLE_NO_REPORT" // non-empty: it writes no JUnit report
	GinkgoDoubleSay      = "GINKGO_DOUBLE_SAY"       // a variable whose value it prints
)

// ginkgoDouble is the main of the fake github.com/onsi/ginkgo/ginkgo: it records its call, waits
// when told to, writes the JUnit report -reportFile= names (failed when it exits non-zero) and
// exits as told. Only the standard library: it builds from the vendor directory alone.
const ginkgoDouble = `// Command ginkgo is a recording test double of the ginkgo v1 CLI.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	// Without GINKGO_DOUBLE_DIR (a Concourse task, whose environment is its params only) the call
	// is printed instead of recorded.
	dir := os.Getenv("GINKGO_DOUBLE_DIR")
	if dir == "" {
		fmt.Println("ginkgo double: argv:", strings.Join(os.Args[1:], " "))
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "CPI_") && !strings.Contains(kv, "SECRET") && !strings.Contains(kv, "TOKEN") {
				fmt.Println("ginkgo double: env:", kv)
			}
		}
	}
	write := func(name, content string) {
		if dir == "" {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ginkgo double:", err)
			os.Exit(2)
		}
	}
	write("argv", strings.Join(os.Args[1:], "\x00"))
	write("env", strings.Join(os.Environ(), "\x00"))
	wd, _ := os.Getwd()
	write("dir", wd)
	write("started", "")
	if name := os.Getenv("GINKGO_DOUBLE_SAY"); name != "" {
		fmt.Printf("ginkgo double: %s=%s\n", name, os.Getenv(name))
	}
	if wait := os.Getenv("GINKGO_DOUBLE_WAIT"); wait != "" {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if _, err := os.Stat(wait); err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintln(os.Stderr, "ginkgo double: gave up waiting for", wait)
				os.Exit(3)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	code, _ := strconv.Atoi(os.Getenv("GINKGO_DOUBLE_EXIT"))
	for _, a := range os.Args[1:] {
		report, ok := strings.CutPrefix(a, "-reportFile=")
		if !ok || os.Getenv("GINKGO_DOUBLE_NO_REPORT") != "" {
			continue
		}
		failures, failure := 0, ""
		if code != 0 {
			failures, failure = 1, "<failure message=\"Failed\">spec failed on purpose</failure>"
		}
		xml := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"Integration Suite\" tests=\"2\" failures=\"%d\" errors=\"0\" time=\"1\">\n  <testcase name=\"integration:stemcell creates a stemcell\" classname=\"Integration Suite\" time=\"0.5\"></testcase>\n  <testcase name=\"integration:vm creates a vm\" classname=\"Integration Suite\" time=\"0.5\">%s</testcase>\n</testsuite>\n", failures, failure)
		if err := os.WriteFile(report, []byte(xml), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "ginkgo double:", err)
			os.Exit(2)
		}
	}
	fmt.Println("ginkgo double: done")
	os.Exit(code)
}
`

// IntegrationCPIModule is CPIModule whose vendor directory also holds
// github.com/onsi/ginkgo/ginkgo (vendored through a tools.go, as a module that pins its tools
// does), whose main is a recording double (GinkgoCall reads what it recorded): a task that
// builds ginkgo from the vendor directory runs the double.
func IntegrationCPIModule(t testing.TB) string {
	t.Helper()
	return cpiModule(t,
		"require (\n\texample.test/dep v0.0.0\n\tgithub.com/onsi/ginkgo v1.16.5\n)\n\nreplace example.test/dep => ./dep\n\nreplace github.com/onsi/ginkgo => ./ginkgo-src\n",
		map[string]string{
			"tools.go":                              "//go:build tools\n\npackage tools\n\nimport _ \"github.com/onsi/ginkgo/ginkgo\"\n",
			"ginkgo-src/go.mod":                     "module github.com/onsi/ginkgo\n\ngo 1.26\n",
			"ginkgo-src/ginkgo/main.go":             ginkgoDouble,
			"integration/config.go":                 "package integration\n",
			"integration/integration_suite_test.go": "package integration\n\nimport \"testing\"\n\nfunc TestIntegration(t *testing.T) { t.Fatal(\"no cloud here\") }\n",
		}, "dep", "ginkgo-src")
}

// GinkgoCall is what the ginkgo double recorded in dir, once it has started; ok is false
// before.
func GinkgoCall(t testing.TB, dir string) (Call, bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "started")); err != nil {
		return Call{}, false
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	c := Call{Argv: splitNUL([]byte(read("argv"))), Env: map[string]string{}, Dir: read("dir")}
	for _, kv := range splitNUL([]byte(read("env"))) {
		k, v, _ := strings.Cut(kv, "=")
		c.Env[k] = v
	}
	return c, true
}

// WaitGinkgo waits (up to a minute) for the ginkgo double to start and returns its call.
func WaitGinkgo(t testing.TB, dir string) Call {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if c, ok := GinkgoCall(t, dir); ok {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the ginkgo double did not start within a minute")
	return Call{}
}
