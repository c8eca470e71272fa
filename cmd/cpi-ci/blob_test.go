package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testBlobThroughProxy runs `cpi-ci blob` as a worker would, with HTTP_PROXY set: the requests
// for a virtual-hosted OSS endpoint must go through the proxy. (The endpoint's name resolves
// nowhere, so nothing but the proxy on 127.0.0.1 is ever contacted.)
func testBlobThroughProxy(t *testing.T, _ spec.G, it spec.S, cli string) {
	var Expect = NewWithT(t).Expect
	var (
		cloud *testtools.Cloud
		proxy *httptest.Server
		mu    sync.Mutex
		seen  []string
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		simHost := strings.TrimPrefix(cloud.URL, "http://")
		direct := &http.Transport{Proxy: nil}
		// A forward proxy that turns bucket.oss.test requests into the emulator's path style
		// (the signature covers /bucket/key either way).
		proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Host)
			mu.Unlock()
			bucket, _, _ := strings.Cut(r.Host, ".")
			target := "http://" + simHost + "/" + bucket + r.URL.Path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			out, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			out.Header = r.Header.Clone()
			out.ContentLength = r.ContentLength
			response, err := direct.RoundTrip(out)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer func() { _ = response.Body.Close() }() // read-only: its close has nothing to report
			for k, v := range response.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(response.StatusCode)
			_, _ = io.Copy(w, response.Body) // the status is sent: a short body is what the client sees of a failure
		}))
		t.Cleanup(proxy.Close)
		seen = nil
	})

	put := func() (string, error) {
		file := filepath.Join(t.TempDir(), "artifact.tgz")
		Expect(os.WriteFile(file, []byte("artifact"), 0o644)).To(Succeed())
		port := cloud.URL[strings.LastIndex(cloud.URL, ":")+1:]
		cmd := exec.Command(cli, "blob", "put", "--region", cloud.Region, "--bucket", cloud.Bucket,
			"--oss-endpoint", "http://oss.test:"+port, "artifact.tgz", file)
		cmd.Env = append(os.Environ(), "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=",
			"ALIBABA_CLOUD_ACCESS_KEY_ID="+cloud.KeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+cloud.Secret, "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	it("sends every request through HTTP_PROXY", func() {
		out, err := put()
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(cloud.Keys(t, "")).To(Equal([]string{"artifact.tgz"}))
		Expect(seen).NotTo(BeEmpty())
		for _, host := range seen {
			Expect(host).To(HavePrefix("cpi-pipeline.oss.test:"))
		}
	})
}
