package testtools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// EnvMetadata is an environment task's metadata (DESIGN.md §2's keys and the two extras the
// integration suite reads), as the CPI's terraform config makes it for a VPC of 10.0.0.0/16.
func EnvMetadata() map[string]string {
	return map[string]string{
		"region": Region, "zone": "cn-hangzhou-h", "vpc_id": "vpc-bp1test", "vswitch_id": "vsw-bp1test",
		"security_group_id": "sg-bp1test", "internal_cidr": "10.0.0.0/16", "internal_gw": "10.0.0.1",
		"internal_ip": "10.0.0.6", "external_ip": "47.96.1.6", "reserved_range": "10.0.0.2-10.0.0.9",
		"static_range": "10.0.0.10-10.0.0.30", "key_pair_name": "env-1-key", "dns_recursor_ip": "100.100.2.136",
		"bats_eip": "47.96.1.7", "network_static_ip_1": "10.0.0.29", "network_static_ip_2": "10.0.0.30",
		"slb": "lb-bp1test", "blobstore_bucket": "env-1-blobstore", "integration_bucket": "env-1-integration",
		"ram_role": "env-1-director", "server_group_slb": "rsp-bp1test", "manual_vswitch_id": "vsw-bp1manual",
	}
}

// WriteEnvironment writes an environment task's output into dir: metadata (JSON), name and
// ssh.key (0600, the given private key).
func WriteEnvironment(t testing.TB, dir string, meta map[string]string, sshKey string) {
	t.Helper()
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "metadata"), data, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "name"), []byte("env-1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "ssh.key"), []byte(sshKey), 0o600))
}

// WriteLightStemcellDir writes what the alicloud-light-stemcell resource's get gives into dir:
// stemcell.tgz (a light stemcell of bosh-alicloud-kvm-ubuntu-noble version, image in Region),
// stemcell.MF and version. It returns the tarball's path.
func WriteLightStemcellDir(t testing.TB, dir, version string) string {
	t.Helper()
	mf := string(stemcelltest.Manifest("bosh-alicloud-kvm-ubuntu-noble", version, stemcelltest.SHA1Hex(nil))) +
		"  image_id:\n    " + Region + ": m-bp1light\n"
	tgz := stemcelltest.Tgz(t, stemcelltest.File("image", nil), stemcelltest.File("stemcell.MF", []byte(mf)))
	must(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "stemcell.tgz")
	must(t, os.WriteFile(path, tgz, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "stemcell.MF"), []byte(mf), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "version"), []byte(version), 0o644))
	return path
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
