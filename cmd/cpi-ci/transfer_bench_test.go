package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscredentials "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

// BenchmarkTransfer1GiB moves 1 GiB through the emulator running as its own process, once with
// `cpi-ci blob` (parallel parts, one-pass SHA-256) and once with curl piped into sha256sum, in the
// same run, and reports each one's throughput, peak RSS and the ratio. Run with -benchtime 1x.
func BenchmarkTransfer1GiB(b *testing.B) {
	const size = 1 << 30
	for _, tool := range []string{"curl", "sha256sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("the benchmark compares against %s, which is not installed", tool)
		}
	}
	dir := b.TempDir()
	cli := filepath.Join(dir, "cpi-ci")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", cli, ".").CombinedOutput(); err != nil {
		b.Fatalf("building cpi-ci: %v\n%s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sim"), 0o755); err != nil {
		b.Fatal(err)
	}
	endpoint, stop := testtools.SimProcess(b, cli, "--access-key-id", "bench-id", "--access-key-secret", "bench-secret", "--data-dir", filepath.Join(dir, "sim"))
	defer stop()

	source := filepath.Join(dir, "source.bin")
	testtools.WriteRandomFile(b, source, size)
	client := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(endpoint).WithUsePathStyle(true).
		WithCredentialsProvider(osscredentials.NewStaticCredentialsProvider("bench-id", "bench-secret")))
	ctx := context.Background()
	if _, err := client.PutBucket(ctx, &oss.PutBucketRequest{Bucket: oss.Ptr("bench")}); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID=bench-id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=bench-secret", "NO_COLOR=1")
	blob := []string{"--region", "cn-hangzhou", "--bucket", "bench", "--oss-endpoint", endpoint}

	presign := func(method, key string) string {
		var request any = &oss.GetObjectRequest{Bucket: oss.Ptr("bench"), Key: oss.Ptr(key)}
		if method == "PUT" {
			request = &oss.PutObjectRequest{Bucket: oss.Ptr("bench"), Key: oss.Ptr(key)}
		}
		result, err := client.Presign(ctx, request, oss.PresignExpires(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		return result.URL
	}

	b.ResetTimer()
	for b.Loop() {
		up := testtools.Measure(b, env, cli, append(append([]string{"blob", "put"}, blob...), "pack.bin", source)...)
		upCurl := testtools.Measure(b, env, "bash", "-c", fmt.Sprintf(`tee >(sha256sum >&2) < %q | curl -sf -T - %q`, source, presign("PUT", "curl.bin")))
		down := testtools.Measure(b, env, "bash", "-c", fmt.Sprintf(`%q blob get %s pack.bin - > /dev/null`, cli, strings.Join(blob, " ")))
		downCurl := testtools.Measure(b, env, "bash", "-c", fmt.Sprintf(`curl -sf %q | sha256sum`, presign("GET", "pack.bin")))
		mbps := func(d time.Duration) float64 { return size / d.Seconds() / (1 << 20) }
		b.ReportMetric(mbps(up.Wall), "upload-MiB/s")
		b.ReportMetric(mbps(upCurl.Wall), "curl-upload-MiB/s")
		b.ReportMetric(upCurl.Wall.Seconds()/up.Wall.Seconds(), "upload-ratio")
		b.ReportMetric(mbps(down.Wall), "download-MiB/s")
		b.ReportMetric(mbps(downCurl.Wall), "curl-download-MiB/s")
		b.ReportMetric(downCurl.Wall.Seconds()/down.Wall.Seconds(), "download-ratio")
		b.ReportMetric(float64(max(up.RSSKiB, down.RSSKiB))/1024, "client-peak-RSS-MiB")
	}
}
