package main

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

func testStemcellGuard(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect            = NewWithT(t).Expect
		dir, light, heavy string
	)
	it.Before(func() {
		dir = t.TempDir()
		light, heavy = filepath.Join(dir, "light", "stemcell.tgz"), filepath.Join(dir, "heavy.tgz")
		testtools.WriteStemcell(t, light, "1.484", map[string]string{"cn-hangzhou": "m-light0001"})
		testtools.WriteStemcell(t, heavy, "1.484", nil)
		t.Setenv("NO_COLOR", "1")
	})
	manifest := func(body string) string {
		path := filepath.Join(dir, "director.yml")
		Expect(os.WriteFile(path, []byte(body), 0o644)).To(Succeed())
		return path
	}
	const createEnvEncrypted = "cloud_provider:\n  properties:\n    alicloud: {region: cn-hangzhou, encrypted: true}\ninstance_groups:\n- name: bosh\n  properties:\n    alicloud: {region: cn-hangzhou}\n"
	const directorEncrypted = "cloud_provider:\n  properties:\n    alicloud: {region: cn-hangzhou}\ninstance_groups:\n- name: bosh\n  properties:\n    alicloud: {region: cn-hangzhou, encrypted: true}\n"

	it("refuses a light stemcell for create-env when cloud_provider's CPI sets encrypted, naming the setting and the override", func() {
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", filepath.Dir(light), "--manifest", manifest(createEnvEncrypted), "--to", "create-env")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("refusing the light stemcell bosh-alicloud-kvm-ubuntu-noble/1.484"))
		Expect(stderr).To(ContainSubstring("/cloud_provider/properties/alicloud/encrypted: true"))
		Expect(stderr).To(ContainSubstring("ALLOW_ENCRYPTED_LIGHT_STEMCELL=true (cpi-ci stemcell guard --allow-encrypted)"))
	})

	it("accepts it with --allow-encrypted, warning", func() {
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", light, "--manifest", manifest(createEnvEncrypted), "--to", "create-env", "--allow-encrypted")
		Expect(code).To(Equal(0), stderr)
		Expect(stderr).To(ContainSubstring("accepting the light stemcell bosh-alicloud-kvm-ubuntu-noble/1.484"))
	})

	it("checks the CPI the stemcell goes to: the director's own for upload-stemcell (the default), cloud_provider's for create-env", func() {
		path := manifest(directorEncrypted)
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", light, "--manifest", path)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("/instance_groups/name=bosh/properties/alicloud/encrypted: true"))
		_, stderr, code = cli("", "stemcell", "guard", "--stemcell", light, "--manifest", path, "--to", "create-env")
		Expect(code).To(Equal(0), stderr)

		_, stderr, code = cli("", "stemcell", "guard", "--stemcell", light, "--manifest", manifest(createEnvEncrypted))
		Expect(code).To(Equal(0), stderr)
	})

	it("finds the setting in the CPI job's properties and an unresolved variable", func() {
		path := manifest("instance_groups:\n- name: bosh\n  jobs:\n  - name: alicloud_cpi\n    properties:\n      alicloud: {encrypted: ((encrypt_disks))}\n")
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", light, "--manifest", path)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("/instance_groups/name=bosh/jobs/name=alicloud_cpi/properties/alicloud/encrypted: ((encrypt_disks))"))
	})

	it("passes a heavy stemcell, and a light one without encrypted", func() {
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", heavy, "--manifest", manifest(createEnvEncrypted), "--to", "create-env")
		Expect(code).To(Equal(0), stderr)
		_, stderr, code = cli("", "stemcell", "guard", "--stemcell", light, "--manifest", manifest("cloud_provider:\n  properties:\n    alicloud: {encrypted: false}\n"), "--to", "create-env")
		Expect(code).To(Equal(0), stderr)
	})

	it("names a bad --to, a missing manifest and a directory without one stemcell", func() {
		_, stderr, code := cli("", "stemcell", "guard", "--stemcell", light, "--manifest", manifest(createEnvEncrypted), "--to", "bosh")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`a stemcell goes to create-env or director, not "bosh"`))
		_, stderr, code = cli("", "stemcell", "guard", "--stemcell", light, "--manifest", filepath.Join(dir, "none.yml"))
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("reading the director manifest"))
		_, stderr, code = cli("", "stemcell", "guard", "--stemcell", t.TempDir(), "--manifest", manifest(createEnvEncrypted))
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("holds no *.tgz"))
	})
}
