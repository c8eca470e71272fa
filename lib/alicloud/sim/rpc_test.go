package sim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// recordingTransport remembers the URL of every request it sends.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func rpcServerError(err error) *sdkerrors.ServerError {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

func testRPC(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
	)

	it.Before(func() {
		e = newEnv(t)
	})

	stsClient := func(id, secret string) *sts.Client {
		c, err := sts.NewClientWithAccessKey(homeRegion, id, secret)
		Expect(err).NotTo(HaveOccurred())
		c.Domain = e.host
		return c
	}
	assumeRole := func(c *sts.Client, arn string, seconds int) (*sts.AssumeRoleResponse, error) {
		req := sts.CreateAssumeRoleRequest()
		req.Scheme = "http"
		req.RoleArn = arn
		req.RoleSessionName = "concourse@build-1"
		if seconds > 0 {
			req.DurationSeconds = requests.NewInteger(seconds)
		}
		return c.AssumeRole(req)
	}
	ecsCall := func(c *sdk.Client, action string) (string, error) {
		req := requests.NewCommonRequest()
		req.Method = "POST"
		req.Scheme = "http"
		req.Domain = e.host
		req.Product = "Ecs"
		req.Version = "2014-05-26"
		req.ApiName = action
		req.QueryParams["RegionId"] = homeRegion
		resp, err := c.ProcessCommonRequest(req)
		if err != nil {
			return "", err
		}
		return resp.GetHttpContentString(), nil
	}

	context("AssumeRole through alibaba-cloud-sdk-go's sts client", func() {
		it("issues STS credentials with the requested lifetime", func() {
			before := e.clock.Now()
			resp, err := assumeRole(stsClient(keyID, keySecret), "acs:ram::1234567890123456:role/ConcourseCI", 7200)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.RequestId).To(MatchRegexp(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`))
			Expect(resp.AssumedRoleUser.Arn).To(Equal("acs:ram::1234567890123456:role/ConcourseCI/concourse@build-1"))
			Expect(resp.AssumedRoleUser.AssumedRoleId).To(MatchRegexp(`^\d{19}:concourse@build-1$`))
			Expect(resp.Credentials.AccessKeyId).To(HavePrefix("STS."))
			Expect(resp.Credentials.AccessKeySecret).NotTo(BeEmpty())
			Expect(resp.Credentials.SecurityToken).NotTo(BeEmpty())
			exp, err := time.Parse("2006-01-02T15:04:05Z", resp.Credentials.Expiration)
			Expect(err).NotTo(HaveOccurred())
			Expect(exp).To(BeTemporally("~", before.Add(2*time.Hour), 2*time.Second))

			resp, err = assumeRole(stsClient(keyID, keySecret), "acs:ram::1234567890123456:role/ConcourseCI", 0)
			Expect(err).NotTo(HaveOccurred())
			exp, err = time.Parse("2006-01-02T15:04:05Z", resp.Credentials.Expiration)
			Expect(err).NotTo(HaveOccurred())
			Expect(exp).To(BeTemporally("~", before.Add(time.Hour), 2*time.Second))
		})

		it("enforces the duration bounds and the parameter forms", func() {
			for _, tc := range []struct {
				arn     string
				seconds int
				code    string
			}{
				{"acs:ram::1234567890123456:role/ci", 1, "InvalidParameter.DurationSeconds"},
				{"acs:ram::1234567890123456:role/ci", 43201, "InvalidParameter.DurationSeconds"},
				{"arn:aws:iam::123:role/ci", 3600, "InvalidParameter.RoleArn"},
				{"", 3600, "MissingRoleArn"},
			} {
				_, err := assumeRole(stsClient(keyID, keySecret), tc.arn, tc.seconds)
				se := rpcServerError(err)
				Expect(se).NotTo(BeNil(), tc.code)
				Expect(se.HttpStatus()).To(Equal(400))
				Expect(se.ErrorCode()).To(Equal(tc.code))
			}
		})

		it("answers a wrong secret with SignatureDoesNotMatch carrying the server's string to sign, which the SDK finds equal to its own", func() {
			_, err := assumeRole(stsClient(keyID, "not-the-secret"), "acs:ram::1:role/ci", 0)
			se := rpcServerError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.HttpStatus()).To(Equal(400))
			Expect(se.ErrorCode()).To(Equal("SignatureDoesNotMatch"))
			Expect(se.Message()).To(HavePrefix("Specified signature is not matched with our calculation. server string to sign is:POST&%2F&"))
			// The SDK compares the server's string to sign with its own and blames the secret only when they are equal.
			Expect(se.Recommend()).To(ContainSubstring("InvalidAccessKeySecret"))
		})

		it("answers an unknown key with 404 InvalidAccessKeyId.NotFound", func() {
			_, err := assumeRole(stsClient("LTAI5tNobody", "x"), "acs:ram::1:role/ci", 0)
			se := rpcServerError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.HttpStatus()).To(Equal(404))
			Expect(se.ErrorCode()).To(Equal("InvalidAccessKeyId.NotFound"))
			Expect(se.HostId()).To(Equal(e.host))
			Expect(se.RequestId()).NotTo(BeEmpty())
		})
	})

	context("replayed and stale requests", func() {
		it("refuses a reused SignatureNonce", func() {
			rec := &recordingTransport{}
			c := stsClient(keyID, keySecret)
			c.SetTransport(rec)
			_, err := assumeRole(c, "acs:ram::1:role/ci", 0)
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.urls).To(HaveLen(1))
			resp, err := rawDo(http.MethodPost, rec.urls[0], "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(400))
			var body map[string]string
			Expect(json.Unmarshal([]byte(resp.body), &body)).To(Succeed())
			Expect(body["Code"]).To(Equal("SignatureNonceUsed"))
			Expect(body).To(HaveKey("RequestId"))
			Expect(body).To(HaveKey("HostId"))
			Expect(body["Recommend"]).To(ContainSubstring("SignatureNonceUsed"))
		})

		it("refuses a Timestamp more than 15 minutes away", func() {
			e.clock.Advance(16 * time.Minute)
			_, err := assumeRole(stsClient(keyID, keySecret), "acs:ram::1:role/ci", 0)
			se := rpcServerError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.ErrorCode()).To(Equal("InvalidTimeStamp.Expired"))
		})
	})

	context("ECS", func() {
		it("authenticates, then answers 404 InvalidAction.NotFound for an action it does not emulate", func() {
			c, err := sdkClient(keyID, keySecret, "")
			Expect(err).NotTo(HaveOccurred())
			_, err = ecsCall(c, "RunInstances")
			se := rpcServerError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.HttpStatus()).To(Equal(404))
			Expect(se.ErrorCode()).To(Equal("InvalidAction.NotFound"))

			bad, err := sdkClient(keyID, "wrong", "")
			Expect(err).NotTo(HaveOccurred())
			_, err = ecsCall(bad, "DescribeImages")
			Expect(rpcServerError(err).ErrorCode()).To(Equal("SignatureDoesNotMatch"))
		})

		it("accepts STS credentials until they expire, then answers InvalidSecurityToken.Expired", func() {
			resp, err := assumeRole(stsClient(keyID, keySecret), "acs:ram::1:role/ci", 2)
			Expect(err).NotTo(HaveOccurred())
			cr := resp.Credentials
			c, err := sdkClient(cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
			Expect(err).NotTo(HaveOccurred())
			_, err = ecsCall(c, "DescribeRegions")
			Expect(err).NotTo(HaveOccurred()) // authenticated as the account that assumed the role

			forged, err := sdkClient(cr.AccessKeyId, cr.AccessKeySecret, "forged")
			Expect(err).NotTo(HaveOccurred())
			_, err = ecsCall(forged, "DescribeRegions")
			Expect(rpcServerError(err).ErrorCode()).To(Equal("InvalidSecurityToken.MismatchWithAccessKey"))

			e.clock.Advance(3 * time.Second)
			_, err = ecsCall(c, "DescribeRegions")
			se := rpcServerError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.HttpStatus()).To(Equal(400))
			Expect(se.ErrorCode()).To(Equal("InvalidSecurityToken.Expired"))
		})

		it("answers an unknown API version with InvalidVersion", func() {
			c, err := sdkClient(keyID, keySecret, "")
			Expect(err).NotTo(HaveOccurred())
			req := requests.NewCommonRequest()
			req.Method, req.Scheme, req.Domain = "POST", "http", e.host
			req.Version, req.ApiName = "2016-04-28", "DescribeVpcs"
			_, err = c.ProcessCommonRequest(req)
			Expect(rpcServerError(err).ErrorCode()).To(Equal("InvalidVersion"))
			Expect(strings.Join(journalActions(e), ",")).To(ContainSubstring("DescribeVpcs"))
		})
	})
}

func journalActions(e *env) []string {
	var out []string
	for _, en := range e.srv.Journal() {
		out = append(out, en.Action)
	}
	return out
}
