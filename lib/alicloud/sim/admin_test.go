package sim_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

const v4Algorithm = "OSS4-HMAC-SHA256"

func testAdmin(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
	)

	it.Before(func() {
		e = newEnv(t)
	})

	admin := func(method, path, body string) *rawResponse {
		resp, err := rawDo(method, e.url+"/_sim/"+path, body, map[string]string{"Content-Type": "application/json"})
		Expect(err).NotTo(HaveOccurred())
		return resp
	}

	context("the journal", func() {
		it("records every call without secrets or signatures", func() {
			c := e.ossClient(withRegion(remoteRegion))
			e.mustBucket(c, "journaled")
			put := e.mustPut(c, "journaled", "some/key", "v")
			_, err := e.ossClient(withKeys(keyID, "wrong-secret")).GetObject(contextBackground(), &oss.GetObjectRequest{Bucket: oss.Ptr("journaled"), Key: oss.Ptr("some/key")})
			Expect(err).To(HaveOccurred())

			entries := e.srv.Journal()
			Expect(entries).To(HaveLen(3))
			p := entries[1]
			Expect(p.Service).To(Equal("oss"))
			Expect(p.Action).To(Equal("PutObject"))
			Expect(p.Region).To(Equal(remoteRegion))
			Expect(p.Bucket).To(Equal("journaled"))
			Expect(p.Key).To(Equal("some/key"))
			Expect(p.AccessKeyID).To(Equal(keyID))
			Expect(p.Status).To(Equal(200))
			Expect(p.RequestID).To(Equal(put.Headers.Get("x-oss-request-id")))
			Expect(p.Duration).To(BeNumerically(">", 0))
			Expect(p.Time).To(BeTemporally("~", time.Now(), 5*time.Second))
			Expect(p.Seq).To(Equal(entries[0].Seq + 1))
			Expect(entries[2].Status).To(Equal(403))
			Expect(entries[2].ErrorCode).To(Equal("SignatureDoesNotMatch"))

			resp := admin(http.MethodGet, "journal", "")
			Expect(resp.status).To(Equal(200))
			Expect(resp.body).NotTo(ContainSubstring(keySecret))
			Expect(resp.body).NotTo(ContainSubstring("wrong-secret"))
			Expect(resp.body).NotTo(ContainSubstring(v4Algorithm))
			Expect(resp.body).NotTo(ContainSubstring("Signature="))
			var overHTTP []sim.Entry
			Expect(json.Unmarshal([]byte(resp.body), &overHTTP)).To(Succeed())
			Expect(overHTTP).To(Equal(entries))
		})
	})

	context("the admin API", func() {
		it("adds, lists and removes faults", func() {
			resp := admin(http.MethodPost, "faults", `{"service":"oss","action":"GetObject","kind":"service-unavailable","count":1}`)
			Expect(resp.status).To(Equal(201))
			var added map[string]string
			Expect(json.Unmarshal([]byte(resp.body), &added)).To(Succeed())
			Expect(added["id"]).NotTo(BeEmpty())

			status, _, body, err := rawGet(e.url + "/any-bucket/any-key")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(503))
			Expect(body).To(ContainSubstring("<Code>ServiceUnavailable</Code>"))

			resp = admin(http.MethodGet, "faults", "")
			Expect(resp.status).To(Equal(200))
			Expect(resp.body).To(ContainSubstring(`"fired": 1`))
			Expect(admin(http.MethodDelete, "faults/"+added["id"], "").status).To(Equal(204))
			Expect(admin(http.MethodDelete, "faults/"+added["id"], "").status).To(Equal(404))

			admin(http.MethodPost, "faults", `{"kind":"internal-error"}`)
			Expect(admin(http.MethodDelete, "faults", "").status).To(Equal(204))
			Expect(admin(http.MethodGet, "faults", "").body).To(MatchJSON(`[]`))
		})

		it("explains a bad fault", func() {
			resp := admin(http.MethodPost, "faults", `{"kind":"explode"}`)
			Expect(resp.status).To(Equal(400))
			Expect(resp.body).To(ContainSubstring(`fault kind \"explode\"`))
			resp = admin(http.MethodPost, "faults", `{"kind":"reset","colour":"red"}`)
			Expect(resp.status).To(Equal(400))
			Expect(resp.body).To(ContainSubstring("colour"))
			resp = admin(http.MethodPost, "faults", `{"kind":"latency","latency":"soon"}`)
			Expect(resp.status).To(Equal(400))
		})

		it("sets QPS limits", func() {
			Expect(admin(http.MethodPost, "qps", `{"service":"oss","action":"GetObject","qps":1}`).status).To(Equal(204))
			first, _, _, err := rawGet(e.url + "/b/k")
			Expect(err).NotTo(HaveOccurred())
			second, _, body, err := rawGet(e.url + "/b/k")
			Expect(err).NotTo(HaveOccurred())
			Expect(first).NotTo(Equal(503))
			Expect(second).To(Equal(503))
			Expect(body).To(ContainSubstring("TotalQpsLimitExceeded"))
			Expect(admin(http.MethodPost, "qps", `{"service":"s3","qps":1}`).status).To(Equal(400))
		})

		it("resets faults, limits and the journal, and the state on request", func() {
			c := e.ossClient()
			e.mustBucket(c, "kept")
			e.srv.AddFault(sim.Fault{Service: "ecs", Kind: sim.FaultReset})
			e.srv.SetQPS("oss", "", 0.001)
			Expect(admin(http.MethodPost, "reset", "").status).To(Equal(204))
			Expect(e.srv.Journal()).To(BeEmpty())
			exists, err := c.IsBucketExist(contextBackground(), "kept")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeTrue())
			Expect(admin(http.MethodGet, "faults", "").body).To(MatchJSON(`[]`))

			Expect(admin(http.MethodPost, "reset?state=true", "").status).To(Equal(204))
			exists, err = c.IsBucketExist(contextBackground(), "kept")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse())
		})

		it("answers unknown routes with 404", func() {
			Expect(admin(http.MethodGet, "nothing", "").status).To(Equal(404))
		})
	})
}
