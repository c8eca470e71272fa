package records_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

func testLock(t *testing.T, _ spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		line   records.Line
		log    *testtools.Log
		ctx    = context.Background()
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region,
			Bucket: cloud.Bucket, OSSEndpoint: cloud.URL}, alicloud.Options{Retry: alicloud.RetryPolicy{BaseDelay: time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		store, err := s.Store()
		Expect(err).NotTo(HaveOccurred())
		line = records.Line{Store: store, Stemcell: "bosh-alicloud-kvm-ubuntu-noble"}
		log = &testtools.Log{}
	})

	it("holds a version against other builds while it renews the lock, and releases it", func() {
		first, lctx, err := line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #7", Renew: 20 * time.Millisecond, TTL: 100 * time.Millisecond, Log: log})
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(300 * time.Millisecond) // three TTLs: only renewals keep it

		_, _, err = line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #8"})
		var locked *records.LockedError
		Expect(errors.As(err, &locked)).To(BeTrue(), "%v", err)
		Expect(locked.Holder).To(Equal("cpi/publish #7"))
		Expect(locked.BuildID).To(Equal(first.BuildID()))
		Expect(locked.Age).To(BeNumerically(">=", 300*time.Millisecond))
		Expect(err.Error()).To(ContainSubstring("cpi/publish #7 (build id " + first.BuildID() + ") has held its lock for"))
		_, _, err = line.Lock(ctx, "1.485", records.LockOptions{})
		Expect(err).NotTo(HaveOccurred(), "another version is another lock")

		Expect(lctx.Err()).NotTo(HaveOccurred())
		Expect(first.Release(ctx)).To(Succeed())
		Expect(cloud.Keys(t, line.Stemcell+"/locks/1.484/")).To(BeEmpty())
		_, _, err = line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #8"})
		Expect(err).NotTo(HaveOccurred())
	})

	it("takes over an expired lock, logs it, and the old holder learns it lost the lock", func() {
		old, oldCtx, err := line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #7", Renew: time.Hour, TTL: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(100 * time.Millisecond)

		_, _, err = line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #8", Log: log})
		Expect(err).NotTo(HaveOccurred())
		Expect(log.String()).To(ContainSubstring("took over the build lock of bosh-alicloud-kvm-ubuntu-noble 1.484 from cpi/publish #7 (build id " + old.BuildID() + "): it expired"))
		Expect(cloud.Keys(t, line.Stemcell+"/locks/1.484/")).To(Equal([]string{line.Stemcell + "/locks/1.484/00000002.json"}), "the next generation; the expired one deleted")
		Expect(oldCtx.Err()).NotTo(HaveOccurred(), "it learns at its next renewal")
		Expect(old.Release(ctx)).To(Succeed())
		Expect(cloud.Keys(t, line.Stemcell+"/locks/1.484/")).To(HaveLen(1), "a later holder's lock is not the old holder's to delete")
	})

	it("ends the context of a holder whose lock was taken over", func() {
		old, oldCtx, err := line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #7", Renew: 150 * time.Millisecond, TTL: 10 * time.Millisecond, Log: log})
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(30 * time.Millisecond)
		_, _, err = line.Lock(ctx, "1.484", records.LockOptions{Holder: "cpi/publish #8"})
		Expect(err).NotTo(HaveOccurred())
		NewWithT(t).Eventually(oldCtx.Done(), time.Second).Should(BeClosed())
		Expect(context.Cause(oldCtx)).To(MatchError(records.ErrLockLost))
		Expect(strings.Contains(log.String(), "locked by another build now")).To(BeTrue(), log.String())
		Expect(old.Release(ctx)).To(Succeed())
	})
}
