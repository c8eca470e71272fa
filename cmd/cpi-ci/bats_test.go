package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

// sshKeyPair makes a key pair with the real ssh-keygen (-m PEM for a PEM RSA key) and returns
// the private key file and the public key line ssh-keygen wrote, without its comment.
func sshKeyPair(t *testing.T, args ...string) (string, string) {
	path := filepath.Join(t.TempDir(), "id")
	out, err := exec.Command("ssh-keygen", append([]string{"-q", "-N", "", "-C", "test", "-f", path}, args...)...).CombinedOutput()
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), string(out))
	public, err := os.ReadFile(path + ".pub")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	fields := strings.Fields(string(public))
	return path, fields[0] + " " + fields[1]
}

func testBatsCommand(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect                  = NewWithT(t).Expect
		dir, metadata, stemcell string
		meta                    map[string]string
	)
	it.Before(func() {
		dir = t.TempDir()
		meta = testtools.EnvMetadata()
		testtools.WriteEnvironment(t, filepath.Join(dir, "environment"), meta, "unused")
		metadata = filepath.Join(dir, "environment", "metadata")
		stemcell = filepath.Join(dir, "stemcell")
		testtools.WriteLightStemcellDir(t, stemcell, "1.484")
	})

	context("spec", func() {
		it("renders the BATs spec from the metadata, the stemcell and the keys, 0600", func() {
			key, public := sshKeyPair(t, "-t", "ed25519")
			jumpbox := filepath.Join(dir, "jumpbox.key")
			Expect(os.WriteFile(jumpbox, []byte("JUMPBOX KEY\n"), 0o600)).To(Succeed())
			out := filepath.Join(dir, "bats.yml")
			_, stderr, code := cli("", "bats", "spec", "--metadata", metadata, "--stemcell", stemcell, "--ssh-key", key,
				"--jumpbox-key", jumpbox, "-o", out)
			Expect(code).To(Equal(0), stderr)
			info, err := os.Stat(out)
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
			private, _ := os.ReadFile(key)
			var got map[string]any
			Expect(yaml.Unmarshal(readBytes(t, out), &got)).To(Succeed())
			Expect(got).To(Equal(map[string]any{
				"cpi": "alicloud",
				"properties": map[string]any{
					"stemcell":          map[string]any{"name": "bosh-alicloud-kvm-ubuntu-noble", "version": "1.484"},
					"instances":         1,
					"availability_zone": "cn-hangzhou-h",
					"instance_type":     "ecs.hfc6.xlarge",
					"security_groups":   "sg-bp1test",
					"vip":               "47.96.1.7",
					"second_static_ip":  "10.0.0.30",
					"ssh_key_pair":      map[string]any{"public_key": public, "private_key": string(private)},
					"ssh_gateway":       map[string]any{"host": "47.96.1.6", "username": "jumpbox", "private_key": "JUMPBOX KEY\n"},
					"networks": []any{map[string]any{
						"name": "default", "type": "manual", "static_ip": "10.0.0.29", "cidr": "10.0.0.0/16",
						"reserved": []any{"10.0.0.2-10.0.0.9"}, "static": []any{"10.0.0.10-10.0.0.30"}, "gateway": "10.0.0.1",
						"subnet": "vsw-bp1test", "security_groups": "sg-bp1test",
						"cloud_properties": map[string]any{"vswitch_id": "vsw-bp1test", "security_group_ids": []any{"sg-bp1test"}},
					}},
				},
			}))
			Expect(stderr).NotTo(ContainSubstring("PRIVATE KEY"))
		})

		it("derives the public key of PEM RSA keys as ssh-keygen does, and takes --instance-type", func() {
			for _, format := range [][]string{{"-t", "rsa", "-b", "2048", "-m", "PEM"}, {"-t", "rsa", "-b", "2048", "-m", "PKCS8"}, {"-t", "rsa", "-b", "2048"}} {
				key, public := sshKeyPair(t, format...)
				out := filepath.Join(t.TempDir(), "bats.yml")
				_, stderr, code := cli("", "bats", "spec", "--metadata", metadata, "--stemcell", stemcell, "--ssh-key", key,
					"--instance-type", "ecs.g6.large", "-o", out)
				Expect(code).To(Equal(0), stderr)
				var got batsSpec
				Expect(yaml.Unmarshal(readBytes(t, out), &got)).To(Succeed())
				Expect(got.Properties.SSHKeyPair.PublicKey).To(Equal(public), strings.Join(format, " "))
				Expect(got.Properties.InstanceType).To(Equal("ecs.g6.large"))
				Expect(got.Properties.SSHGateway).To(BeNil())
			}
		})

		it("derives the public key of a PKCS#8 Ed25519 key", func() {
			public, private, err := ed25519.GenerateKey(rand.Reader)
			Expect(err).NotTo(HaveOccurred())
			der, err := x509.MarshalPKCS8PrivateKey(private)
			Expect(err).NotTo(HaveOccurred())
			line, err := sshPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			Expect(err).NotTo(HaveOccurred())
			Expect(line).To(Equal("ssh-ed25519 " + base64.StdEncoding.EncodeToString(sshBlob([]byte("ssh-ed25519"), public))))
		})

		it("names every metadata key it lacks, and writes nothing", func() {
			delete(meta, "bats_eip")
			meta["vswitch_id"] = ""
			data, _ := json.Marshal(meta)
			Expect(os.WriteFile(metadata, data, 0o644)).To(Succeed())
			key, _ := sshKeyPair(t, "-t", "ed25519")
			out := filepath.Join(dir, "bats.yml")
			_, stderr, code := cli("", "bats", "spec", "--metadata", metadata, "--stemcell", stemcell, "--ssh-key", key, "-o", out)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("lacks vswitch_id, bats_eip"))
			Expect(out).NotTo(BeAnExistingFile())
		})

		it("refuses a stemcell dir without one tarball, and a key it cannot read", func() {
			key, _ := sshKeyPair(t, "-t", "ed25519")
			_, stderr, code := cli("", "bats", "spec", "--metadata", metadata, "--stemcell", t.TempDir(), "--ssh-key", key, "-o", filepath.Join(dir, "x"))
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("want stemcell.tgz or exactly one *.tgz, found 0"))
			bad := filepath.Join(dir, "bad.key")
			Expect(os.WriteFile(bad, []byte("not a key"), 0o600)).To(Succeed())
			_, stderr, code = cli("", "bats", "spec", "--metadata", metadata, "--stemcell", stemcell, "--ssh-key", bad, "-o", filepath.Join(dir, "x"))
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("--ssh-key " + bad + ": not a PEM private key"))
		})

		it("reads the stemcell's name and version from the tarball when there is no stemcell.MF beside it", func() {
			Expect(os.Remove(filepath.Join(stemcell, "stemcell.MF"))).To(Succeed())
			Expect(os.Rename(filepath.Join(stemcell, "stemcell.tgz"), filepath.Join(stemcell, "light-bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble.tgz"))).To(Succeed())
			key, _ := sshKeyPair(t, "-t", "ed25519")
			out := filepath.Join(dir, "bats.yml")
			_, stderr, code := cli("", "bats", "spec", "--metadata", metadata, "--stemcell", stemcell, "--ssh-key", key, "-o", out)
			Expect(code).To(Equal(0), stderr)
			var got batsSpec
			Expect(yaml.Unmarshal(readBytes(t, out), &got)).To(Succeed())
			Expect(got.Properties.Stemcell).To(Equal(batsStemcell{Name: "bosh-alicloud-kvm-ubuntu-noble", Version: "1.484"}))
		})
	})

	context("junit", func() {
		it("converts rspec's JSON report, and reports a missing one as a failure", func() {
			in := filepath.Join(dir, "rspec.json")
			Expect(os.WriteFile(in, []byte(`{"examples":[{"full_description":"a b","status":"passed","file_path":"./spec/system/a_spec.rb"}],"summary":{}}`), 0o644)).To(Succeed())
			out := filepath.Join(dir, "junit.xml")
			_, stderr, code := cli("", "bats", "junit", "--rspec-json", in, "-o", out)
			Expect(code).To(Equal(0), stderr)
			Expect(string(readBytes(t, out))).To(ContainSubstring(`<testcase classname="spec/system/a_spec.rb" name="a b"`))

			_, stderr, code = cli("", "bats", "junit", "--rspec-json", filepath.Join(dir, "none.json"), "-o", out)
			Expect(code).To(Equal(0), stderr)
			Expect(string(readBytes(t, out))).To(ContainSubstring(`name="rspec wrote no usable report"`))
			Expect(stderr).To(ContainSubstring("1 tests, 1 failures"))
		})
	})
}

func readBytes(t *testing.T, path string) []byte {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return data
}
