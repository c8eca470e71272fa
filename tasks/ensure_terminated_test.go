package tasks_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

func testEnsureTerminated(t *testing.T, _ spec.G, it spec.S, env taskEnv) {
	var (
		Expect = NewWithT(t).Expect
		c      *testtools.Cloud
		s      *alicloud.Session
		image  string
		input  string
	)
	const prefix = "director-envs/"

	it.Before(func() {
		c, s = cleanCloud(t)
		image = cleanImage(t, c, s, "stemcell", nil)
		input = t.TempDir()
		writeFiles(t, input, map[string]string{
			"metadata": `{"region":"cn-hangzhou","vpc_id":"vpc-env","vswitch_id":"vsw-env","internal_ip":"10.0.0.6"}`,
			"name":     "bats-1",
		})
	})

	execute := func(params ...string) result {
		t.Helper()
		args := []string{"-i", "environment=" + input, "-p", "DIRECTOR_BUCKET=" + c.Bucket, "-p", "DIRECTOR_PREFIX=" + prefix}
		for k, v := range c.TaskParams() {
			args = append(args, "-p", k+"="+v)
		}
		for _, p := range params {
			args = append(args, "-p", p)
		}
		return env.execute(t, t.TempDir(), "ensure-terminated", args...)
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
	dataDisks := func() []string {
		t.Helper()
		all, err := s.Disks(context.Background(), c.Region, alicloud.DiskQuery{})
		Expect(err).NotTo(HaveOccurred())
		var out []string
		for _, d := range all {
			if d.Type == "data" {
				out = append(out, d.ID)
			}
		}
		return out
	}

	it("deletes every instance of the env in its VPC (over more than one page) and its disks, and leaves the rest alone", func() {
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusCreated)
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusDestroyed)
		var mine []string
		for range 101 {
			mine = append(mine, cleanInstance(t, c, image, "vpc-env", "bats-1"))
		}
		otherEnv := cleanInstance(t, c, image, "vpc-env", "bats-2")
		otherVPC := cleanInstance(t, c, image, "vpc-elsewhere", "bats-1")
		myDisks := []string{cleanDisk(t, c, "bats-1"), cleanDisk(t, c, "bats-1"), cleanDisk(t, c, "bats-1")}
		otherDisk := cleanDisk(t, c, "bats-2")

		r := execute()
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(instances()).To(ConsistOf(otherEnv, otherVPC))
		Expect(dataDisks()).To(ConsistOf(otherDisk))
		// The system disks of the instances left alone are still there, in use.
		all, err := s.Disks(context.Background(), c.Region, alicloud.DiskQuery{})
		Expect(err).NotTo(HaveOccurred())
		Expect(all).To(HaveLen(3))

		var want []string
		for _, id := range mine {
			want = append(want, "instance "+id)
		}
		for _, id := range myDisks {
			want = append(want, "disk "+id)
		}
		got := strings.Split(strings.TrimSpace(r.stdout), "\n")
		sort.Strings(got)
		sort.Strings(want)
		Expect(got).To(Equal(want))
		Expect(r.stderr).To(ContainSubstring("director env bats-1 is destroyed (revision 2)"))
		Expect(r.stderr).To(ContainSubstring("101 instance(s) in vpc-env tagged director=bats-1"))
		Expect(r.stderr).NotTo(ContainSubstring(c.Secret))
	})

	it("takes the tag from ENV_TAG and the env from DIRECTOR_ENV", func() {
		cleanRevision(t, s, c, prefix, "bats-2", director.StatusDestroyed)
		gone := cleanInstance(t, c, image, "vpc-env", "bats-2")
		kept := cleanInstance(t, c, image, "vpc-env", "bats-1")
		r := execute("DIRECTOR_ENV=bats-2", "ENV_TAG=director=bats-2")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(instances()).To(ConsistOf(kept))
		Expect(r.stdout).To(Equal("instance " + gone + "\n"))
	})

	it("refuses an empty vpc_id, clearly, and deletes nothing", func() {
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusDestroyed)
		vm := cleanInstance(t, c, image, "vpc-env", "bats-1")
		disk := cleanDisk(t, c, "bats-1")
		Expect(os.WriteFile(filepath.Join(input, "metadata"), []byte(`{"region":"cn-hangzhou","vpc_id":""}`), 0o644)).To(Succeed())
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("has no vpc_id (or an empty one): refusing to delete anything"))
		Expect(instances()).To(ConsistOf(vm))
		Expect(dataDisks()).To(ConsistOf(disk))
	})

	it("refuses, deleting nothing, while the env's director is not destroyed", func() {
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusCreated)
		vm := cleanInstance(t, c, image, "vpc-env", "bats-1")
		disk := cleanDisk(t, c, "bats-1")
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("director env bats-1 is not destroyed (revision 1 is created): refusing to delete anything in vpc-env"))
		Expect(instances()).To(ConsistOf(vm))
		Expect(dataDisks()).To(ConsistOf(disk))
	})

	it("looks past lease revisions: a destroyed env whose lease was released is swept, a live one that was claimed again is not", func() {
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusCreated)
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusClaimed)
		vm := cleanInstance(t, c, image, "vpc-env", "bats-1")
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("director env bats-1 is not destroyed (revision 1 is created)"))
		Expect(instances()).To(ConsistOf(vm))

		cleanRevision(t, s, c, prefix, "bats-1", director.StatusDestroyed)
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusReleased)
		r = execute()
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stderr).To(ContainSubstring("director env bats-1 is destroyed (revision 3)"))
		Expect(instances()).To(BeEmpty())
	})

	it("refuses, deleting nothing, while another run holds the env's operation lock (a create making VMs)", func() {
		cleanRevision(t, s, c, prefix, "bats-1", director.StatusDestroyed)
		vm := cleanInstance(t, c, image, "vpc-env", "bats-1")
		objects, err := s.StoreIn(c.Region, c.Bucket, prefix)
		Expect(err).NotTo(HaveOccurred())
		lock, err := director.Store{Objects: objects}.Lock(context.Background(), "bats-1", "cpi/bats #9 create", "create", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("refusing to delete anything while another run works on it"))
		Expect(r.stderr).To(ContainSubstring("cpi/bats #9 create"))
		Expect(instances()).To(ConsistOf(vm))
		Expect(lock.Unlock(context.Background())).To(Succeed())
		r = execute()
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(instances()).To(BeEmpty())
	})

	it("refuses an env with no revision unless ALLOW_NO_DIRECTOR_ENV is true", func() {
		vm := cleanInstance(t, c, image, "vpc-env", "bats-1")
		r := execute()
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("director env bats-1 has no revision that created or destroyed it at oss://" + c.Bucket + "/" + prefix + "bats-1/: refusing to delete anything"))
		Expect(instances()).To(ConsistOf(vm))

		r = execute("ALLOW_NO_DIRECTOR_ENV=true")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(instances()).To(BeEmpty())
	})
}
