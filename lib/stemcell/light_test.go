package stemcell_test

import (
	"archive/tar"
	"bytes"
	"strings"
	"time"

	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testWriteLight(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	ids := map[string]string{"cn-hangzhou": "m-bp1abc", "cn-beijing": "m-2zedef", "ap-southeast-1": "m-t4nghi"}
	var heavy *stemcell.Heavy
	var image []byte

	it.Before(func() {
		var tarball []byte
		tarball, image = stemcelltest.HeavyStemcell(t, []byte("root disk"))
		var err error
		heavy, err = stemcell.ReadHeavy(bytes.NewReader(tarball), nil)
		Expect(err).NotTo(HaveOccurred())
	})

	write := func(m *stemcell.Manifest, members []stemcell.Member, ids map[string]string) []byte {
		t.Helper()
		var buf bytes.Buffer
		Expect(stemcell.WriteLight(&buf, m, members, ids)).To(Succeed())
		return buf.Bytes()
	}

	it("writes the heavy stemcell's members in order, image empty, stemcell.MF with the image ids", func() {
		hdrs, contents := stemcelltest.ReadTar(t, write(heavy.Manifest, heavy.Members, ids))
		var names []string
		for _, h := range hdrs {
			names = append(names, h.Name)
		}
		Expect(names).To(Equal([]string{"dev_tools_file_list.txt", "image", "packages.txt", "sbom.spdx.json", "stemcell.MF"}))
		Expect(contents["image"]).To(BeEmpty())
		Expect(contents["packages.txt"]).To(Equal([]byte("ii  openssl 3.0.13 amd64\n")))
		Expect(contents["sbom.spdx.json"]).To(Equal([]byte(`{"spdxVersion":"SPDX-2.3"}`)))

		light, err := stemcell.ParseManifest(contents["stemcell.MF"])
		Expect(err).NotTo(HaveOccurred())
		Expect(light.IsLight()).To(BeTrue())
		Expect(light.ImageIDs()).To(Equal(ids))
		Expect(light.SHA1()).To(Equal(stemcelltest.SHA1Hex(image)))
		Expect(light.StemcellFormats()).To(Equal([]string{"alicloud-raw"}))
		Expect(light.Version()).To(Equal("1.484"))
		Expect(light.CloudProperties()).To(Equal(heavy.Manifest.CloudProperties()))
		Expect(light.Validate()).To(Succeed())
		Expect(light.ImageFor("cn-beijing")).To(Equal("m-2zedef"))
		Expect(string(contents["stemcell.MF"])).To(HaveSuffix(
			"  image_id:\n    ap-southeast-1: m-t4nghi\n    cn-beijing: m-2zedef\n    cn-hangzhou: m-bp1abc\n"))

		Expect(heavy.Manifest.IsLight()).To(BeFalse(), "WriteLight changed the heavy manifest")
	})

	it("writes fixed owners, modes and times", func() {
		hdrs, _ := stemcelltest.ReadTar(t, write(heavy.Manifest, append([]stemcell.Member{{Name: "sboms", Dir: true}}, heavy.Members...), ids))
		for _, h := range hdrs {
			Expect(h.ModTime.Equal(time.Unix(0, 0))).To(BeTrue(), h.Name)
			Expect(h.Uid).To(Equal(0), h.Name)
			Expect(h.Gid).To(Equal(0), h.Name)
			Expect(h.Uname).To(BeEmpty(), h.Name)
			Expect(strings.HasPrefix(h.Name, "./")).To(BeFalse(), h.Name)
			if h.Typeflag == tar.TypeDir {
				Expect(h.Name).To(Equal("sboms/"))
				Expect(h.Mode).To(Equal(int64(0o755)))
			} else {
				Expect(h.Typeflag).To(Equal(byte(tar.TypeReg)), h.Name)
				Expect(h.Mode).To(Equal(int64(0o644)), h.Name)
			}
		}
	})

	it("gives the same bytes for the same inputs, whatever the map order", func() {
		first := write(heavy.Manifest, heavy.Members, ids)
		for i := 0; i < 5; i++ {
			again := map[string]string{}
			for k, v := range ids {
				again[k] = v
			}
			Expect(bytes.Equal(write(heavy.Manifest, heavy.Members, again), first)).To(BeTrue())
		}
		other := write(heavy.Manifest, heavy.Members, map[string]string{"cn-hangzhou": "m-bp1abc"})
		Expect(bytes.Equal(other, first)).To(BeFalse())
	})

	it("drops ./ prefixes and writes a missing stemcell.MF and image first", func() {
		hdrs, contents := stemcelltest.ReadTar(t, write(heavy.Manifest, []stemcell.Member{{Name: "./packages.txt", Data: []byte("p")}}, ids))
		var names []string
		for _, h := range hdrs {
			names = append(names, h.Name)
		}
		Expect(names).To(Equal([]string{"stemcell.MF", "image", "packages.txt"}))
		Expect(contents["packages.txt"]).To(Equal([]byte("p")))
	})

	it("refuses no image ids, unsafe or duplicate member names and an invalid manifest", func() {
		var buf bytes.Buffer
		Expect(stemcell.WriteLight(&buf, heavy.Manifest, heavy.Members, nil)).To(MatchError(
			"writing light stemcell: no image ids (a light stemcell needs an image in at least one region)"))
		Expect(stemcell.WriteLight(&buf, heavy.Manifest, []stemcell.Member{{Name: "../x"}}, ids)).To(MatchError(
			`writing light stemcell: member "../x": not a safe member name`))
		Expect(stemcell.WriteLight(&buf, heavy.Manifest, []stemcell.Member{{Name: "a"}, {Name: "./a"}}, ids)).To(MatchError(
			`writing light stemcell: member "a" appears twice`))
		Expect(stemcell.WriteLight(&buf, heavy.Manifest, heavy.Members, map[string]string{"cn-hangzhou": ""})).To(MatchError(
			"writing light stemcell: stemcell.MF: cloud_properties.image_id.cn-hangzhou must be an image id, got a scalar (str)"))
	})

	it("writes what ReadHeavy knows for a light stemcell and refuses", func() {
		_, err := stemcell.ReadHeavy(bytes.NewReader(write(heavy.Manifest, heavy.Members, ids)), nil)
		Expect(err).To(MatchError("stemcell bosh-alicloud-kvm-ubuntu-noble/1.484 is a light stemcell (it has cloud_properties.image_id), not a heavy one"))
	})

	it("names light stemcells after their heavy stemcell", func() {
		Expect(stemcell.LightName("bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz")).To(Equal("light-bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz"))
		Expect(stemcell.LightName("out/bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz")).To(Equal("out/light-bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz"))
	})
}
