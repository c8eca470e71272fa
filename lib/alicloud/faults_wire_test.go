package alicloud_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testFaults(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		st     *alicloud.Store
		ctx    = context.Background()
	)
	it.Before(func() {
		c = newCloud(t)
		st = c.store(c.source())
	})

	when("a retryable failure hits a call once", func() {
		for _, kind := range []sim.FaultKind{sim.FaultThrottling, sim.FaultInternalError, sim.FaultServiceUnavailable, sim.FaultReset} {
			it("absorbs "+string(kind)+" and logs the retry with its code", func() {
				c.sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 1, Kind: kind})
				_, err := st.Put(ctx, "record.json", []byte("{}"), alicloud.PutOptions{})
				Expect(err).NotTo(HaveOccurred())
				Expect(c.calls("oss", "PutObject")).To(Equal(2))
				warnings := strings.Join(c.log.Lines(), "\n")
				Expect(warnings).To(MatchRegexp(`WARN oss .*retrying in \d+m?s \(attempt 2 of 5\)`))
				Expect(warnings).NotTo(ContainSubstring(testKeySecret))
			})
		}
	})

	when("faults hit a parallel transfer", func() {
		it("retries parts and ranges, including a connection reset mid-download", func() {
			// Fixed calls, not a probability: a random fault can throttle one part five times
			// running (1 run in 70) and fail the test for nothing.
			for _, nth := range []int{2, 3, 5} {
				c.sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Nth: nth, Kind: sim.FaultThrottling})
			}
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Nth: 2, Kind: sim.FaultReset})
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Nth: 4, Kind: sim.FaultServiceUnavailable})
			data := randomBytes(6<<20, 7)
			transfer := alicloud.TransferOptions{PartSize: 1 << 20, Parallel: 3}
			up, err := st.Upload(ctx, "big.tgz", bytes.NewReader(data), alicloud.UploadOptions{TransferOptions: transfer})
			Expect(err).NotTo(HaveOccurred())
			var out bytes.Buffer
			down, err := st.Download(ctx, "big.tgz", &out, transfer)
			Expect(err).NotTo(HaveOccurred())
			Expect(down.SHA256).To(Equal(up.SHA256))
			Expect(down.SHA256).To(Equal(sha256Hex(data)))
			Expect(c.calls("oss", "GetObject")).To(Equal(8), "6 ranges and 2 retries")
		})
	})

	when("a failure is not retryable", func() {
		it("returns it at once", func() {
			_, err := st.Head(ctx, "absent")
			Expect(alicloud.IsNotFound(err)).To(BeTrue())
			Expect(c.calls("oss", "HeadObject")).To(Equal(1))
		})
	})

	when("the cloud keeps failing", func() {
		it("gives up after the policy's attempts, with the last code", func() {
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Kind: sim.FaultServiceUnavailable})
			_, err := st.Put(ctx, "x", []byte("x"), alicloud.PutOptions{})
			Expect(alicloud.HasCode(err, "ServiceUnavailable")).To(BeTrue(), "%v", err)
			Expect(c.calls("oss", "PutObject")).To(Equal(5))
		})

		it("stops when the deadline passes, however many attempts are left", func() {
			s, err := alicloud.NewSession(c.source(), alicloud.Options{
				Retry: alicloud.RetryPolicy{Attempts: 1000, BaseDelay: 20 * time.Millisecond, MaxDelay: 20 * time.Millisecond},
			})
			Expect(err).NotTo(HaveOccurred())
			patient, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Kind: sim.FaultThrottling})
			deadline, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = patient.Put(deadline, "x", []byte("x"), alicloud.PutOptions{})
			Expect(err).To(HaveOccurred())
			Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
			Expect(c.calls("oss", "PutObject")).To(BeNumerically("<", 1000))
		})

		it("bounds a call that never answers by its context", func() {
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "HeadObject", Kind: sim.FaultHang})
			deadline, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := st.Head(deadline, "x")
			Expect(err).To(HaveOccurred())
			Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		})
	})

	when("a call hangs once", func() {
		it("gives that try up after the call timeout and tries again, for OSS and for ECS", func() {
			s := c.session(c.source(), func(o *alicloud.Options) { o.CallTimeout = 500 * time.Millisecond })
			quick, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			_, err = quick.Put(ctx, "x", []byte("x"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())

			c.sim.AddFault(sim.Fault{Service: "oss", Action: "HeadObject", Nth: 1, Kind: sim.FaultHang})
			_, err = quick.Head(ctx, "x")
			Expect(err).NotTo(HaveOccurred())
			Expect(c.calls("oss", "HeadObject")).To(Equal(2))

			c.sim.AddFault(sim.Fault{Service: "ecs", Action: "DescribeRegions", Nth: 1, Kind: sim.FaultHang})
			_, err = s.Regions(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(strings.Join(c.log.Lines(), "\n")).To(ContainSubstring("ecs DescribeRegions: Timeout"))
		})
	})

	when("a call is slow but answers", func() {
		it("waits for it", func() {
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Nth: 1, Kind: sim.FaultLatency, Latency: 200 * time.Millisecond})
			_, err := st.Put(ctx, "x", []byte("x"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.calls("oss", "PutObject")).To(Equal(1))
		})
	})

	when("STS and the metadata service fail once", func() {
		it("retries them too", func() {
			c.sim.AddFault(sim.Fault{Service: "sts", Action: "AssumeRole", Nth: 1, Kind: sim.FaultThrottling})
			source := c.source()
			source.AssumeRoleARN = "acs:ram::1234567890:role/ci"
			_, err := c.store(source).Put(ctx, "x", []byte("x"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.calls("sts", "AssumeRole")).To(Equal(2))

			c.sim.AddFault(sim.Fault{Service: "metadata", Action: "GetRoleCredentials", Nth: 1, Kind: sim.FaultInternalError})
			source = c.source()
			source.AccessKeyID, source.AccessKeySecret, source.RAMRole = "", "", "ConcourseWorker"
			_, err = c.store(source).Put(ctx, "y", []byte("y"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
		})
	})
}
