package testtools

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var double struct {
	once sync.Once
	path string
	err  error
}

// BoshDouble returns the bosh test double (internal/boshdouble), built once per test process,
// and sets BOSH_DOUBLE_REAL for t so its `interpolate` runs the real bosh CLI.
func BoshDouble(t testing.TB) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	double.once.Do(func() {
		dir, err := os.MkdirTemp("", "testtools-boshdouble-")
		if err != nil {
			double.err = err
			return
		}
		double.path = filepath.Join(dir, "bosh")
		cmd := exec.Command("go", "build", "-trimpath", "-o", double.path, "./internal/boshdouble")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			double.err = fmt.Errorf("building the bosh double: %v\n%s", err, out)
		}
	})
	if double.err != nil {
		t.Fatal(double.err)
	}
	t.Setenv("BOSH_DOUBLE_REAL", Bosh(t))
	return double.path
}

// DirectorFixture is a bosh-deployment-like directory in a build dir: a base manifest and the
// alicloud CPI, jumpbox and director RAM-role ops files, the files they reference, and vars.
type DirectorFixture struct {
	Dir        string            // the build directory
	Manifest   string            // relative to Dir
	OpsFiles   []string          // relative to Dir
	Vars       map[string]string // what a pipeline passes as vars
	LightID    string            // the light stemcell's image in Region
	Light      string            // the light stemcell tarball, relative to Dir
	Heavy      string            // a heavy stemcell tarball, relative to Dir
	JumpboxKey string            // the SSH tunnel key's content
}

const baseManifest = `---
name: bosh
releases:
- name: bosh
  url: file://((bosh_release))
resource_pools:
- name: vms
  network: default
  stemcell:
    url: file://((stemcell))
  cloud_properties: {}
instance_groups:
- name: bosh
  instances: 1
  jobs: [{name: director, release: bosh}]
  resource_pool: vms
  properties:
    director:
      name: ((director_name))
      user_management:
        local:
          users: [{name: admin, password: ((admin_password))}]
variables:
- name: admin_password
  type: password
`

const cpiOps = `---
- type: replace
  path: /releases/-
  value:
    name: bosh-alicloud-cpi
    url: file://((cpi_release))
- type: replace
  path: /instance_groups/name=bosh/properties/alicloud?
  value: &alicloud
    region: ((region))
    access_key_id: ((access_key_id))
    access_key_secret: ((access_key_secret))
    security_token: ((security_token))
- type: replace
  path: /cloud_provider?
  value:
    template: {name: alicloud_cpi, release: bosh-alicloud-cpi}
    mbus: https://mbus:((mbus_bootstrap_password))@((internal_ip)):6868
    properties:
      alicloud: *alicloud
`

const jumpboxOps = `---
- type: replace
  path: /cloud_provider/ssh_tunnel?
  value:
    host: ((external_ip))
    port: 22
    user: vcap
    private_key: ((private_key))
`

const ramRoleOps = `---
- type: replace
  path: /instance_groups/name=bosh/properties/alicloud
  value:
    region: ((region))
    ram_role_name: ((director_ram_role))
`

// NewDirectorFixture writes the fixture into dir (a build directory).
func NewDirectorFixture(t testing.TB, dir, region string) DirectorFixture {
	t.Helper()
	f := DirectorFixture{Dir: dir, Manifest: "bosh-deployment/bosh.yml", LightID: "m-light0001",
		Light: "stemcell/light-bosh-stemcell.tgz", Heavy: "stemcell/bosh-stemcell.tgz", JumpboxKey: "-----BEGIN RSA PRIVATE KEY-----\nJUMPBOXKEYfixture0123456789\n-----END RSA PRIVATE KEY-----\n"}
	write := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(f.Manifest, baseManifest, 0o644)
	write("bosh-deployment/alicloud/cpi.yml", cpiOps, 0o644)
	write("bosh-deployment/jumpbox-user.yml", jumpboxOps, 0o644)
	write("bosh-deployment/alicloud/director-ram-role.yml", ramRoleOps, 0o644)
	f.OpsFiles = []string{"bosh-deployment/alicloud/cpi.yml", "bosh-deployment/jumpbox-user.yml", "bosh-deployment/alicloud/director-ram-role.yml"}
	write("bosh-release/bosh.tgz", "bosh release bytes", 0o644)
	write("cpi-release/cpi.tgz", "cpi release bytes v1", 0o644)
	write("keys/jumpbox.key", f.JumpboxKey, 0o600)
	WriteStemcell(t, filepath.Join(dir, f.Light), "1.484", map[string]string{region: f.LightID})
	WriteStemcell(t, filepath.Join(dir, f.Heavy), "1.485", nil)
	f.Vars = map[string]string{
		"bosh_release": filepath.Join(dir, "bosh-release/bosh.tgz"), "cpi_release": "../cpi-release/cpi.tgz",
		"stemcell": filepath.Join(dir, f.Light), "private_key": "../keys/jumpbox.key",
		"director_name": "bats", "region": region, "internal_ip": "10.0.0.6", "external_ip": "47.0.0.6",
		"director_ram_role": "bosh-director",
	}
	return f
}

// WriteStemcell writes a stemcell tarball (stemcell.MF and an empty image): light when imageIDs
// (region → image) is given.
func WriteStemcell(t testing.TB, path, version string, imageIDs map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	mf := "name: bosh-alicloud-kvm-ubuntu-noble\nversion: '" + version + "'\nbosh_protocol: 1\napi_version: 3\nsha1: da39a3ee5e6b4b0d3255bfef95601890afd80709\noperating_system: ubuntu-noble\nstemcell_formats: [alicloud-raw]\ncloud_properties:\n  name: bosh-alicloud-kvm-ubuntu-noble\n  version: '" + version + "'\n  infrastructure: alicloud\n"
	if len(imageIDs) > 0 {
		mf += "  image_id:\n"
		for region, id := range imageIDs {
			mf += "    " + region + ": " + id + "\n"
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for name, content := range map[string]string{"stemcell.MF": mf, "image": ""} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
