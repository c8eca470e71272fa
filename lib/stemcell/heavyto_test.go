package stemcell_test

import (
	"bytes"
	"io"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

func testReadHeavyTo(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("writes the image member as it streams root.img out of it, in one pass", func() {
		root := bytes.Repeat([]byte("raw image "), 10000)
		tarball, image := stemcelltest.HeavyStemcell(t, root)
		var out, got bytes.Buffer
		h, err := stemcell.ReadHeavyTo(bytes.NewReader(tarball), &out, func(r io.Reader, size int64) error {
			_, err := io.Copy(&got, r)
			return err
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(out.Bytes()).To(Equal(image))
		Expect(got.Bytes()).To(Equal(root))
		Expect(h.Manifest.Version()).To(Equal("1.484"))
	})

	it("fails when the image's SHA-1 is not the manifest's, so what it wrote is not to be used", func() {
		image := stemcelltest.ImageTgz(t, []byte("raw"))
		tarball := stemcelltest.Tgz(t, stemcelltest.File("image", image), stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor([]byte("another image"))))
		_, err := stemcell.ReadHeavyTo(bytes.NewReader(tarball), io.Discard, nil)
		Expect(err).To(HaveOccurred())
	})
}
