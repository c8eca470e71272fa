package alicloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestUnits(t *testing.T) {
	suite := spec.New("alicloud units", spec.Report(report.Terminal{}))
	suite("Cloud.Validate", testCloudValidate)
	suite("retry policy", testRetryPolicy)
	suite("classify", testClassify)
	suite("credential cache", testCredentialCache)
	suite("progress", testProgress)
	suite("waiting pace", testWaitPace)
	suite.Run(t)
}

func testCloudValidate(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	valid := Cloud{AccessKeyID: "id", AccessKeySecret: "secret", Region: "cn-hangzhou", Bucket: "cpi-pipeline"}

	it("accepts keys, or a RAM role, with endpoints that may name the region", func() {
		Expect(valid.Validate()).To(Succeed())
		c := Cloud{RAMRole: "ConcourseWorker", Region: "ap-southeast-1", Bucket: "b-1x", AssumeRoleARN: "acs:ram::123:role/ci",
			OSSEndpoint: "https://oss-{region}-internal.aliyuncs.com", ECSEndpoint: "http://127.0.0.1:18090", STSEndpoint: "http://localhost:1"}
		Expect(c.Validate()).To(Succeed())
	})

	it("lists every problem at once", func() {
		c := Cloud{AccessKeyID: "id", Region: "Hangzhou", Bucket: "-Bad_Bucket", Prefix: "/x", AssumeRoleARN: "role/ci",
			OSSEndpoint: "127.0.0.1:18090", SecurityToken: ""}
		err := c.Validate()
		Expect(err).To(HaveOccurred())
		for _, want := range []string{
			"access_key_secret: missing: access_key_id is set without it",
			`region: expected a region id such as cn-hangzhou, got "Hangzhou"`,
			`bucket: expected an OSS bucket name`,
			`prefix: expected names of letters, digits, '-', '_' and '.' separated by '/'`,
			`assume_role_arn: expected a RAM role ARN`,
			`oss_endpoint: expected an http(s) URL`,
		} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})

	it("accepts a prefix of plain names and refuses one that climbs out or is not clean", func() {
		for _, prefix := range []string{"releases/", "ci/light-stemcells/", "a", "v1.2_x-y/"} {
			c := valid
			c.Prefix = prefix
			Expect(c.Validate()).To(Succeed(), prefix)
		}
		for _, prefix := range []string{"../", "a/../b/", "./", "/x/", "a//b/", ".hidden/", `a\b/`, "/"} {
			c := valid
			c.Prefix = prefix
			Expect(c.Validate()).To(MatchError(ContainSubstring("prefix: expected names of letters")), prefix)
		}
	})

	it("takes a missing object for not found, and a missing bucket not", func() {
		Expect(IsNotFound(&Error{Service: "oss", Status: 404, Code: "NoSuchKey"})).To(BeTrue())
		Expect(IsNotFound(&Error{Service: "oss", Status: 404})).To(BeTrue(), "a HEAD answer has no code")
		Expect(IsNotFound(&Error{Service: "oss", Status: 404, Code: "NoSuchBucket"})).To(BeFalse())
	})

	it("quotes a short prefix of a huge value", func() {
		c := valid
		c.Region = strings.Repeat("r", 1<<20)
		Expect(c.Validate()).To(MatchError(`region: expected a region id such as cn-hangzhou, got "` + strings.Repeat("r", 64) + `"… (1048576 bytes)`))
	})

	it("refuses both keys and a RAM role, and neither", func() {
		c := valid
		c.RAMRole = "r"
		Expect(c.Validate()).To(MatchError(ContainSubstring("use either ram_role or access_key_id/access_key_secret")))
		c = Cloud{Region: "cn-hangzhou", Bucket: "bkt"}
		Expect(c.Validate()).To(MatchError(ContainSubstring("give access_key_id and access_key_secret, or ram_role")))
	})
}

