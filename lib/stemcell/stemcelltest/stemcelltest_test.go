package stemcelltest_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestStemcelltest(t *testing.T) {
	spec.Run(t, "WriteHeavy", func(t *testing.T, _ spec.G, it spec.S) {
		var Expect = NewWithT(t).Expect
		it("writes a heavy stemcell ReadHeavy accepts, holding the given root.img", func() {
			var buf bytes.Buffer
			Expect(stemcelltest.WriteHeavy(&buf, "bosh-alicloud-kvm-ubuntu-noble", "1.484", []byte("disk bytes"))).To(Succeed())
			var root []byte
			heavy, err := stemcell.ReadHeavy(&buf, func(r io.Reader, _ int64) (err error) {
				root, err = io.ReadAll(r)
				return err
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(string(root)).To(Equal("disk bytes"))
			Expect(heavy.Manifest.Name()).To(Equal("bosh-alicloud-kvm-ubuntu-noble"))
			Expect(heavy.Manifest.Version()).To(Equal("1.484"))
			Expect(stemcelltest.HeavyName("bosh-alicloud-kvm-ubuntu-noble", "1.484")).To(Equal("bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz"))
		})
	}, spec.Report(report.Terminal{}))
}
