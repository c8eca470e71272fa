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

	when("a link is slow", func() {
		it("lets an upload part take longer than the call timeout while its bytes move", func() {
			// 512 KiB parts at 256 KiB/s take 2 s each: four times the call timeout, which used
			// to bound every try of a part and failed links slower than part size / 2 min.
			s := c.session(c.source(), func(o *alicloud.Options) {
				o.CallTimeout = 500 * time.Millisecond
				o.StallTimeout = 5 * time.Second
			})
			slow, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Kind: sim.FaultBandwidth, Bandwidth: 256 << 10})
			data := randomBytes(1<<20, 11)
			start := time.Now()
			up, err := slow.Upload(ctx, "slow.tgz", bytes.NewReader(data), alicloud.UploadOptions{
				TransferOptions: alicloud.TransferOptions{PartSize: 512 << 10, Parallel: 2}})
			Expect(err).NotTo(HaveOccurred())
			Expect(time.Since(start)).To(BeNumerically(">", time.Second), "the fault slowed the parts")
			Expect(up.SHA256).To(Equal(sha256Hex(data)))
			Expect(c.calls("oss", "UploadPart")).To(Equal(2), "no part was cut short and sent again")
		})

		it("gives up a part that stops moving after the stall timeout, however long a call may take", func() {
			s := c.session(c.source(), func(o *alicloud.Options) {
				o.CallTimeout = time.Minute
				o.StallTimeout = 300 * time.Millisecond
			})
			stalled, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "UploadPart", Kind: sim.FaultHang})
			start := time.Now()
			_, err = stalled.Upload(ctx, "stalled.tgz", bytes.NewReader(randomBytes(1<<20, 12)), alicloud.UploadOptions{
				TransferOptions: alicloud.TransferOptions{PartSize: 512 << 10, Parallel: 2}})
			Expect(alicloud.HasCode(err, "Timeout")).To(BeTrue(), "%v", err)
			Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
			Expect(c.sim.Journal()).NotTo(ContainElement(HaveField("Action", "CompleteMultipartUpload")))
		})
	})

	when("a small call never answers", func() {
		it("gives every try the call timeout, not the stall timeout of transfers", func() {
			s := c.session(c.source(), func(o *alicloud.Options) {
				o.CallTimeout = 200 * time.Millisecond
				o.StallTimeout = time.Minute
			})
			quick, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			for _, action := range []string{"HeadObject", "GetObject", "ListObjectsV2"} {
				c.sim.AddFault(sim.Fault{Service: "oss", Action: action, Kind: sim.FaultHang})
			}
			for name, call := range map[string]func() error{
				"HeadObject":    func() error { _, err := quick.Head(ctx, "records/1.json"); return err },
				"GetObject":     func() error { _, _, err := quick.Get(ctx, "records/1.json"); return err },
				"ListObjectsV2": func() error { _, err := quick.List(ctx, "records/"); return err },
			} {
				start := time.Now()
				err := call()
				Expect(alicloud.HasCode(err, "Timeout")).To(BeTrue(), "%s: %v", name, err)
				Expect(err.Error()).To(ContainSubstring("oss " + name + ": Timeout"))
				Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), name)
			}
			Expect(c.calls("oss", "HeadObject")).To(Equal(5), "every try of the policy")
		})
	})

	when("a retried OSS call is logged", func() {
		it("names the OSS action, not the HTTP request", func() {
			_, err := st.Put(ctx, "records/1.json", []byte("{}"), alicloud.PutOptions{})
			Expect(err).NotTo(HaveOccurred())
			for _, action := range []string{"HeadObject", "GetObject", "ListObjectsV2", "DeleteObject", "PutObjectAcl"} {
				c.sim.AddFault(sim.Fault{Service: "oss", Action: action, Nth: 1, Kind: sim.FaultServiceUnavailable})
			}
			_, err = st.Head(ctx, "records/1.json")
			Expect(err).NotTo(HaveOccurred())
			_, _, err = st.Get(ctx, "records/1.json")
			Expect(err).NotTo(HaveOccurred())
			_, err = st.List(ctx, "records/")
			Expect(err).NotTo(HaveOccurred())
			Expect(st.SetPublicRead(ctx, "records/1.json", false)).To(Succeed())
			Expect(st.Delete(ctx, "records/1.json")).To(Succeed())
			warnings := strings.Join(c.log.Lines(), "\n")
			for _, action := range []string{"HeadObject", "GetObject", "ListObjectsV2", "DeleteObject", "PutObjectAcl"} {
				Expect(warnings).To(ContainSubstring("WARN oss "+action+": ServiceUnavailable"), action)
			}
			Expect(warnings).NotTo(ContainSubstring("http://"))
			Expect(warnings).NotTo(MatchRegexp(`oss (GET|HEAD|PUT|POST|DELETE) `))
		})
	})

	when("a completion succeeds but its answer is lost", func() {
		it("recognises the object by its size and CRC-64 instead of failing NoSuchUpload", func() {
			c.sim.AddFault(sim.Fault{Service: "oss", Action: "CompleteMultipartUpload", Nth: 1, Kind: sim.FaultLostAnswer})
			data := randomBytes(3<<20, 13)
			up, err := st.Upload(ctx, "lost.tgz", bytes.NewReader(data), alicloud.UploadOptions{
				TransferOptions: alicloud.TransferOptions{PartSize: 1 << 20, Parallel: 2}})
			Expect(err).NotTo(HaveOccurred())
			Expect(up.SHA256).To(Equal(sha256Hex(data)))
			Expect(c.calls("oss", "CompleteMultipartUpload")).To(Equal(2))
			Expect(strings.Join(c.log.Lines(), "\n")).To(ContainSubstring("an earlier try completed the upload"))
			var out bytes.Buffer
			_, err = st.Download(ctx, "lost.tgz", &out, alicloud.TransferOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Bytes()).To(Equal(data))
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
