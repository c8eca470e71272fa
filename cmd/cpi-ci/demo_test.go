package main

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// TestDemo runs the demo as `make demo` does; `make test` puts the built bosh and fly on PATH.
func TestDemo(t *testing.T) {
	spec.Run(t, "demo", func(t *testing.T, context spec.G, it spec.S) {
		var Expect = NewWithT(t).Expect

		it("runs the real bosh and fly and agrees with every version bosh chooses", func() {
			stdout, stderr, code := cli("", "demo", "--work-dir", t.TempDir()+"/demo")
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(MatchRegexp(`bosh\s+version 7\.9\.12`))
			Expect(stdout).To(MatchRegexp(`fly\s+7\.14\.2`))
			Expect(stdout).To(MatchRegexp(`create-release --final \(final\)\s+2\.1\.1\s+2\.1\.1\s+ok`))
			Expect(stdout).To(ContainSubstring("demo passed"))
		})
	}, spec.Report(report.Terminal{}))
}
