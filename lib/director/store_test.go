package director_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newStore(t *testing.T, cloud *testtools.Cloud, c *clock) director.Store {
	t.Helper()
	objects, err := alicloud.OpenStore(alicloud.Cloud{
		AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret, Region: cloud.Region, Bucket: cloud.Bucket,
		Prefix: "directors/", OSSEndpoint: cloud.URL, ECSEndpoint: cloud.URL,
	}, alicloud.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := director.Store{Objects: objects}
	if c != nil {
		s.Clock = c.Now
	}
	return s
}

func testRevisions(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		store  director.Store
		ctx    = contextBackground()
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		store = newStore(t, cloud, nil)
	})

	it("gives an env with no revisions none", func() {
		_, found, err := store.Latest(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeFalse())
	})

	it("finds the numerically latest of revisions 9, 10 and 1001", func() {
		for _, n := range []int{9, 10, 1001} {
			body, _ := json.Marshal(director.Revision{Env: "bats", Number: n, Status: director.StatusCreated})
			cloud.PutObject(t, "directors/"+director.RevisionName("bats", n), body)
		}
		Expect(cloud.Keys(t, "directors/bats/revisions/")).To(Equal([]string{
			"directors/bats/revisions/0000000009.json", "directors/bats/revisions/0000000010.json", "directors/bats/revisions/0000001001.json",
		}))
		latest, found, err := store.Latest(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(latest.Number).To(Equal(1001))
	})

	it("refuses a revision whose content names another key", func() {
		body, _ := json.Marshal(director.Revision{Env: "other", Number: 1})
		cloud.PutObject(t, "directors/"+director.RevisionName("bats", 1), body)
		_, err := store.Read(ctx, "bats", 1)
		Expect(err).To(MatchError(ContainSubstring(`records env "other" revision 1`)))
	})

	it("writes parts before the revision, all private, and verifies them on read", func() {
		part, err := store.PutPart(ctx, "bats", []byte(`{"current_vm_cid":"i-1"}`))
		Expect(err).NotTo(HaveOccurred())
		r, err := store.Write(ctx, director.Revision{Env: "bats", Status: director.StatusCreated, Parts: map[string]director.Part{director.PartState: part}})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Number).To(Equal(1))
		for _, key := range cloud.Keys(t, "directors/bats/") {
			response, err := http.Get(cloud.URL + "/" + cloud.Bucket + "/" + key)
			Expect(err).NotTo(HaveOccurred())
			_ = response.Body.Close()
			Expect(response.StatusCode).To(Equal(http.StatusForbidden), key)
		}
		data, err := store.ReadPart(ctx, part)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("i-1"))

		cloud.PutObject(t, "directors/"+part.Object, []byte("tampered"))
		_, err = store.ReadPart(ctx, part)
		Expect(err).To(MatchError(ContainSubstring("its revision records " + part.SHA256)))
	})

	it("writes every object private from its first byte, even in a bucket whose default is public-read", func() {
		cloud.SetBucketACL(t, "public-read")
		// An ACL change after the write would leave a window (and fails here): none is made.
		cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "PutObjectAcl", Kind: sim.FaultInternalError})
		part, err := store.PutPart(ctx, "bats", []byte(`{"current_vm_cid":"i-1"}`))
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Write(ctx, director.Revision{Env: "bats", Status: director.StatusCreated, Parts: map[string]director.Part{director.PartState: part}})
		Expect(err).NotTo(HaveOccurred())
		lock, err := store.Lock(ctx, "bats", "cpi/bats #7", "create", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		keys := cloud.Keys(t, "directors/bats/")
		Expect(len(keys)).To(BeNumerically(">=", 3), "a part, a revision and the lock")
		for _, key := range keys {
			response, err := http.Get(cloud.URL + "/" + cloud.Bucket + "/" + key)
			Expect(err).NotTo(HaveOccurred())
			_ = response.Body.Close()
			Expect(response.StatusCode).To(Equal(http.StatusForbidden), key)
		}
		Expect(lock.Unlock(ctx)).To(Succeed())
	})

	it("stores a writer whose base is no longer the latest as a conflict revision, and fails", func() {
		_, err := store.Write(ctx, director.Revision{Env: "bats", Status: director.StatusCreated})
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Write(ctx, director.Revision{Env: "bats", Base: 1, Status: director.StatusCreated, Who: "first"})
		Expect(err).NotTo(HaveOccurred())
		late, err := store.Write(ctx, director.Revision{Env: "bats", Base: 1, Status: director.StatusCreated, Who: "late"})
		Expect(errors.Is(err, director.ErrConflict)).To(BeTrue(), fmt.Sprint(err))
		Expect(err).To(MatchError(ContainSubstring("stored revision 3 as a conflict (revision 2 was taken)")))
		Expect(late.Number).To(Equal(3))
		stored, err := store.Read(ctx, "bats", 3)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored.Status).To(Equal(director.StatusConflict))
		Expect(stored.Who).To(Equal("late"))
		numbers, err := store.Numbers(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(numbers).To(Equal([]int{1, 2, 3}))
	})

	it("numbers 50 concurrent lock-holding writers 1..k with no gap or duplicate", func() {
		var mu sync.Mutex
		var written []int
		var refused int
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				who := fmt.Sprintf("writer-%d", i)
				lock, err := store.Lock(ctx, "bats", who, "create", time.Hour, nil)
				var held *director.HeldError
				if errors.As(err, &held) {
					Expect(held.Holder).To(HavePrefix("writer-"))
					Expect(err.Error()).To(ContainSubstring("held by writer-"))
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				Expect(err).NotTo(HaveOccurred())
				defer func() { Expect(lock.Unlock(ctx)).To(Succeed()) }()
				latest, found, err := store.Latest(ctx, "bats")
				Expect(err).NotTo(HaveOccurred())
				base := 0
				if found {
					base = latest.Number
				}
				r, err := store.Write(ctx, director.Revision{Env: "bats", Base: base, Status: director.StatusCreated, Who: who})
				Expect(err).NotTo(HaveOccurred())
				mu.Lock()
				written = append(written, r.Number)
				mu.Unlock()
			}()
		}
		wg.Wait()
		Expect(written).NotTo(BeEmpty())
		Expect(len(written) + refused).To(Equal(50))
		sort.Ints(written)
		numbers, err := store.Numbers(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(numbers).To(Equal(written))
		for i, n := range numbers {
			Expect(n).To(Equal(i + 1))
		}
	})
}

