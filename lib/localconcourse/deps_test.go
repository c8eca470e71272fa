package localconcourse

import (
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testDependencies(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("stay out of the resource binaries: no local Concourse, no image builder, no registry, no atc", func() {
		out, err := exec.Command("go", "list", "-deps", "../../resources/bosh-release", "../../resources/light-stemcell").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(strings.Fields(string(out))).To(ContainElement("github.com/bosh-alicloud/concourse-pack/lib/concourse"))
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range []string{
				"github.com/bosh-alicloud/concourse-pack/lib/localconcourse",
				"github.com/bosh-alicloud/concourse-pack/lib/image",
				"github.com/google/go-containerregistry",
				"github.com/concourse/concourse",
			} {
				Expect(strings.HasPrefix(dep, bad)).To(BeFalse(), "a resource binary links %s", dep)
			}
		}
	})
}
