package sim_test

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// stringToSignLog captures the string to sign the OSS SDK logs at debug level.
type stringToSignLog struct {
	mu  sync.Mutex
	sts []string
}

func (l *stringToSignLog) option(c *oss.Config) {
	c.WithLogLevel(oss.LogDebug).WithLogPrinter(oss.LogPrinterFunc(func(v ...any) {
		msg := fmt.Sprint(v...)
		if _, after, ok := strings.Cut(msg, "StringToSign:"); ok {
			l.mu.Lock()
			l.sts = append(l.sts, after)
			l.mu.Unlock()
		}
	}))
}

func (l *stringToSignLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sts) == 0 {
		return ""
	}
	return l.sts[len(l.sts)-1]
}

// errorField reads one element of an OSS error document.
func errorField(doc []byte, name string) string {
	var fields struct {
		Elements []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	_ = xml.Unmarshal(doc, &fields) // not an error document: no field, which the caller's expectation reports
	for _, el := range fields.Elements {
		if el.XMLName.Local == name {
			return el.Value
		}
	}
	return ""
}

func testOSSAuth(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *oss.Client
		ctx    = contextBackground()
	)

	it.Before(func() {
		e = newEnv(t)
		c = e.ossClient()
		e.mustBucket(c, "auth")
		e.mustPut(c, "auth", "dir/obj ü.txt", "content")
	})

	context("a wrong secret", func() {
		for _, signing := range []struct {
			name string
			opt  clientOpt
		}{{"V4", func(*oss.Config) {}}, {"V1", v1Signing}} {
			it("answers 403 SignatureDoesNotMatch with the server's string to sign, equal to the SDK's ("+signing.name+")", func() {
				log := &stringToSignLog{}
				bad := e.ossClient(signing.opt, withKeys(keyID, "not-the-secret"), log.option)
				_, err := bad.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("dir/obj ü.txt"), Range: oss.Ptr("bytes=0-1")})
				se := serviceError(err)
				Expect(se).NotTo(BeNil())
				Expect(se.StatusCode).To(Equal(403))
				Expect(se.Code).To(Equal("SignatureDoesNotMatch"))
				serverSTS := errorField(se.Snapshot, "StringToSign")
				Expect(serverSTS).NotTo(BeEmpty())
				Expect(serverSTS).To(Equal(log.last()))
				Expect(se.Message).To(ContainSubstring("server string to sign is:" + serverSTS))
				Expect(errorField(se.Snapshot, "OSSAccessKeyId")).To(Equal(keyID))
			})
		}
	})

	context("an unknown access key", func() {
		it("answers 403 InvalidAccessKeyId", func() {
			_, err := e.ossClient(withKeys("LTAI5tNobody", "x")).GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("dir/obj ü.txt")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(se.Code).To(Equal("InvalidAccessKeyId"))
			Expect(errorField(se.Snapshot, "OSSAccessKeyId")).To(Equal("LTAI5tNobody"))
		})
	})

	context("a request time far from the server's", func() {
		it("answers RequestTimeTooSkewed, and the SDK corrects its clock from the Date header and retries", func() {
			e.clock.Advance(30 * time.Minute)
			_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("dir/obj ü.txt")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(se.Code).To(Equal("RequestTimeTooSkewed"))

			for _, opt := range []clientOpt{func(*oss.Config) {}, v1Signing} {
				Expect(e.mustGet(e.ossClient(opt, withRetries(3)), "auth", "dir/obj ü.txt")).To(Equal("content"))
			}
		})
	})

	context("presigned URLs", func() {
		for _, signing := range []struct {
			name string
			opt  clientOpt
		}{{"V4", func(*oss.Config) {}}, {"V1", v1Signing}} {
			it("work with plain net/http until they expire ("+signing.name+")", func() {
				pc := e.ossClient(signing.opt)
				get, err := pc.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("dir/obj ü.txt")}, oss.PresignExpires(10*time.Second))
				Expect(err).NotTo(HaveOccurred())
				Expect(get.Method).To(Equal("GET"))
				status, _, body, err := rawGet(get.URL)
				Expect(err).NotTo(HaveOccurred())
				Expect(status).To(Equal(200), body)
				Expect(body).To(Equal("content"))

				put, err := pc.Presign(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("uploaded by url")}, oss.PresignExpires(10*time.Second))
				Expect(err).NotTo(HaveOccurred())
				headers := map[string]string{}
				for k, v := range put.SignedHeaders {
					headers[k] = v
				}
				resp, err := rawDo(http.MethodPut, put.URL, "via url", headers)
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.status).To(Equal(200), resp.body)
				Expect(e.mustGet(c, "auth", "uploaded by url")).To(Equal("via url"))

				e.clock.Advance(11 * time.Second)
				status, _, body, err = rawGet(get.URL)
				Expect(err).NotTo(HaveOccurred())
				Expect(status).To(Equal(403))
				Expect(body).To(ContainSubstring("<Code>AccessDenied</Code>"))
				Expect(body).To(ContainSubstring("Request has expired."))
			})
		}

		it("refuses a tampered presigned URL", func() {
			get, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("dir/obj ü.txt")})
			Expect(err).NotTo(HaveOccurred())
			status, _, body, err := rawGet(strings.Replace(get.URL, "/auth/dir/", "/auth/Dir/", 1))
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(403))
			Expect(body).To(ContainSubstring("<Code>SignatureDoesNotMatch</Code>"))
		})
	})

	context("STS credentials", func() {
		var creds sts.Credentials

		it.Before(func() {
			client, err := sts.NewClientWithAccessKey(homeRegion, keyID, keySecret)
			Expect(err).NotTo(HaveOccurred())
			client.Domain = e.host
			req := sts.CreateAssumeRoleRequest()
			req.Scheme = "http"
			req.RoleArn = "acs:ram::1234567890123456:role/ci-writer"
			req.RoleSessionName = "oss-test"
			req.DurationSeconds = requests.NewInteger(3)
			resp, err := client.AssumeRole(req)
			Expect(err).NotTo(HaveOccurred())
			creds = resp.Credentials
		})

		it("sign OSS requests with their token until they expire", func() {
			for _, opt := range []clientOpt{func(*oss.Config) {}, v1Signing} {
				sc := e.ossClient(opt, withKeys(creds.AccessKeyId, creds.AccessKeySecret, creds.SecurityToken))
				e.mustPut(sc, "auth", "by-sts", "temporary")
				Expect(e.mustGet(sc, "auth", "by-sts")).To(Equal("temporary"))
				url, err := sc.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("by-sts")})
				Expect(err).NotTo(HaveOccurred())
				status, _, body, err := rawGet(url.URL)
				Expect(err).NotTo(HaveOccurred())
				Expect(status).To(Equal(200), body)
			}

			_, err := e.ossClient(withKeys(creds.AccessKeyId, creds.AccessKeySecret, "forged-token")).
				GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("by-sts")})
			Expect(serviceError(err).Code).To(Equal("InvalidSecurityToken"))
			_, err = e.ossClient(withKeys(creds.AccessKeyId, creds.AccessKeySecret)).
				GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("by-sts")})
			Expect(serviceError(err).Code).To(Equal("InvalidAccessKeyId"))

			e.clock.Advance(4 * time.Second)
			_, err = e.ossClient(withKeys(creds.AccessKeyId, creds.AccessKeySecret, creds.SecurityToken)).
				GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("auth"), Key: oss.Ptr("by-sts")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(se.Code).To(Equal("SecurityTokenExpired"))
			Expect(se.EC).To(Equal("0002-00000007"))
		})
	})
}
