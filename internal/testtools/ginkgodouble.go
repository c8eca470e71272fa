package testtools

import (
	"github.com/bosh-alicloud/concourse-pack/lib/fixtures"
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
			"ginkgo-src/ginkgo/main.go":             fixtures.GinkgoDouble,
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
