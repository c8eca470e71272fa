package version_test

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

func testWindow(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	sorted := func(ss ...string) []version.Version {
		vs := make([]version.Version, len(ss))
		for i, s := range ss {
			vs[i] = version.MustParse(s)
		}
		version.Sort(vs)
		return vs
	}
	texts := func(vs []version.Version) []string {
		out := []string{}
		for _, v := range vs {
			out = append(out, v.String())
		}
		return out
	}
	all := sorted("60.0.0", "61.0.0", "61.0.1", "62")

	it("answers the first check with the latest only", func() {
		Expect(texts(version.Window(all, ""))).To(Equal([]string{"62"}))
	})
	it("answers from the current version on, itself included", func() {
		Expect(texts(version.Window(all, "61.0.0"))).To(Equal([]string{"61.0.0", "61.0.1", "62"}))
		Expect(texts(version.Window(all, "62"))).To(Equal([]string{"62"}))
	})
	it("answers the versions above a current version that is gone", func() {
		Expect(texts(version.Window(all, "61.0.0+dev.3"))).To(Equal([]string{"61.0.1", "62"}))
	})
	it("answers the latest when the current version is above all or not a version", func() {
		Expect(texts(version.Window(all, "63"))).To(Equal([]string{"62"}))
		Expect(texts(version.Window(all, "not a version!"))).To(Equal([]string{"62"}))
	})
	it("answers nothing when there is nothing", func() {
		Expect(version.Window(nil, "61")).To(BeEmpty())
	})
}
