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

func testMetadata(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
	)
	const (
		credsPath   = "/latest/meta-data/ram/security-credentials/"
		tokenHeader = "X-aliyun-ecs-metadata-token"
		ttlHeader   = "X-aliyun-ecs-metadata-token-ttl-seconds"
	)

	it.Before(func() {
		e = newEnv(t, func(c *sim.Config) { c.RAMRoles = []string{"ConcourseWorker"} })
	})

	getToken := func(ttl string) *rawResponse {
		resp, err := rawDo(http.MethodPut, e.url+"/latest/api/token", "", map[string]string{ttlHeader: ttl})
		Expect(err).NotTo(HaveOccurred())
		return resp
	}

	context("the IMDSv2-style token flow", func() {
		it("names the role and hands out STS credentials that work for OSS", func() {
			tok := getToken("60")
			Expect(tok.status).To(Equal(200))
			token := tok.body
			Expect(token).NotTo(BeEmpty())

			roles, err := rawDo(http.MethodGet, e.url+credsPath, "", map[string]string{tokenHeader: token})
			Expect(err).NotTo(HaveOccurred())
			Expect(roles.status).To(Equal(200))
			Expect(roles.body).To(Equal("ConcourseWorker"))

			resp, err := rawDo(http.MethodGet, e.url+credsPath+"ConcourseWorker", "", map[string]string{tokenHeader: token})
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(200))
			var creds map[string]string
			Expect(json.Unmarshal([]byte(resp.body), &creds)).To(Succeed())
			Expect(creds).To(HaveKeyWithValue("Code", "Success"))
			Expect(creds["AccessKeyId"]).To(HavePrefix("STS."))
			Expect(creds["AccessKeySecret"]).NotTo(BeEmpty())
			Expect(creds["SecurityToken"]).NotTo(BeEmpty())
			exp, err := time.Parse("2006-01-02T15:04:05Z", creds["Expiration"])
			Expect(err).NotTo(HaveOccurred())
			Expect(exp).To(BeTemporally(">", time.Now().Add(30*time.Minute)))
			_, err = time.Parse("2006-01-02T15:04:05Z", creds["LastUpdated"])
			Expect(err).NotTo(HaveOccurred())

			// The same credentials until they are half used, as the instance's own refresh does.
			again, err := rawDo(http.MethodGet, e.url+credsPath+"ConcourseWorker", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(again.body).To(Equal(resp.body))

			c := e.ossClient(withKeys(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]))
			e.mustBucket(c, "from-instance")
			e.mustPut(c, "from-instance", "k", "v")
			Expect(e.mustGet(c, "from-instance", "k")).To(Equal("v"))
		})

		it("refuses bad and expired tokens and bad TTLs", func() {
			for _, ttl := range []string{"0", "21601", "soon", ""} {
				Expect(getToken(ttl).status).To(Equal(400), ttl)
			}
			bad, err := rawDo(http.MethodGet, e.url+credsPath, "", map[string]string{tokenHeader: "forged"})
			Expect(err).NotTo(HaveOccurred())
			Expect(bad.status).To(Equal(401))

			token := getToken("5").body
			e.clock.Advance(6 * time.Second)
			expired, err := rawDo(http.MethodGet, e.url+credsPath, "", map[string]string{tokenHeader: token})
			Expect(err).NotTo(HaveOccurred())
			Expect(expired.status).To(Equal(401))
		})

		it("answers 404 for an unknown role and serves the region id", func() {
			resp, err := rawDo(http.MethodGet, e.url+credsPath+"SomeoneElse", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(404))
			region, err := rawDo(http.MethodGet, e.url+"/latest/meta-data/region-id", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(region.body).To(Equal(homeRegion))
		})
	})

	context("a bucket named latest", func() {
		it("is still OSS when the request is signed", func() {
			c := e.ossClient()
			e.mustBucket(c, "latest")
			e.mustPut(c, "latest", "meta-data/ram/security-credentials/x", "an object")
			Expect(e.mustGet(c, "latest", "meta-data/ram/security-credentials/x")).To(Equal("an object"))
			res, err := c.ListObjects(contextBackground(), &oss.ListObjectsRequest{Bucket: oss.Ptr("latest"), Prefix: oss.Ptr("meta-data/")})
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Contents).To(HaveLen(1))
			Expect(strings.Join(journalActions(e), ",")).NotTo(ContainSubstring("GetRoleCredentials"))
		})
	})
}
