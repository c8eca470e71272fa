package release_test

import (
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/release"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testManifest(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("keeps versions and hashes as written even where YAML sees numbers", func() {
		m := must(release.ParseManifest([]byte(`
name: demo
version: 1.10
commit_hash: 1234567
uncommitted_changes: true
jobs:
- {name: hello, version: 1.0, fingerprint: 0123, sha1: ` + sha1Hex + `, packages: [lib]}
packages:
- {name: lib, version: 2, fingerprint: abc, sha1: "sha256:` + sha256Hex + `", dependencies: []}
`)))
		Expect(m.Version).To(Equal("1.10"))
		Expect(m.CommitHash).To(Equal("1234567"))
		Expect(m.UncommittedChanges).To(BeTrue())
		Expect(m.Jobs[0].Version).To(Equal("1.0"))
		Expect(m.Jobs[0].Fingerprint).To(Equal("0123"))
		Expect(m.Jobs[0].Packages).To(Equal([]string{"lib"}))
		Expect(m.Packages[0].Version).To(Equal("2"))
		Expect(m.License).To(BeNil())
	})

	it("reads compiled packages with their stemcell, and names the license", func() {
		m := must(release.ParseManifest([]byte(`
name: demo
version: "3"
jobs:
- {name: hello, fingerprint: f, sha1: ` + sha1Hex + `, packages: [greeter]}
compiled_packages:
- {name: greeter, version: v, fingerprint: g, sha1: ` + sha1Hex + `, stemcell: ubuntu-jammy/1.484, dependencies: [lib]}
- {name: lib, version: v, fingerprint: l, sha1: ` + sha1Hex + `, stemcell: ubuntu-jammy/1.484}
license: {version: x, fingerprint: x, sha1: ` + sha1Hex + `}
`)))
		Expect(m.CompiledPackages).To(HaveLen(2))
		Expect(m.CompiledPackages[0].Stemcell).To(Equal("ubuntu-jammy/1.484"))
		Expect(m.CompiledPackages[0].Dependencies).To(Equal([]string{"lib"}))
		Expect(m.License.Name).To(Equal("license"))
	})

	it("reads the !binary tags the Ruby CLI wrote", func() {
		// MQ== is base64 of "1"
		m := must(release.ParseManifest([]byte(`
name: old
version: "5"
jobs:
- name: hello
  version: !binary |-
    MQ==
  fingerprint: f
  sha1: ` + sha1Hex + `
`)))
		Expect(m.Jobs[0].Version).To(Equal("1"))
	})

	it("lists every problem at once", func() {
		_, err := release.ParseManifest([]byte(`
version: not a version!
jobs:
- {name: hello, sha1: nope, packages: [missing]}
- {name: hello, sha1: ` + sha1Hex + `}
- {name: ../evil, sha1: ` + sha1Hex + `}
packages:
- {name: greeter, sha1: ` + sha1Hex + `, dependencies: [lib]}
`))
		Expect(err).To(HaveOccurred())
		for _, want := range []string{
			"name is missing",
			`invalid BOSH version "not a version!"`,
			`job "hello": sha1: invalid digest "nope"`,
			`job "hello" uses package "missing", which the release does not have`,
			`job "hello": listed twice`,
			`job "../evil": not a plain name`,
			`package "greeter" depends on package "lib", which the release does not have`,
		} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})

	it("refuses what is not YAML", func() {
		_, err := release.ParseManifest([]byte("name: [unclosed"))
		Expect(err).To(MatchError(ContainSubstring("not a release manifest")))
	})
}
