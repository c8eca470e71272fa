package depcheck_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/internal/depcheck"
	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

func TestDepcheck(t *testing.T) {
	suite := spec.New("depcheck", spec.Report(report.Terminal{}))
	suite("the real tree", testRealTree)
	suite("a graph that breaks each rule", testBroken)
	suite.Run(t)
}

func testRealTree(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	var g depcheck.Graph

	it.Before(func() {
		root, err := testtools.ModuleRoot()
		Expect(err).NotTo(HaveOccurred())
		g, err = depcheck.Load(root)
		Expect(err).NotTo(HaveOccurred())
	})

	it("keeps every layering rule", func() {
		Expect(depcheck.Check(depcheck.Rules, g)).To(BeEmpty())
	})

	it("applies every rule to at least one package, so a renamed folder cannot empty a rule", func() {
		for _, r := range depcheck.Rules {
			Expect(r.Packages(g)).NotTo(BeEmpty(), r.Name)
		}
	})

	it("sees the resource binaries link the cloud layer (the graph is real)", func() {
		Expect(g[depcheck.Module+"/resources/light-stemcell"]).To(ContainElement(depcheck.Module + "/lib/alicloud"))
		Expect(g[depcheck.Module+"/resources/bosh-release"]).To(ContainElement(depcheck.Module + "/lib/concourse"))
	})
}

func testBroken(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	pkg := func(p string) string { return depcheck.Module + "/" + p }

	// One forbidden link per rule, each naming both packages.
	cases := []struct{ from, links, rule string }{
		{"lib/alicloud/sim", "lib/version", "the emulator"},
		{"lib/alicloud", "lib/concourse", "the cloud layer"},
		{"lib/alicloud", "lib/stemcell", "the cloud layer"},
		{"lib/release", "lib/concourse", "domain packages"},
		{"lib/stemcell/builder", "lib/concourse", "domain packages"},
		{"lib/stemcell/records", "resources/light-stemcell", "domain packages"},
		{"lib/version", "cmd/cpi-ci", "domain packages"},
		{"lib/director", "lib/concourse", "domain packages"},
		{"resources/director-env", "lib/alicloud/sim", "resource binaries"},
		{"resources/bosh-release", "lib/alicloud/sim", "resource binaries"},
		{"resources/light-stemcell", "lib/stemcell/stemcelltest", "resource binaries"},
		{"resources/light-stemcell", "internal/testtools", "resource binaries"},
		{"resources/bosh-release", "github.com/concourse/concourse/atc/configvalidate", "resource binaries"},
		{"resources/light-stemcell", "lib/localconcourse", "resource binaries"},
		{"resources/bosh-release", "lib/image", "resource binaries"},
		{"resources/light-stemcell", "lib/concourse/localexec", "resource binaries"},
		{"resources/bosh-release", "github.com/google/go-containerregistry/pkg/registry", "resource binaries"},
		{"lib/problems", "lib/concourse", "leaf packages"},
		{"lib/junit", "lib/concourse", "leaf packages"},
		{"lib/concourse", "lib/alicloud", "the protocol kit"},
		{"lib/concourse/conformance", "lib/release", "the protocol kit"},
	}
	for _, c := range cases {
		it("reports "+c.from+" linking "+c.links, func() {
			links := c.links
			if !strings.HasPrefix(links, "github.com/") {
				links = pkg(links)
			}
			g := depcheck.Graph{pkg(c.from): {links}, links: nil}
			violations := depcheck.Check(depcheck.Rules, g)
			Expect(violations).To(HaveLen(1))
			Expect(violations[0].Rule).To(HavePrefix(c.rule))
			Expect(violations[0].Package).To(Equal(pkg(c.from)))
			Expect(violations[0].Links).To(Equal(links))
			Expect(violations[0].String()).To(ContainSubstring(c.from + " links " + strings.TrimPrefix(links, depcheck.Module+"/")))
		})
	}

	it("lets the demo's helpers use what production code may not", func() {
		g := depcheck.Graph{pkg("cmd/cpi-ci"): {pkg("lib/stemcell/stemcelltest"), pkg("lib/alicloud/sim")}, pkg("lib/stemcell/stemcelltest"): {pkg("lib/stemcell")}}
		Expect(depcheck.Check(depcheck.Rules, g)).To(BeEmpty())
	})
}