func testLock(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		store  director.Store
		clk    *clock
		ctx    = contextBackground()
	)
	it.Before(func() {
		clk = &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
		store = newStore(t, testtools.NewCloud(t), clk)
	})

	it("refuses another run naming the holder, and is free again after unlock", func() {
		lock, err := store.Lock(ctx, "bats", "cpi/bats #7", "create", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Lock(ctx, "bats", "cpi/teardown #3", "destroy", time.Hour, nil)
		Expect(err).To(MatchError("env bats: the operation lock is held by cpi/bats #7 (create) until 2026-12-01T13:00:00Z"))
		Expect(lock.Unlock(ctx)).To(Succeed())
		again, err := store.Lock(ctx, "bats", "cpi/teardown #3", "destroy", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Unlock(ctx)).To(Succeed())
	})

	it("breaks an expired lock once, logging it; the dead holder's unlock leaves the new lock", func() {
		dead, err := store.Lock(ctx, "bats", "cpi/bats #7", "create", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		clk.Add(2 * time.Hour)
		log := &testtools.Log{}
		next, err := store.Lock(ctx, "bats", "cpi/bats #8", "create", time.Hour, log)
		Expect(err).NotTo(HaveOccurred())
		Expect(log.String()).To(ContainSubstring("broke the operation lock of cpi/bats #7"))
		Expect(dead.Unlock(ctx)).To(Succeed())
		_, err = store.Lock(ctx, "bats", "cpi/bats #9", "create", time.Hour, nil)
		Expect(err).To(MatchError(ContainSubstring("held by cpi/bats #8")))
		Expect(next.Unlock(ctx)).To(Succeed())
	})
}

func testLeases(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		store  director.Store
		clk    *clock
		ctx    = contextBackground()
	)
	it.Before(func() {
		clk = &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
		cloud = testtools.NewCloud(t)
		store = newStore(t, cloud, clk)
	})

	claimAll := func(claimers int, claim func(who string) (director.Revision, error)) (map[string]director.Revision, []error) {
		var mu sync.Mutex
		won := map[string]director.Revision{}
		var lost []error
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				who := fmt.Sprintf("cpi/bats #%d", i)
				r, err := claim(who)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					lost = append(lost, err)
				} else {
					won[who] = r
				}
			}()
		}
		wg.Wait()
		return won, lost
	}

	it("lets exactly one of 20 simultaneous claimers win; every other fails naming the holder", func() {
		start := time.Now()
		won, lost := claimAll(20, func(who string) (director.Revision, error) { return store.Claim(ctx, "bats", who, time.Hour, nil) })
		settled := time.Since(start)
		Expect(won).To(HaveLen(1))
		Expect(lost).To(HaveLen(19))
		var winner string
		for who, r := range won {
			winner = who
			Expect(r.Status).To(Equal(director.StatusClaimed))
			Expect(r.Lease.Owner).To(Equal(who))
			Expect(r.Lease.Token).To(HaveLen(48))
		}
		for _, err := range lost {
			var held *director.HeldError
			Expect(errors.As(err, &held)).To(BeTrue(), err.Error())
			Expect(err.Error()).To(ContainSubstring("the lease is held by " + winner))
		}
		t.Logf("20 claimers settled in %s", settled)
		Expect(settled).To(BeNumerically("<", 2*time.Second))
	})

	it("gives a pool of 5 to 5 distinct winners of 20 claimers", func() {
		pool := []string{"bats-1", "bats-2", "bats-3", "bats-4", "bats-5"}
		won, lost := claimAll(20, func(who string) (director.Revision, error) {
			return store.ClaimOne(ctx, pool, who, time.Hour, 0, nil)
		})
		Expect(won).To(HaveLen(5))
		Expect(lost).To(HaveLen(15))
		envs := map[string]bool{}
		for _, r := range won {
			envs[r.Env] = true
		}
		Expect(envs).To(HaveLen(5))
		for _, err := range lost {
			Expect(err).To(MatchError(HavePrefix("no env of the pool is free: env bats-")))
		}
	})

	it("releases by token only, and records the release", func() {
		claimed, err := store.Claim(ctx, "bats", "cpi/bats #1", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Release(ctx, "bats", "not-the-token", "cpi/other #1", nil)
		Expect(err).To(MatchError(ContainSubstring("params.lease is not the token of the lease held by cpi/bats #1")))
		_, err = store.Release(ctx, "bats", "", "cpi/other #1", nil)
		Expect(err).To(MatchError(ContainSubstring("the lease is held by cpi/bats #1")))
		released, err := store.Release(ctx, "bats", claimed.Lease.Token, "cpi/bats #1", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(released.Number).To(Equal(claimed.Number + 1))
		Expect(released.Status).To(Equal(director.StatusReleased))
		Expect(released.Lease).To(BeNil())
		_, found, err := store.Holder(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeFalse())
	})

	it("refuses a change of a leased env without its token, naming the holder, and renews with it", func() {
		claimed, err := store.Claim(ctx, "bats", "cpi/bats #1", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Authorize(ctx, "bats", "", time.Hour)
		Expect(err).To(MatchError("env bats: the lease is held by cpi/bats #1 until 2026-12-01T13:00:00Z"))
		clk.Add(30 * time.Minute)
		renewed, err := store.Authorize(ctx, "bats", claimed.Lease.Token, 0)
		Expect(err).NotTo(HaveOccurred())
		Expect(renewed.Expires).To(Equal(clk.Now().Add(time.Hour)), "renewed by its own length")
		renewed, err = store.Authorize(ctx, "bats", claimed.Lease.Token, 2*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		Expect(renewed.Expires).To(Equal(clk.Now().Add(2 * time.Hour)))
		holder, found, err := store.Holder(ctx, "bats")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(holder.Expires).To(Equal(renewed.Expires))
	})

	it("lets an expired lease be claimed over or broken, logging it", func() {
		_, err := store.Claim(ctx, "bats-1", "cpi/bats #1", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Claim(ctx, "bats-2", "cpi/bats #2", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		log := &testtools.Log{}
		broke, err := store.BreakExpired(ctx, "bats-2", "cleanup", log)
		Expect(err).NotTo(HaveOccurred())
		Expect(broke).To(BeFalse(), "an unexpired lease is kept")

		clk.Add(61 * time.Minute)
		_, err = store.Claim(ctx, "bats-1", "cpi/bats #3", time.Hour, log)
		Expect(err).NotTo(HaveOccurred())
		Expect(log.String()).To(ContainSubstring("env bats-1: broke the lease of cpi/bats #1, expired at 2026-12-01T13:00:00Z"))
		broke, err = store.BreakExpired(ctx, "bats-2", "cleanup", log)
		Expect(err).NotTo(HaveOccurred())
		Expect(broke).To(BeTrue())
		Expect(log.String()).To(ContainSubstring("env bats-2: broke the lease of cpi/bats #2"))
		latest, _, err := store.Latest(ctx, "bats-2")
		Expect(err).NotTo(HaveOccurred())
		Expect(latest.Status).To(Equal(director.StatusReleased))
		Expect(latest.Action).To(Equal("break-expired"))
	})

	it("keeps the lease token out of every object name", func() {
		claimed, err := store.Claim(ctx, "bats", "cpi/bats #1", time.Hour, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(cloud.Keys(t, ""), "\n")).NotTo(ContainSubstring(claimed.Lease.Token))
	})
}

func contextBackground() context.Context { return context.Background() }
