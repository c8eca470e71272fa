package yamlnode_test

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/yamlnode"
)

func TestYamlnode(t *testing.T) {
	suite := spec.New("yamlnode", spec.Report(report.Terminal{}))
	suite("helpers", testHelpers)
	suite.Run(t)
}

func testHelpers(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	parse := func(text string) *yaml.Node {
		var doc yaml.Node
		Expect(yaml.Unmarshal([]byte(text), &doc)).To(Succeed())
		return doc.Content[0]
	}

	it("looks up keys through aliases and reads scalars as written", func() {
		root := parse("base: &b {version: 1.10}\nalias: *b\nnothing: ~\n")
		Expect(yamlnode.Scalar(yamlnode.Lookup(yamlnode.Lookup(root, "alias"), "version"))).To(Equal("1.10"))
		Expect(yamlnode.Lookup(root, "missing")).To(BeNil())
		Expect(yamlnode.Lookup(yamlnode.Lookup(root, "nothing"), "x")).To(BeNil())
		Expect(yamlnode.Scalar(yamlnode.Lookup(root, "nothing"))).To(Equal(""))
	})

	it("names kinds for errors", func() {
		root := parse("m: {}\nl: []\ni: 3\nn: null\n")
		Expect(yamlnode.KindName(yamlnode.Lookup(root, "m"))).To(Equal("a mapping"))
		Expect(yamlnode.KindName(yamlnode.Lookup(root, "l"))).To(Equal("a list"))
		Expect(yamlnode.KindName(yamlnode.Lookup(root, "i"))).To(Equal("a scalar (int)"))
		Expect(yamlnode.KindName(yamlnode.Lookup(root, "n"))).To(Equal("nothing"))
		Expect(yamlnode.KindName(nil)).To(Equal("nothing"))
	})

	it("sets, appends and removes keys in order, and clones deeply", func() {
		root := parse("a: 1\nb: 2\n")
		clone := yamlnode.Clone(root)
		yamlnode.Set(root, "a", yamlnode.String("x"))
		yamlnode.Set(root, "c", yamlnode.String("3"))
		yamlnode.Remove(root, "b")
		out, err := yaml.Marshal(root)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(Equal("a: x\nc: \"3\"\n"))
		out, err = yaml.Marshal(clone)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(Equal("a: 1\nb: 2\n"))
	})
}
