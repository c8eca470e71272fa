package main

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testCleanupCommands covers the bad input of ensure-terminated and director teardown; what
// they do is shown through their tasks (tasks/ensure_terminated_test.go, tasks/teardown_test.go).
func testCleanupCommands(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("ensure-terminated lists every missing flag and checks the tag and the metadata before touching the cloud", func() {
		_, stderr, code := cli("", "cloud", "ensure-terminated")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("missing --metadata, --tag, --bucket, --env"))

		dir := t.TempDir()
		metadata := filepath.Join(dir, "metadata")
		Expect(os.WriteFile(metadata, []byte(`{"region":"cn-hangzhou","vpc_id":"  "}`), 0o644)).To(Succeed())
		base := []string{"cloud", "ensure-terminated", "--metadata", metadata, "--bucket", "b", "--env", "bats-1"}

		_, stderr, code = cli("", append(base, "--tag", "director")...)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`--tag "director": expected KEY=VALUE with both non-empty, e.g. director=bats-1`))

		_, stderr, code = cli("", append(base, "--tag", "director=bats-1", "--timeout", "0s")...)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("--timeout 0s: expected a positive duration"))

		t.Setenv("ALICLOUD_REGION", "") // no cloud block: the metadata is refused before one is needed
		_, stderr, code = cli("", append(base, "--tag", "director=bats-1")...)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("has no vpc_id (or an empty one): refusing to delete anything"))

		Expect(os.WriteFile(metadata, []byte(`not json`), 0o644)).To(Succeed())
		_, stderr, code = cli("", append(base, "--tag", "director=bats-1")...)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("is not a JSON object"))
	})

	it("director teardown needs director.env's BOSH_ENVIRONMENT and takes no arguments", func() {
		t.Setenv("BOSH_ENVIRONMENT", "")
		_, stderr, code := cli("", "director", "teardown")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("BOSH_ENVIRONMENT is not set: source the director-state input's director.env first"))

		_, stderr, code = cli("", "director", "teardown", "extra")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`unexpected arguments ["extra"]`))
	})
}
