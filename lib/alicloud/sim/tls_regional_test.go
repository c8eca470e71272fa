package sim_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// serveOn serves h on a fresh loopback port, HTTPS and HTTP both when certs is set.
func serveOn(t *testing.T, h http.Handler, certs *sim.Certificates) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if certs != nil {
		ln = sim.SniffTLS(ln, certs.Config)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }() // ends with ErrServerClosed at cleanup
	t.Cleanup(func() { _ = hs.Close() })
	return addr
}

// trusting is an HTTP transport that trusts only the given CA.
func trusting(caPEM []byte) *http.Transport {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
}

func testTLSAndRegions(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
	)

	it.Before(func() {
		e = newEnv(t)
	})

	context("the TLS listener", func() {
		it("serves the ECS, STS and OSS SDKs over HTTPS with a CA it made, and plain HTTP on the same port", func() {
			certs, err := sim.NewCertificates([]string{"127.0.0.1", "10.80.0.1", "sim.local"})
			Expect(err).NotTo(HaveOccurred())
			addr := serveOn(t, e.srv, certs)

			ec, err := ecs.NewClientWithAccessKey(homeRegion, keyID, keySecret)
			Expect(err).NotTo(HaveOccurred())
			ec.Domain = addr
			ec.SetTransport(trusting(certs.CAPEM))
			req := ecs.CreateDescribeRegionsRequest()
			req.Scheme = "https"
			regions, err := ec.DescribeRegions(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(regions.Regions.Region).NotTo(BeEmpty())

			plain := ecs.CreateDescribeRegionsRequest()
			_, err = ec.DescribeRegions(plain)
			Expect(err).NotTo(HaveOccurred(), "plain HTTP on the TLS port")

			sc, err := sts.NewClientWithAccessKey(homeRegion, keyID, keySecret)
			Expect(err).NotTo(HaveOccurred())
			sc.Domain = addr
			sc.SetTransport(trusting(certs.CAPEM))
			ar := sts.CreateAssumeRoleRequest()
			ar.Scheme, ar.RoleArn, ar.RoleSessionName = "https", "acs:ram::1234567890123456:role/ci", "tls-test"
			assumed, err := sc.AssumeRole(ar)
			Expect(err).NotTo(HaveOccurred())
			Expect(assumed.Credentials.AccessKeyId).To(HavePrefix("STS."))

			oc := e.ossClient(func(c *oss.Config) {
				c.WithEndpoint("https://" + addr).WithHttpClient(&http.Client{Transport: trusting(certs.CAPEM)})
			})
			e.mustBucket(oc, "over-tls")
			e.mustPut(oc, "over-tls", "k", "v")
			Expect(e.mustGet(oc, "over-tls", "k")).To(Equal("v"))

			// A client that does not trust the CA is refused the handshake.
			_, err = (&http.Client{Timeout: 5 * time.Second}).Get("https://" + addr + "/")
			Expect(err).To(MatchError(ContainSubstring("certificate")))
		})

		it("certifies every name and address asked for", func() {
			certs, err := sim.NewCertificates([]string{"127.0.0.1", "10.80.0.1", "sim.local"})
			Expect(err).NotTo(HaveOccurred())
			block := certs.Config.Certificates[0].Certificate[0]
			leaf, err := x509.ParseCertificate(block)
			Expect(err).NotTo(HaveOccurred())
			Expect(leaf.VerifyHostname("10.80.0.1")).To(Succeed())
			Expect(leaf.VerifyHostname("127.0.0.1")).To(Succeed())
			Expect(leaf.VerifyHostname("sim.local")).To(Succeed())
			Expect(leaf.VerifyHostname("10.80.0.2")).NotTo(Succeed())
			_, err = sim.NewCertificates(nil)
			Expect(err).To(HaveOccurred())
		})
	})

	context("regional endpoints", func() {
		it("puts a V1-signed PutBucket in the endpoint's region, so ImportImage there finds it", func() {
			h, err := e.srv.RegionalHandler("cn-beijing")
			Expect(err).NotTo(HaveOccurred())
			beijing := "http://" + serveOn(t, h, nil)

			oc := e.ossClient(v1Signing, func(c *oss.Config) { c.WithEndpoint(beijing) })
			e.mustBucket(oc, "cpi-import-beijing")
			region, _ := e.srv.BucketRegion("cpi-import-beijing")
			Expect(region).To(Equal("cn-beijing"))
			e.mustPut(oc, "cpi-import-beijing", "root.img", "disk")

			c := e.ecsClient(keyID, keySecret)
			_, err = c.ImportImage(importRequest("cn-beijing", "regional", "cpi-import-beijing", "root.img"))
			Expect(err).NotTo(HaveOccurred())

			// On the main endpoint a V1 PutBucket has no region: the default one, as before.
			main := e.ossClient(v1Signing)
			e.mustBucket(main, "cpi-import-default")
			e.mustPut(main, "cpi-import-default", "root.img", "disk")
			_, err = c.ImportImage(importRequest("cn-beijing", "default", "cpi-import-default", "root.img"))
			Expect(rpcServerError(err)).NotTo(BeNil())
			Expect(rpcServerError(err).ErrorCode()).To(Equal("InvalidOSSBucket.NotFound"))

			// A regional endpoint refuses a bucket of another region.
			_, err = oc.GetObject(contextBackground(), &oss.GetObjectRequest{Bucket: oss.Ptr("cpi-import-default"), Key: oss.Ptr("root.img")})
			Expect(serviceError(err)).NotTo(BeNil())
			Expect(serviceError(err).Code).To(Equal("AccessDenied"))
		})

		it("refuses a region it does not know", func() {
			_, err := e.srv.RegionalHandler("mars-north-1")
			Expect(err).To(MatchError(ContainSubstring("mars-north-1")))
		})
	})

	context("cpi-ci sim --tls --regional-ports", func() {
		var bin, dir string

		it.Before(func() {
			dir = t.TempDir()
			bin = filepath.Join(dir, "cpi-ci")
			out, err := exec.Command("go", "build", "-o", bin, "github.com/bosh-alicloud/concourse-pack/cmd/cpi-ci").CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		})

		it("writes the CA and the region → URL map, and serves HTTPS on every port", func() {
			caFile, endpointsFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "endpoints.json")
			errFile, err := os.Create(filepath.Join(dir, "stderr"))
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = errFile.Close() }() // the child wrote to it; nothing left to flush
			stderr := func() string { b, _ := os.ReadFile(errFile.Name()); return string(b) }
			cmd := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--access-key-id", keyID, "--access-key-secret", keySecret,
				"--tls", "--tls-san", "10.80.0.1", "--ca-out", caFile, "--regional-ports", "--endpoints-out", endpointsFile,
				// Killed at the end: its data dir is the test's, removed with it.
				"--data-dir", filepath.Join(dir, "data"))
			cmd.Stderr = errFile
			stdout, err := cmd.StdoutPipe()
			Expect(err).NotTo(HaveOccurred())
			Expect(cmd.Start()).To(Succeed())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			Expect(err).NotTo(HaveOccurred(), stderr)
			go func() { _, _ = io.Copy(io.Discard, stdout) }() // keeps the sim from blocking on stdout
			addr := strings.TrimPrefix(strings.TrimSpace(line), "sim listening on http://")

			caPEM, err := os.ReadFile(caFile)
			Expect(err).NotTo(HaveOccurred())
			client := &http.Client{Transport: trusting(caPEM), Timeout: 10 * time.Second}
			resp, err := client.Get("https://" + addr + "/_sim/accounts")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Body.Close()).To(Succeed())
			Expect(resp.StatusCode).To(Equal(http.StatusOK))
			leaf := resp.TLS.PeerCertificates[0]
			Expect(leaf.VerifyHostname("10.80.0.1")).To(Succeed())

			raw, err := os.ReadFile(endpointsFile)
			Expect(err).NotTo(HaveOccurred())
			var endpoints map[string]string
			Expect(json.Unmarshal(raw, &endpoints)).To(Succeed())
			Expect(endpoints).To(HaveLen(len(sim.DefaultRegions())))
			Expect(endpoints["cn-beijing"]).To(MatchRegexp(`^https://127\.0\.0\.1:\d+$`))

			// The regional port is that region's endpoint, over HTTPS.
			oc := e.ossClient(v1Signing, withKeys(keyID, keySecret), func(c *oss.Config) {
				c.WithEndpoint(endpoints["cn-beijing"]).WithHttpClient(client)
			})
			_, err = oc.PutBucket(contextBackground(), &oss.PutBucketRequest{Bucket: oss.Ptr("regional-bucket")})
			Expect(err).NotTo(HaveOccurred())
			loc, err := oc.GetBucketLocation(contextBackground(), &oss.GetBucketLocationRequest{Bucket: oss.Ptr("regional-bucket")})
			Expect(err).NotTo(HaveOccurred())
			Expect(*loc.LocationConstraint).To(Equal("oss-cn-beijing"))
		})

		it("refuses TLS without a CA file and regional ports without an endpoints file", func() {
			out, err := exec.Command(bin, "sim", "--access-key-id", keyID, "--access-key-secret", keySecret, "--tls", "--regional-ports").CombinedOutput()
			Expect(err).To(HaveOccurred())
			Expect(string(out)).To(ContainSubstring("--tls needs --ca-out"))
			Expect(string(out)).To(ContainSubstring("--regional-ports and --endpoints-out go together"))
		})
	})
}
