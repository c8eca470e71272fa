package sim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testFaults(t *testing.T, context spec.G, it spec.S) {
	var (
		g          = NewWithT(t)
		Expect     = g.Expect
		Eventually = g.Eventually
		e          *env
	)
	const ecsQuery = "/?Action=DescribeImages&Version=2014-05-26&RegionId=cn-hangzhou"

	it.Before(func() {
		e = newEnv(t)
		c := e.ossClient()
		e.mustBucket(c, "faulty")
		e.mustPut(c, "faulty", "k", "v")
		// Anonymous GETs of this object succeed, so a fault is the only way they fail.
		_, err := c.PutObjectAcl(contextBackground(), &oss.PutObjectAclRequest{Bucket: oss.Ptr("faulty"), Key: oss.Ptr("k"), Acl: oss.ObjectACLPublicRead})
		Expect(err).NotTo(HaveOccurred())
	})

	ossGet := func() *rawResponse {
		resp, err := rawDo(http.MethodGet, e.url+"/faulty/k", "", nil)
		Expect(err).NotTo(HaveOccurred())
		return resp
	}
	rpcCode := func(resp *rawResponse) string {
		var body map[string]string
		Expect(json.Unmarshal([]byte(resp.body), &body)).To(Succeed(), resp.body)
		Expect(body["RequestId"]).NotTo(BeEmpty())
		return body["Code"]
	}

	context("error faults", func() {
		it("answer in each service's own format", func() {
			for _, tc := range []struct {
				service, action string
				kind            sim.FaultKind
				method, path    string
				status          int
				code            string
			}{
				{"oss", "GetObject", sim.FaultThrottling, "GET", "/faulty/k", 503, "<Code>TotalQpsLimitExceeded</Code>"},
				{"oss", "PutBucket", sim.FaultThrottling, "PUT", "/new-bucket/", 503, "<Code>MetaOperationQpsLimitExceeded</Code>"},
				{"oss", "GetObject", sim.FaultInternalError, "GET", "/faulty/k", 500, "<Code>InternalError</Code>"},
				{"oss", "GetObject", sim.FaultServiceUnavailable, "GET", "/faulty/k", 503, "<Code>ServiceUnavailable</Code>"},
				{"ecs", "DescribeImages", sim.FaultThrottling, "POST", ecsQuery, 400, `"Code":"Throttling"`},
				{"ecs", "DescribeImages", sim.FaultInternalError, "POST", ecsQuery, 500, `"Code":"InternalError"`},
				{"ecs", "DescribeImages", sim.FaultServiceUnavailable, "POST", ecsQuery, 503, `"Code":"ServiceUnavailable"`},
				{"sts", "AssumeRole", sim.FaultThrottling, "POST", "/?Action=AssumeRole&Version=2015-04-01", 400, `"Code":"Throttling"`},
				{"metadata", "ListRoles", sim.FaultThrottling, "GET", "/latest/meta-data/ram/security-credentials/", 429, "Too Many Requests"},
				{"metadata", "", sim.FaultServiceUnavailable, "GET", "/latest/meta-data/region-id", 503, "Service Unavailable"},
			} {
				e.srv.ClearFaults()
				id := e.srv.AddFault(sim.Fault{Service: tc.service, Action: tc.action, Kind: tc.kind})
				Expect(id).NotTo(BeEmpty())
				resp, err := rawDo(tc.method, e.url+tc.path, "", nil)
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.status).To(Equal(tc.status), tc.code)
				Expect(resp.body).To(ContainSubstring(tc.code))
				entries := e.srv.Journal()
				last := entries[len(entries)-1]
				Expect(last.Fault).To(Equal(id))
				Expect(last.Service).To(Equal(tc.service))
			}
		})

		it("are retried by the OSS SDK like real 5xx answers", func() {
			e.srv.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Kind: sim.FaultInternalError, Count: 2})
			c := e.ossClient(withRetries(3))
			e.mustPut(c, "faulty", "retried", "finally")
			var statuses []int
			for _, en := range e.srv.Journal() {
				if en.Action == "PutObject" && en.Key == "retried" {
					statuses = append(statuses, en.Status)
				}
			}
			Expect(statuses).To(Equal([]int{500, 500, 200}))
		})
	})

	context("selection", func() {
		it("fires on the nth matching call only", func() {
			e.srv.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Nth: 2, Kind: sim.FaultInternalError})
			Expect(ossGet().status).To(Equal(200))
			Expect(ossGet().status).To(Equal(500))
			Expect(ossGet().status).To(Equal(200))
		})

		it("stops after Count firings, and after Duration", func() {
			e.srv.AddFault(sim.Fault{Action: "GetObject", Count: 2, Kind: sim.FaultServiceUnavailable})
			Expect([]int{ossGet().status, ossGet().status, ossGet().status}).To(Equal([]int{503, 503, 200}))

			e.srv.AddFault(sim.Fault{Service: "oss", Duration: time.Minute, Kind: sim.FaultInternalError})
			Expect(ossGet().status).To(Equal(500))
			e.clock.Advance(2 * time.Minute)
			Expect(ossGet().status).To(Equal(200))
		})

		it("fires with the given probability (seeded)", func() {
			e.srv.AddFault(sim.Fault{Service: "oss", Probability: 0.5, Kind: sim.FaultInternalError})
			failed := 0
			for range 200 {
				if ossGet().status == 500 {
					failed++
				}
			}
			Expect(failed).To(BeNumerically("~", 100, 30))
		})

		it("ignores calls of other services and actions, and is gone after ClearFaults", func() {
			e.srv.AddFault(sim.Fault{Service: "ecs", Kind: sim.FaultInternalError})
			e.srv.AddFault(sim.Fault{Service: "oss", Action: "PutObject", Kind: sim.FaultInternalError})
			Expect(ossGet().status).To(Equal(200))
			e.srv.AddFault(sim.Fault{Kind: sim.FaultInternalError})
			Expect(ossGet().status).To(Equal(500))
			e.srv.ClearFaults()
			Expect(ossGet().status).To(Equal(200))
		})

		it("rejects an invalid fault", func() {
			Expect(e.srv.AddFault(sim.Fault{Kind: "explode"})).To(BeEmpty())
			Expect(sim.ValidateFault(sim.Fault{Kind: "explode"})).To(MatchError(ContainSubstring(`fault kind "explode"`)))
			Expect(sim.ValidateFault(sim.Fault{Kind: sim.FaultLatency})).To(MatchError(ContainSubstring("needs a latency")))
			Expect(sim.ValidateFault(sim.Fault{Service: "rds", Kind: sim.FaultReset})).To(HaveOccurred())
		})
	})

	context("connection faults", func() {
		it("delays a request by the latency, then serves it", func() {
			e.srv.AddFault(sim.Fault{Action: "GetObject", Kind: sim.FaultLatency, Latency: 300 * time.Millisecond})
			start := time.Now()
			resp := ossGet()
			Expect(time.Since(start)).To(BeNumerically(">=", 300*time.Millisecond))
			Expect(resp.status).To(Equal(200))
			Expect(resp.body).To(Equal("v"))
		})

		it("resets the connection", func() {
			e.srv.AddFault(sim.Fault{Action: "GetObject", Kind: sim.FaultReset, Count: 1})
			_, err := rawDo(http.MethodGet, e.url+"/faulty/k", "", nil)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(Or(ContainSubstring("connection reset"), ContainSubstring("EOF")))
			Expect(ossGet().status).To(Equal(200))
			Eventually(e.srv.Journal).Should(ContainElement(And(
				HaveField("Action", "GetObject"), HaveField("Status", 0), HaveField("Fault", Not(BeEmpty())))))
		})

		it("hangs until the client gives up", func() {
			e.srv.AddFault(sim.Fault{Action: "GetObject", Kind: sim.FaultHang, Count: 1})
			client := &http.Client{Timeout: 300 * time.Millisecond}
			start := time.Now()
			_, err := client.Get(e.url + "/faulty/k")
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("Client.Timeout"))
			Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		})

		it("hangs at most Latency, then drops the connection", func() {
			e.srv.AddFault(sim.Fault{Action: "GetObject", Kind: sim.FaultHang, Latency: 200 * time.Millisecond, Count: 1})
			client := &http.Client{Timeout: 5 * time.Second}
			start := time.Now()
			_, err := client.Get(e.url + "/faulty/k")
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).NotTo(ContainSubstring("Client.Timeout"))
			Expect(time.Since(start)).To(BeNumerically(">=", 200*time.Millisecond))
		})
	})

	context("QPS limits", func() {
		it("throttle calls beyond the rate until lifted", func() {
			e.srv.SetQPS("oss", "GetObject", 2)
			statuses := map[int]int{}
			start := time.Now()
			for range 10 {
				statuses[ossGet().status]++
			}
			refilled := int(time.Since(start).Seconds() * 2) // tokens earned while the loop ran
			Expect(statuses[200]).To(BeNumerically(">=", 2))
			Expect(statuses[200]).To(BeNumerically("<=", 2+refilled+1))
			Expect(statuses[503]).To(BeNumerically(">=", 1))
			Expect(statuses[503]).To(Equal(10 - statuses[200]))
			resp := ossGet()
			if resp.status == 503 {
				Expect(resp.body).To(ContainSubstring("TotalQpsLimitExceeded"))
			}
			Expect(e.srv.Journal()).To(ContainElement(HaveField("Fault", "qps-limit")))

			e.srv.SetQPS("ecs", "", 1)
			first, err := rawDo(http.MethodPost, e.url+ecsQuery, "", nil)
			Expect(err).NotTo(HaveOccurred())
			second, err := rawDo(http.MethodPost, e.url+ecsQuery, "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(rpcCode(first)).To(Equal("MissingParameter")) // through to authentication
			Expect(second.status).To(Equal(400))
			Expect(rpcCode(second)).To(Equal("Throttling"))

			e.srv.SetQPS("oss", "GetObject", 0)
			for range 5 {
				Expect(ossGet().status).To(Equal(200))
			}
		})
	})

	context("Fault JSON", func() {
		it("reads durations as strings or nanoseconds", func() {
			var f sim.Fault
			Expect(json.Unmarshal([]byte(`{"service":"oss","kind":"latency","latency":"150ms","duration":2000000000}`), &f)).To(Succeed())
			Expect(f).To(Equal(sim.Fault{Service: "oss", Kind: sim.FaultLatency, Latency: 150 * time.Millisecond, Duration: 2 * time.Second}))
			b, err := json.Marshal(f)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(b)).To(ContainSubstring(`"latency":"150ms"`))
			Expect(strings.Contains(string(b), `"duration":"2s"`)).To(BeTrue())
		})
	})
}
