package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testReleaseCommand(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *testtools.Cloud
		flags  []string
	)
	it.Before(func() {
		// Ten minutes behind: what the emulator starts is ten minutes old.
		c = testtools.NewCloud(t, func(cfg *sim.Config) { cfg.Clock = func() time.Time { return time.Now().Add(-10 * time.Minute) } })
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", c.KeyID)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", c.Secret)
		t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
		t.Setenv("NO_COLOR", "1")
		flags = []string{"--release", "cpi", "--region", c.Region, "--bucket", c.Bucket, "--prefix", "releases/", "--oss-endpoint", c.URL}
	})

	it("prune aborts the unfinished tarball uploads of the release started before --older-than, and no other", func() {
		ours := "releases/cpi/tarballs/61.0.0/abc.tgz"
		others := []string{"releases/cpi-extras/tarballs/1/def.tgz", "cpi/tarballs/61.0.0/abc.tgz"}
		for _, key := range append([]string{ours}, others...) {
			c.StartUpload(t, key)
		}
		stdout, stderr, code := cli("", append([]string{"release", "prune"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(BeEmpty(), "uploads younger than the default 24h stay")
		Expect(stderr).To(ContainSubstring("no unfinished upload of cpi is older than 24h0m0s"))

		stdout, stderr, code = cli("", append([]string{"release", "prune", "--older-than", "5m", "--dry-run"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(stdout).To(HavePrefix("would abort upload "))
		Expect(c.PendingUploads(t, "")).To(HaveLen(3))

		stdout, stderr, code = cli("", append([]string{"release", "prune", "--older-than", "5m"}, flags...)...)
		Expect(code).To(Equal(0), stderr)
		Expect(strings.TrimSpace(stdout)).To(MatchRegexp(`^aborted upload \S+ of oss://` + c.Bucket + `/` + ours + ` \(10m\d+s old\)$`))
		Expect(c.PendingUploads(t, "")).To(ConsistOf(others))
	})

	it("names what is missing and what is unknown", func() {
		_, stderr, code := cli("", "release", "prune", "--older-than", "0s")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("missing --release, --region, --bucket, --older-than (a positive duration)"))
		_, stderr, code = cli("", "release", "purge")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`unknown subcommand "purge"`))
	})
}
