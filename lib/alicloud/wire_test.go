package alicloud_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

// The wire tests run the pack's client through the official SDKs against the emulator.

const (
	testKeyID     = testtools.KeyID
	testKeySecret = testtools.KeySecret
	testRegion    = testtools.Region
	testBucket    = testtools.Bucket
)

// cloud is the shared test emulator, and what a test needs to make sessions against it.
type cloud struct {
	t      testing.TB
	sim    *sim.Server
	url    string
	log    *testtools.Log
	bucket string
}

func newCloud(t testing.TB, tweaks ...func(*sim.Config)) *cloud {
	t.Helper()
	// Short-lived STS credentials let tests see real expiry.
	shortSTS := func(cfg *sim.Config) { cfg.STSMinDuration = time.Second }
	tc := testtools.NewCloud(t, append([]func(*sim.Config){shortSTS}, tweaks...)...)
	tc.Sim.Reset() // start every test with an empty journal
	return &cloud{t: t, sim: tc.Sim, url: tc.URL, log: &testtools.Log{}, bucket: tc.Bucket}
}

// source is a working Cloud block pointing at the emulator.
func (c *cloud) source() alicloud.Cloud {
	return alicloud.Cloud{
		AccessKeyID: testKeyID, AccessKeySecret: testKeySecret, Region: testRegion, Bucket: c.bucket,
		OSSEndpoint: c.url, ECSEndpoint: c.url, STSEndpoint: c.url,
	}
}

func (c *cloud) session(source alicloud.Cloud, tweaks ...func(*alicloud.Options)) *alicloud.Session {
	c.t.Helper()
	opts := alicloud.Options{
		Log: c.log, Secrets: c.log, MetadataURL: c.url,
		Retry:       alicloud.RetryPolicy{Attempts: 5, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		CallTimeout: 10 * time.Second,
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	s, err := alicloud.NewSession(source, opts)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func (c *cloud) store(source alicloud.Cloud) *alicloud.Store {
	c.t.Helper()
	st, err := c.session(source).Store()
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}

// calls counts journal entries of a service and action ("" for any).
func (c *cloud) calls(service, action string) int {
	n := 0
	for _, e := range c.sim.Journal() {
		if (service == "" || e.Service == service) && (action == "" || e.Action == action) {
			n++
		}
	}
	return n
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = rng.Read(b) // ChaCha8.Read always fills b and returns nil
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func httpGet(url string) (int, []byte, error) {
	response, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = response.Body.Close() }() // read-only: its close has nothing to report
	var body bytes.Buffer
	_, err = body.ReadFrom(response.Body)
	return response.StatusCode, body.Bytes(), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
