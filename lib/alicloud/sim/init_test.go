package sim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestSim(t *testing.T) {
	suite := spec.New("sim", spec.Report(report.Terminal{}))
	suite("Server", testServer)
	suite("OSS buckets", testBuckets)
	suite("OSS objects", testObjects)
	suite("OSS listing", testListing)
	suite("OSS multipart", testMultipart)
	suite("OSS auth", testOSSAuth)
	suite("OSS through the v1 SDK", testOSSv1SDK)
	suite("RPC and STS", testRPC)
	suite("ECS regions and images", testECSImages)
	suite("ECS image copies", testECSCopies)
	suite("ECS instances and stock", testECSInstances)
	suite("ECS disks", testECSDisks)
	suite("ECS fidelity to real clients", testECSFidelity)
	suite("TLS and regional endpoints", testTLSAndRegions)
	suite("Field coverage against the SDK's typed responses", testCoverage)
	suite("terraform's oss backend", testTerraform)
	suite("Instance metadata", testMetadata)
	suite("Faults and QPS limits", testFaults)
	suite("Journal and admin API", testAdmin)
	suite("cpi-ci sim", testCommand)
	suite.Run(t)
}

const (
	keyID        = "LTAI5tEmulatorKey01"
	keySecret    = "emulator-secret-0001"
	otherKeyID   = "LTAI5tEmulatorKey02"
	otherSecret  = "emulator-secret-0002"
	homeRegion   = "cn-hangzhou"
	remoteRegion = "eu-central-1"
)

// testClock is real time plus an offset the test moves forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// env is one emulator behind an httptest server on 127.0.0.1.
type env struct {
	t     *testing.T
	srv   *sim.Server
	url   string // http://127.0.0.1:PORT
	host  string // 127.0.0.1:PORT
	clock *testClock
}

func newEnv(t *testing.T, tweaks ...func(*sim.Config)) *env {
	t.Helper()
	clock := &testClock{}
	cfg := sim.Config{
		Credentials:    []sim.Credential{{AccessKeyID: keyID, AccessKeySecret: keySecret}, {AccessKeyID: otherKeyID, AccessKeySecret: otherSecret}},
		Clock:          clock.Now,
		STSMinDuration: 2 * time.Second,
		Seed:           42,
	}
	for _, tw := range tweaks {
		tw(&cfg)
	}
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil { // first: it ends pending hangs
			t.Errorf("closing the emulator: %v", err)
		}
		ts.Close()
	})
	return &env{t: t, srv: srv, url: ts.URL, host: strings.TrimPrefix(ts.URL, "http://"), clock: clock}
}

type clientOpt func(*oss.Config)

func v1Signing(c *oss.Config) { c.WithSignatureVersion(oss.SignatureVersionV1) }

func withRegion(r string) clientOpt { return func(c *oss.Config) { c.WithRegion(r) } }

func withKeys(id, secret string, token ...string) clientOpt {
	return func(c *oss.Config) {
		c.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, token...))
	}
}

func withRetries(n int) clientOpt { return func(c *oss.Config) { c.WithRetryMaxAttempts(n) } }

// ossClient is the official OSS SDK pointed at the emulator: V4 signing, path style, no retries.
func (e *env) ossClient(opts ...clientOpt) *oss.Client {
	cfg := oss.LoadDefaultConfig().
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, keySecret)).
		WithRegion(homeRegion).
		WithEndpoint(e.url).
		WithUsePathStyle(true).
		WithRetryMaxAttempts(1)
	for _, o := range opts {
		o(cfg)
	}
	return oss.NewClient(cfg)
}

func (e *env) mustBucket(c *oss.Client, name string) {
	e.t.Helper()
	if _, err := c.PutBucket(context.Background(), &oss.PutBucketRequest{Bucket: oss.Ptr(name)}); err != nil {
		e.t.Fatalf("PutBucket %s: %v", name, err)
	}
}

func (e *env) mustPut(c *oss.Client, bucket, key, body string) *oss.PutObjectResult {
	e.t.Helper()
	res, err := c.PutObject(context.Background(), &oss.PutObjectRequest{
		Bucket: oss.Ptr(bucket), Key: oss.Ptr(key), Body: strings.NewReader(body),
	})
	if err != nil {
		e.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return res
}

func (e *env) mustGet(c *oss.Client, bucket, key string) string {
	e.t.Helper()
	res, err := c.GetObject(context.Background(), &oss.GetObjectRequest{Bucket: oss.Ptr(bucket), Key: oss.Ptr(key)})
	if err != nil {
		e.t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer func() { _ = res.Body.Close() }() // read-only: its close has nothing to report
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	return string(b)
}

// serviceError unwraps an OSS SDK error.
func serviceError(err error) *oss.ServiceError {
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// rawGet fetches a URL with plain net/http.
func rawGet(url string) (int, http.Header, string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, "", err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: its close has nothing to report
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

// randomBody returns n bytes that do not repeat with a short period.
func randomBody(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func contextBackground() context.Context { return context.Background() }

type rawResponse struct {
	status int
	header http.Header
	body   string
}

// rawDo sends an unsigned request with plain net/http.
func rawDo(method, url, body string, header map[string]string) (*rawResponse, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read-only: its close has nothing to report
	b, err := io.ReadAll(resp.Body)
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}