func testRetryPolicy(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("grows exponentially with jitter between half and the whole step, capped", func() {
		p := RetryPolicy{}.withDefaults()
		for attempt, step := range map[int]time.Duration{2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: 1600 * time.Millisecond, 20: 15 * time.Second} {
			seen := map[time.Duration]bool{}
			for i := 0; i < 200; i++ {
				d := p.Delay(attempt)
				Expect(d).To(BeNumerically(">=", step/2), "attempt %d", attempt)
				Expect(d).To(BeNumerically("<=", step), "attempt %d", attempt)
				seen[d] = true
			}
			Expect(len(seen)).To(BeNumerically(">", 50), "jitter spreads retries")
		}
	})

	it("stops after the attempts and returns the last error with its code and request id", func() {
		s, err := NewSession(Cloud{AccessKeyID: "a", AccessKeySecret: "b", Region: "cn-hangzhou", Bucket: "bkt"},
			Options{Retry: RetryPolicy{Attempts: 3, BaseDelay: time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		tries := 0
		err = s.call(context.Background(), "ecs", "DescribeImages", func(context.Context) error {
			tries++
			return &Error{Status: 503, Code: "ServiceUnavailable", RequestID: fmt.Sprintf("req-%d", tries)}
		})
		Expect(tries).To(Equal(3))
		Expect(err).To(MatchError(ContainSubstring("ServiceUnavailable")))
		Expect(err).To(MatchError(ContainSubstring("req-3")))
		Expect(err).To(MatchError(ContainSubstring("after 3 attempts")))
	})

	it("does not retry what cannot get better", func() {
		s, err := NewSession(Cloud{AccessKeyID: "a", AccessKeySecret: "b", Region: "cn-hangzhou", Bucket: "bkt"}, Options{})
		Expect(err).NotTo(HaveOccurred())
		tries := 0
		err = s.call(context.Background(), "ecs", "DescribeImages", func(context.Context) error {
			tries++
			return &Error{Status: 400, Code: "InvalidParameter"}
		})
		Expect(tries).To(Equal(1))
		Expect(HasCode(err, "InvalidParameter")).To(BeTrue())
	})

	it("bounds a small call against an endpoint that never answers to 90 s with the defaults", func() {
		// A check against a hung endpoint: every try runs out of CallTimeout.
		Expect(Options{}.worstCase()).To(BeNumerically("<=", 90*time.Second))
		Expect(Options{}.worstCase()).To(BeNumerically(">", 6*12*time.Second), "the pauses count too")
	})

	it("gives a small call's tries CallTimeout and a transfer's tries no fixed limit", func() {
		s, err := NewSession(Cloud{AccessKeyID: "a", AccessKeySecret: "b", Region: "cn-hangzhou", Bucket: "bkt"},
			Options{CallTimeout: 50 * time.Millisecond, Retry: RetryPolicy{Attempts: 1}})
		Expect(err).NotTo(HaveOccurred())
		slow := func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(300 * time.Millisecond):
				return nil
			}
		}
		Expect(HasCode(s.call(context.Background(), "oss", "HeadObject", slow), "Timeout")).To(BeTrue())
		Expect(s.transfer(context.Background(), "oss", "UploadPart", slow)).To(Succeed())
	})

	it("stops waiting when the context ends", func() {
		s, err := NewSession(Cloud{AccessKeyID: "a", AccessKeySecret: "b", Region: "cn-hangzhou", Bucket: "bkt"},
			Options{Retry: RetryPolicy{Attempts: 100, BaseDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		tries := 0
		err = s.call(ctx, "ecs", "DescribeImages", func(context.Context) error {
			tries++
			return &Error{Status: 400, Code: "Throttling"}
		})
		Expect(err).To(HaveOccurred())
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		Expect(tries).To(BeNumerically("<", 100))
	})
}

func testClassify(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("sorts failures into retryable and not", func() {
		for _, c := range []struct {
			err       error
			code      string
			retryable bool
		}{
			{&oss.ServiceError{StatusCode: 503, Code: "ServiceUnavailable", RequestID: "r1"}, "ServiceUnavailable", true},
			{&oss.ServiceError{StatusCode: 403, Code: "SignatureDoesNotMatch"}, "SignatureDoesNotMatch", false},
			{&oss.ServiceError{StatusCode: 409, Code: "FileAlreadyExists"}, "FileAlreadyExists", false},
			{&oss.ServiceError{StatusCode: 429, Code: "TooManyRequests"}, "TooManyRequests", true},
			{&Error{Status: 400, Code: "Throttling.User"}, "Throttling.User", true},
			{fmt.Errorf("read: %w", syscall.ECONNRESET), "ConnectionReset", true},
			{&net.OpError{Op: "write", Err: net.ErrClosed}, "ConnectionReset", true},
			{fmt.Errorf("write: %w", syscall.EPIPE), "ConnectionReset", true},
			{io.ErrUnexpectedEOF, "ConnectionClosed", true},
			{&net.OpError{Op: "dial", Err: timeoutErr{}}, "Timeout", true},
			{context.Canceled, "Cancelled", false},
			{context.DeadlineExceeded, "Timeout", true},
			{errors.New("bad input"), "ClientError", false},
		} {
			e, retryable := classify("oss", "PutObject", c.err)
			Expect(e.Code).To(Equal(c.code), "%v", c.err)
			Expect(retryable).To(Equal(c.retryable), "%v", c.err)
		}
	})

	it("keeps a failed request's query, with its token and signature, out of the message", func() {
		e, _ := classify("ecs", "DescribeRegions", fmt.Errorf("Post %q: %w", "http://127.0.0.1:1/?AccessKeyId=STS.x&SecurityToken=CAIS%2Bsecret&Signature=abc", context.DeadlineExceeded))
		Expect(e.Message).To(Equal(`Post "http://127.0.0.1:1/?…": context deadline exceeded`))
	})

	it("says which call failed, with the cloud's code, message and request id", func() {
		e, _ := classify("oss", "PutObject", &oss.ServiceError{StatusCode: 403, Code: "InvalidAccessKeyId", Message: "The OSS Access Key Id you provided does not exist in our records.", RequestID: "5C3D9175B6FC201293AD****"})
		Expect(e.Error()).To(Equal("oss PutObject: InvalidAccessKeyId (HTTP 403): The OSS Access Key Id you provided does not exist in our records [request id 5C3D9175B6FC201293AD****]"))
	})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func testCredentialCache(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("fetches once, registers the secrets, and renews before expiry", func() {
		now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		secrets := &testtools.Log{}
		fetches := 0
		cache := newCredentialCache("test", func(context.Context) (Credentials, error) {
			fetches++
			return Credentials{AccessKeyID: "STS.id", AccessKeySecret: fmt.Sprintf("secret-%d", fetches), SecurityToken: fmt.Sprintf("token-%d", fetches), Expires: now.Add(time.Hour)}, nil
		}, Options{Clock: func() time.Time { return now }, Secrets: secrets})

		c, err := cache.Get(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(c.AccessKeySecret).To(Equal("secret-1"))
		Expect(secrets.Secrets()).To(ConsistOf("secret-1", "token-1"))

		now = now.Add(54 * time.Minute)
		c, err = cache.Get(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(c.AccessKeySecret).To(Equal("secret-1"), "still 6 minutes to go: kept")

		now = now.Add(2 * time.Minute)
		c, err = cache.Get(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(c.AccessKeySecret).To(Equal("secret-2"), "under 5 minutes left: renewed")
		Expect(fetches).To(Equal(2))
		Expect(secrets.Secrets()).To(ContainElements("secret-2", "token-2"))
	})

	it("names the source when fetching fails", func() {
		cache := newCredentialCache("the ECS RAM role Worker", func(context.Context) (Credentials, error) {
			return Credentials{}, errors.New("no route")
		}, Options{}.withDefaults())
		_, err := cache.Get(context.Background())
		Expect(err).To(MatchError("getting credentials from the ECS RAM role Worker: no route"))
	})
}

func testProgress(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("logs at most every interval and always the end", func() {
		log := &testtools.Log{}
		progress := LogProgress(log, "uploading x.tgz", time.Hour)
		progress(1, 3<<30)
		progress(2<<30, 3<<30)
		progress(3<<30, 3<<30)
		progress(3<<30, 3<<30)
		Expect(log.Lines()).To(HaveLen(2))
		Expect(log.Lines()[0]).To(HavePrefix("uploading x.tgz: 1 B of 3.0 GiB (0%)"))
		Expect(log.Lines()[1]).To(HavePrefix("uploading x.tgz: 3.0 GiB of 3.0 GiB (100%)"))
	})

	it("renders sizes", func() {
		Expect(Bytes(1023)).To(Equal("1023 B"))
		Expect(Bytes(1536)).To(Equal("1.5 KiB"))
		Expect(Bytes(5 << 40)).To(Equal("5.0 TiB"))
	})
}

func testWaitPace(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// looks counts the looks of a wait over a scripted image: percent as a function of time,
	// Available at done.
	looks := func(percentAt func(time.Duration) int, done time.Duration) int {
		var (
			p   pace
			now time.Duration
			n   int
		)
		o := WaitOptions{}.withDefaults()
		start := time.Unix(0, 0)
		for now < done {
			n++
			now += p.next(start.Add(now), percentAt(now), o)
		}
		return n + 1 // the look that finds it Available
	}

	it("backs off while ECS reports 100% before the image is Available", func() {
		// 40 s to reach 100%, then 60 s at 100% before Available (ECS does this for large images).
		percent := func(at time.Duration) int { return min(100, int(at*100/(40*time.Second))) }
		n := looks(percent, 100*time.Second)
		Expect(n).To(BeNumerically("<=", 20), "a look every 200 ms would be about 300")
	})

	it("still predicts the end of an image that moves steadily", func() {
		percent := func(at time.Duration) int { return min(100, int(at*100/(60*time.Second))) }
		Expect(looks(percent, 60*time.Second)).To(BeNumerically("<=", 6))
	})
}
