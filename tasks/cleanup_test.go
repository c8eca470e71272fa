package tasks_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// testCleanup runs the scheduled cleanup task on the emulator with the worker's RAM role: the
// parts it is given, each tried whatever the others did.
func testCleanup(t *testing.T, _ spec.G, it spec.S, env taskEnv) {
	var (
		Expect = NewWithT(t).Expect
		c      *testtools.Cloud
		s      *alicloud.Session
	)
	const prefix = "directors/"
	const pool = "bats/"

	it.Before(func() {
		c, s = cleanCloud(t)
	})

	execute := func(state string, params ...string) result {
		t.Helper()
		args := []string{"-p", "BUCKET=" + c.Bucket}
		if state != "" {
			args = append(args, "-i", "director-state="+state)
		}
		for k, v := range c.RAMRoleTaskParams() {
			args = append(args, "-p", k+"="+v)
		}
		for _, p := range params {
			args = append(args, "-p", p)
		}
		return env.execute(t, t.TempDir(), "cleanup", args...)
	}
	directorState := func(destroyed bool) string {
		dir := t.TempDir()
		files := map[string]string{"name": "bats-1", "metadata": `{"region":"cn-hangzhou","vpc_id":"vpc-env"}`}
		if destroyed {
			files["destroyed"] = "revision 2 destroyed the env\n"
		}
		writeFiles(t, dir, files)
		return dir
	}
	instances := func() []string {
		t.Helper()
		all, err := s.Instances(context.Background(), c.Region, alicloud.InstanceQuery{})
		Expect(err).NotTo(HaveOccurred())
		var out []string
		for _, in := range all {
			out = append(out, in.ID)
		}
		return out
	}

	it("aborts stale release uploads, prunes a stemcell line, breaks expired leases and sweeps a destroyed env, on the RAM role", func() {
		c.StartUpload(t, "releases/bosh-alicloud-cpi/tarballs/1.0.0-rc.1/killed.tgz")
		c.StartUpload(t, "light-stemcells/bosh-alicloud-kvm-ubuntu-noble/tarballs/1.484/candidate/killed.tgz")
		time.Sleep(20 * time.Millisecond)
		image := cleanImage(t, c, s, "stemcell", nil)
		cleanRevision(t, s, c, prefix+pool, "bats-1", director.StatusCreated)
		cleanRevision(t, s, c, prefix+pool, "bats-1", director.StatusDestroyed)
		left := cleanInstance(t, c, image, "vpc-env", "bats-1")
		other := cleanInstance(t, c, image, "vpc-env", "bats-2")

		r := execute(directorState(true), "STEMCELLS=bosh-alicloud-kvm-ubuntu-noble", "STEMCELL_PREFIX=light-stemcells/",
			"RELEASES=bosh-alicloud-cpi", "RELEASE_PREFIX=releases/", "UPLOADS_OLDER_THAN=1ms",
			"DIRECTOR_PREFIX="+prefix, "DIRECTOR_POOLS="+pool, "DIRECTOR_POOL="+pool)
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(c.PendingUploads(t, "")).To(BeEmpty())
		Expect(instances()).To(ConsistOf(other))
		Expect(r.stdout).To(ContainSubstring("instance " + left))
		for _, part := range []string{"stemcell prune bosh-alicloud-kvm-ubuntu-noble", "release prune bosh-alicloud-cpi",
			"director break-expired bats/", "sweep bats-1", "cleanup: done"} {
			Expect(r.stderr).To(ContainSubstring(part))
		}
	})

	it("leaves a live env alone, and runs nothing it is not given", func() {
		image := cleanImage(t, c, s, "stemcell", nil)
		cleanRevision(t, s, c, prefix+pool, "bats-1", director.StatusCreated)
		kept := cleanInstance(t, c, image, "vpc-env", "bats-1")
		r := execute(directorState(false), "DIRECTOR_PREFIX="+prefix, "DIRECTOR_POOL="+pool)
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(instances()).To(ConsistOf(kept))
		Expect(r.stderr).To(ContainSubstring("director env bats-1 is not destroyed: nothing to sweep"))
		Expect(r.stderr).NotTo(ContainSubstring("prune"))
	})

	it("tries every part when one fails, then fails naming it", func() {
		c.StartUpload(t, "releases/bosh-alicloud-cpi/tarballs/1.0.0-rc.1/killed.tgz")
		time.Sleep(20 * time.Millisecond)
		r := execute("", "STEMCELLS=bosh-alicloud-kvm-ubuntu-noble", "STEMCELL_OLDER_THAN=soon",
			"RELEASES=bosh-alicloud-cpi", "RELEASE_PREFIX=releases/", "UPLOADS_OLDER_THAN=1ms")
		Expect(r.code).To(Equal(1), r.stdout+r.stderr)
		Expect(c.PendingUploads(t, "releases/")).To(BeEmpty(), "the release prune ran after the failed stemcell prune")
		Expect(r.stderr).To(ContainSubstring("cleanup: failed: stemcell prune bosh-alicloud-kvm-ubuntu-noble"))
		Expect(r.stderr).NotTo(ContainSubstring("failed: release prune"))
	})

	it("refuses to run without a bucket", func() {
		args := []string{}
		for k, v := range c.RAMRoleTaskParams() {
			args = append(args, "-p", k+"="+v)
		}
		r := env.execute(t, t.TempDir(), "cleanup", args...)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("BUCKET is empty"))
		_, err := os.Stat(filepath.Join(env.pack, "tasks", "cleanup", "task.sh"))
		Expect(err).NotTo(HaveOccurred())
	})
}
