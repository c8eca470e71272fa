package stemcell_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"
)

const someSHA1 = "0a4d55a8d778e5022fab701977c5d840bbc486d0"

func testManifest(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	parse := func(doc string) *stemcell.Manifest {
		t.Helper()
		m, err := stemcell.ParseManifest([]byte(doc))
		Expect(err).NotTo(HaveOccurred())
		return m
	}
	heavy := func() *stemcell.Manifest { return parse(fmt.Sprintf(stemcelltest.HeavyMF, someSHA1)) }

	context("a heavy Alibaba Cloud stemcell.MF", func() {
		it("reads every field as written", func() {
			m := heavy()
			Expect(m.Name()).To(Equal("bosh-alicloud-kvm-ubuntu-noble"))
			Expect(m.Version()).To(Equal("1.484"))
			Expect(m.OperatingSystem()).To(Equal("ubuntu-noble"))
			Expect(m.SHA1()).To(Equal(someSHA1))
			Expect(m.StemcellFormats()).To(Equal([]string{"alicloud-raw"}))
			Expect(m.CloudProperties()).To(Equal(stemcell.CloudProperties{
				Name: "bosh-alicloud-kvm-ubuntu-noble", Version: "1.484", Infrastructure: "alicloud",
				Hypervisor: "kvm", Disk: 5120, DiskFormat: "raw", ContainerFormat: "bare", OSType: "linux",
				OSDistro: "ubuntu", Architecture: "x86_64", RootDeviceName: "/dev/vda1", NVMeSupport: "supported",
			}))
			Expect(m.ImageIDs()).To(BeNil())
			Expect(m.IsLight()).To(BeFalse())
			Expect(m.Validate()).To(Succeed())
		})
	})

	context("version", func() {
		for _, tc := range []struct{ yaml, want string }{
			{`'1.484'`, "1.484"},
			{`1.484`, "1.484"},
			{`1.10`, "1.10"},
			{`621.125`, "621.125"},
			{`"1.90"`, "1.90"},
			{`1`, "1"},
		} {
			it(fmt.Sprintf("stays the string %q when written %s, and is written back the same", tc.want, tc.yaml), func() {
				m := parse("name: n\nversion: " + tc.yaml + "\ncloud_properties:\n  version: " + tc.yaml + "\n")
				Expect(m.Version()).To(Equal(tc.want))
				Expect(m.CloudProperties().Version).To(Equal(tc.want))
				out, err := m.Marshal()
				Expect(err).NotTo(HaveOccurred())
				Expect(string(out)).To(Equal("name: n\nversion: " + tc.yaml + "\ncloud_properties:\n  version: " + tc.yaml + "\n"))
			})
		}
	})

	context("round trip", func() {
		it("writes an untouched manifest back byte for byte (yaml.v3 style)", func() {
			doc := `# made by hand
api_version: 3
zz_unknown: keep me
version: 1.10
name: bosh-alicloud-kvm-ubuntu-noble
cloud_properties:
  root_device_name: /dev/vda1
  infrastructure: alicloud
  vendor_extension:
    nested: [1, 2]
  disk: 5120
stemcell_formats:
  - alicloud-raw
sha1: ` + someSHA1 + ` # of image
agent_features: {}
`
			out, err := parse(doc).Marshal()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(out)).To(Equal(doc))
		})

		it("keeps key order, unknown keys and values of a Ruby-written manifest", func() {
			m := heavy()
			out, err := m.Marshal()
			Expect(err).NotTo(HaveOccurred())
			Expect(keys(t, out, "")).To(Equal([]string{"name", "version", "bosh_protocol", "api_version", "sha1",
				"operating_system", "stemcell_formats", "agent_features", "cloud_properties"}))
			Expect(keys(t, out, "cloud_properties")).To(Equal([]string{"name", "version", "infrastructure", "hypervisor",
				"disk", "disk_format", "container_format", "os_type", "os_distro", "architecture", "root_device_name", "nvme_support"}))
			Expect(string(out)).To(ContainSubstring("version: '1.484'\n"))
			Expect(string(out)).To(ContainSubstring("agent_features:\n  disable_run_agent: false\n"))

			var before, after map[string]any
			Expect(yaml.Unmarshal([]byte(fmt.Sprintf(stemcelltest.HeavyMF, someSHA1)), &before)).To(Succeed())
			Expect(yaml.Unmarshal(out, &after)).To(Succeed())
			Expect(after).To(Equal(before))
		})
	})

	context("SetImageIDs", func() {
		it("adds image_id last in cloud_properties, regions sorted, and touches nothing else", func() {
			m := heavy()
			before, err := m.Marshal()
			Expect(err).NotTo(HaveOccurred())

			m.SetImageIDs(map[string]string{"cn-shanghai": "m-uf6", "cn-beijing": "m-2ze", "cn-hangzhou": "m-bp1", "ap-1": "0123"})
			out, err := m.Marshal()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(out)).To(Equal(string(before) +
				"  image_id:\n    ap-1: \"0123\"\n    cn-beijing: m-2ze\n    cn-hangzhou: m-bp1\n    cn-shanghai: m-uf6\n"))
			Expect(m.ImageIDs()).To(Equal(map[string]string{"cn-shanghai": "m-uf6", "cn-beijing": "m-2ze", "cn-hangzhou": "m-bp1", "ap-1": "0123"}))
			Expect(m.IsLight()).To(BeTrue())
			Expect(m.Validate()).To(Succeed())
		})

		it("replaces an existing image_id in place", func() {
			m := parse("cloud_properties:\n  image_id:\n    cn-hangzhou: m-old\n  disk: 1\n")
			m.SetImageIDs(map[string]string{"cn-shanghai": "m-new"})
			out, err := m.Marshal()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(out)).To(Equal("cloud_properties:\n  image_id:\n    cn-shanghai: m-new\n  disk: 1\n"))
		})

		it("adds cloud_properties when there is none, and removes image_id when given no ids", func() {
			m := parse("name: n\n")
			m.SetImageIDs(map[string]string{"cn-hangzhou": "m-1"})
			Expect(m.ImageIDs()).To(Equal(map[string]string{"cn-hangzhou": "m-1"}))
			m.SetImageIDs(nil)
			Expect(m.ImageIDs()).To(BeNil())
			Expect(m.IsLight()).To(BeFalse())
			out, err := m.Marshal()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(out)).To(Equal("name: n\ncloud_properties: {}\n"))
		})

		it("changes a clone, never the original", func() {
			m := heavy()
			c := m.Clone()
			c.SetImageIDs(map[string]string{"cn-hangzhou": "m-1"})
			Expect(c.IsLight()).To(BeTrue())
			Expect(m.IsLight()).To(BeFalse())
		})
	})

	context("ImageFor", func() {
		it("returns the region's image", func() {
			m := heavy()
			m.SetImageIDs(map[string]string{"cn-hangzhou": "m-bp1", "cn-beijing": "m-2ze"})
			Expect(m.ImageFor("cn-beijing")).To(Equal("m-2ze"))
		})

		it("fails like the CPI and names the regions it has when the region is missing", func() {
			m := heavy()
			m.SetImageIDs(map[string]string{"cn-hangzhou": "m-bp1", "cn-beijing": "m-2ze"})
			_, err := m.ImageFor("eu-central-1")
			Expect(err).To(MatchError("Can't find stemcell for Region: eu-central-1 (light stemcell bosh-alicloud-kvm-ubuntu-noble/1.484 has images in cn-beijing, cn-hangzhou)"))
		})

		it("says a heavy stemcell has no images at all", func() {
			_, err := heavy().ImageFor("cn-hangzhou")
			Expect(err).To(MatchError(ContainSubstring("Can't find stemcell for Region: cn-hangzhou")))
			Expect(err).To(MatchError(ContainSubstring("no cloud_properties.image_id: it is not a light stemcell")))
		})
	})

	context("Validate", func() {
		it("lists every missing field at once", func() {
			err := parse("bosh_protocol: 1\n").Validate()
			Expect(err).To(MatchError("stemcell.MF: name is missing; version is missing; sha1 is missing; " +
				"stemcell_formats is missing (want [alicloud-raw]); cloud_properties is missing"))
			Expect(errors.Unwrap(err)).To(BeNil()) // several problems: Unwrap() []error, not one
		})

		it("lists every wrong value at once", func() {
			err := parse(`name: ""
version: [1]
sha1: abc
stemcell_formats: [aws-raw]
cloud_properties:
  infrastructure: aws
  disk: -5
  disk_format: qcow2
`).Validate()
			Expect(err).To(MatchError(`stemcell.MF: name is empty; version must be a string, got a list; ` +
				`sha1 "abc" is not a SHA-1 (40 lowercase hex digits); stemcell_formats [aws-raw] does not contain alicloud-raw; ` +
				`cloud_properties.infrastructure is "aws", want alicloud; cloud_properties.disk is "-5", want a positive whole number of MB; ` +
				`cloud_properties.disk_format is "qcow2", want raw for a heavy stemcell`))
		})

		it("reports missing cloud properties and a disk that is not a number", func() {
			err := parse("name: n\nversion: '1'\nsha1: " + someSHA1 + "\nstemcell_formats: [alicloud-raw]\ncloud_properties:\n  disk: big\n").Validate()
			Expect(err).To(MatchError(`stemcell.MF: cloud_properties.infrastructure is missing; ` +
				`cloud_properties.disk is "big", want a positive whole number of MB; cloud_properties.disk_format is missing`))
		})

		it("checks a light stemcell's image ids instead of its disk format", func() {
			m := parse(strings.Replace(fmt.Sprintf(stemcelltest.HeavyMF, someSHA1), "disk_format: raw", "disk_format: qcow2", 1) +
				"  image_id:\n    cn-hangzhou: ''\n    cn-beijing: {a: b}\n")
			Expect(m.Validate()).To(MatchError("stemcell.MF: cloud_properties.image_id.cn-hangzhou must be an image id, got a scalar (str); " +
				"cloud_properties.image_id.cn-beijing must be an image id, got a mapping"))
		})

		it("refuses an image_id that is not a region map", func() {
			m := parse(fmt.Sprintf(stemcelltest.HeavyMF, someSHA1) + "  image_id: m-123\n")
			Expect(m.Validate()).To(MatchError(ContainSubstring("cloud_properties.image_id must be a mapping of region to image id, got a scalar (str)")))
		})
	})

	context("ParseManifest", func() {
		it("refuses what is not a YAML mapping", func() {
			_, err := stemcell.ParseManifest([]byte("name: [unclosed\n"))
			Expect(err).To(MatchError(HavePrefix("stemcell.MF is not YAML: ")))
			_, err = stemcell.ParseManifest([]byte("- a\n"))
			Expect(err).To(MatchError("stemcell.MF is not a YAML mapping"))
			_, err = stemcell.ParseManifest(nil)
			Expect(err).To(MatchError("stemcell.MF is not a YAML mapping"))
		})

		it("refuses a key written twice", func() {
			_, err := stemcell.ParseManifest([]byte("name: a\ncloud_properties:\n  image_id:\n    cn-hangzhou: m-1\n    cn-hangzhou: m-2\n"))
			Expect(err).To(MatchError("stemcell.MF: key cloud_properties.image_id.cn-hangzhou appears twice (line 5)"))
		})
	})
}

// keys lists the keys of the mapping at path ("" for the document, "a" for key a) in order.
func keys(t *testing.T, doc []byte, path string) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		t.Fatalf("reading YAML: %v", err)
	}
	m := n.Content[0]
	if path != "" {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == path {
				m = m.Content[i+1]
				break
			}
		}
	}
	var out []string
	for i := 0; i < len(m.Content); i += 2 {
		out = append(out, m.Content[i].Value)
	}
	return out
}
