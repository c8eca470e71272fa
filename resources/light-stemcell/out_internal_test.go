package main

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// The light manifest out records is checked here, inside the package: a build that made a
// manifest the CPI cannot read is refused before anything is uploaded or recorded.
func TestLightManifest(t *testing.T) {
	spec.Run(t, "lightManifest", func(t *testing.T, _ spec.G, it spec.S) {
		var Expect = NewWithT(t).Expect
		heavy := func() *stemcell.Manifest {
			m, err := stemcell.ParseManifest(stemcelltest.ManifestFor([]byte("an image")))
			Expect(err).NotTo(HaveOccurred())
			return m
		}

		it("records the light stemcell.MF with every region's image", func() {
			text, err := lightManifest(heavy(), map[string]string{"cn-hangzhou": "m-1", "eu-central-1": "m-2"})
			Expect(err).NotTo(HaveOccurred())
			back, err := stemcell.ParseManifest([]byte(text))
			Expect(err).NotTo(HaveOccurred())
			Expect(back.ImageIDs()).To(Equal(map[string]string{"cn-hangzhou": "m-1", "eu-central-1": "m-2"}))
			Expect(back.Version()).To(Equal("1.484"))
		})

		it("refuses a manifest the CPI could not use, naming the stemcell", func() {
			_, err := lightManifest(heavy(), map[string]string{"cn-hangzhou": ""})
			Expect(err).To(MatchError(ContainSubstring("the light stemcell.MF of bosh-alicloud-kvm-ubuntu-noble 1.484 would not be valid")))
			_, err = lightManifest(heavy(), map[string]string{})
			Expect(err).To(MatchError(ContainSubstring("would not be valid")))
		})
	}, spec.Report(report.Terminal{}))
}
