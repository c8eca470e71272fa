package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testDemo runs the demo as `make demo` does, with freshly built resources and the repository's
// bin/ (where `make tools` puts bosh and fly) first on PATH.
func testDemo(t *testing.T, context spec.G, it spec.S) {
	it.Before(func() {
		bin, err := filepath.Abs("../../bin")
		if err != nil {
			t.Fatal(err)
		}
		// The resources are built fresh, so the demo never runs a stale binary left in bin/.
		fresh := t.TempDir()
		for binary, pkg := range map[string]string{"bosh-release-resource": "../../resources/bosh-release", "light-stemcell-resource": "../../resources/light-stemcell"} {
			build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(fresh, binary), pkg)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building %s: %v\n%s", binary, err, out)
			}
		}
		t.Setenv("PATH", fresh+string(os.PathListSeparator)+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	})

	var Expect = NewWithT(t).Expect

	it("runs the real bosh and fly, agrees with every version bosh chooses, publishes and fetches a release, and builds, promotes and fetches a light stemcell", func() {
		stdout, stderr, code := cli("", "demo", "--work-dir", t.TempDir()+"/demo")
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(MatchRegexp(`bosh\s+version 7\.9\.12`))
		Expect(stdout).To(MatchRegexp(`fly\s+7\.14\.2`))
		Expect(stdout).To(MatchRegexp(`create-release --final \(final\)\s+2\.1\.1\s+2\.1\.1\s+ok`))
		Expect(stdout).To(ContainSubstring("published demo 2.1.1"))
		Expect(stdout).To(ContainSubstring("already published with the same content"))
		Expect(stdout).To(ContainSubstring("files: next-final, release.MF, release.tgz, sha1, sha256, url, version"))
		Expect(stdout).To(ContainSubstring("bosh-alicloud-kvm-ubuntu-noble 1.484 is on the published channel: 3 regions"))
		Expect(stdout).To(MatchRegexp(`"eu-central-1": "m-[a-z0-9]+"`))
		Expect(stdout).To(ContainSubstring("demo passed"))
	})

}
