package testtools

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

// HeavyStemcell writes a small heavy Alibaba Cloud stemcell tarball of the given line
// ("bosh-alicloud-kvm-ubuntu-noble") and version into dir, named as the stemcell builder names
// it (bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz), and returns its path.
func HeavyStemcell(t testing.TB, dir, line, version string) string {
	t.Helper()
	path := filepath.Join(dir, stemcell.ExampleHeavyName(line, version))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := stemcell.WriteExampleHeavy(f, line, version, bytes.Repeat([]byte("root disk "+version+" "), 4096)); err != nil {
		t.Fatal(err)
	}
	return path
}
