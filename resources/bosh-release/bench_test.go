package main_test

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscredentials "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release/records"
)

// BenchmarkCheck5000Versions checks a release with 5,000 published versions: how many list
// calls it costs (pages of 1,000 names; no record is read) and how long the process takes.
func BenchmarkCheck5000Versions(b *testing.B) {
	binary := buildResource(b)
	cloud := testtools.NewCloud(b)
	names := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				cloud.PutObject(b, name, []byte("{}"))
			}
		}()
	}
	for major := 1; major <= 50; major++ {
		for minor := 0; minor < 100; minor++ {
			names <- fmt.Sprintf("cpi/records/%d.%d.0.json", major, minor)
		}
	}
	close(names)
	wg.Wait()
	request, _ := json.Marshal(map[string]any{"source": withKey(cloud.Source(), "name", "cpi")}) // maps of strings, numbers and lists always encode
	b.ResetTimer()
	for b.Loop() {
		before := listCalls(cloud)
		start := time.Now()
		cmd := exec.Command(binary, "check")
		cmd.Stdin = strings.NewReader(string(request))
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), `"50.99.0"`) {
			b.Fatalf("check: %v %s", err, out)
		}
		b.ReportMetric(time.Since(start).Seconds(), "check-s")
		b.ReportMetric(float64(listCalls(cloud)-before), "list-calls")
	}
}

func listCalls(cloud *testtools.Cloud) int {
	n := 0
	for _, e := range cloud.Sim.Journal() {
		if strings.HasPrefix(e.Action, "ListObjects") {
			n++
		}
	}
	return n
}

func buildResource(b *testing.B) string {
	out := filepath.Join(b.TempDir(), "bosh-release-resource")
	if output, err := exec.Command("go", "build", "-trimpath", "-o", out, ".").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, output)
	}
	return out
}

// BenchmarkIn2GiB gets a 2 GiB release tarball with the resource and with `curl | sha256sum`
// from the emulator running as its own process, in the same run: throughput, ratio (curl's time ÷
// the resource's) and the resource's peak RSS.
func BenchmarkIn2GiB(b *testing.B) {
	const size = 2 << 30
	for _, tool := range []string{"curl", "sha256sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("the benchmark compares against %s, which is not installed", tool)
		}
	}
	dir := b.TempDir()
	binary := buildResource(b)
	cli := filepath.Join(dir, "cpi-ci")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", cli, "../../cmd/cpi-ci").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	seed := filepath.Join(dir, "seed.yml")
	if err := os.WriteFile(seed, []byte("buckets:\n  - name: cpi-pipeline\n    region: cn-hangzhou\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sim"), 0o755); err != nil {
		b.Fatal(err)
	}
	url, stop := testtools.SimProcess(b, cli, "--access-key-id", "bench-id", "--access-key-secret", "bench-secret",
		"--data-dir", filepath.Join(dir, "sim"), "--seed", seed)
	defer stop()

	tarball := filepath.Join(dir, "cpi-61.0.0.tgz")
	testtools.WriteRandomFile(b, tarball, size)
	sum1, sum256 := digests(b, tarball)
	client := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(url).WithUsePathStyle(true).
		WithCredentialsProvider(osscredentials.NewStaticCredentialsProvider("bench-id", "bench-secret")))
	ctx := context.Background()
	key := "cpi/tarballs/61.0.0/" + sum256 + ".tgz"
	uploader := oss.NewUploader(client)
	if _, err := uploader.UploadFile(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("cpi-pipeline"), Key: oss.Ptr(key)}, tarball); err != nil {
		b.Fatal(err)
	}
	record, _ := json.Marshal(records.Record{Name: "cpi", Version: "61.0.0", SHA1: sum1, SHA256: sum256, Size: size, // maps of strings, numbers and lists always encode
		FileName: "cpi-61.0.0.tgz", Tarball: key, ReleaseMF: "name: cpi\nversion: 61.0.0\n"})
	if _, err := client.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("cpi-pipeline"), Key: oss.Ptr("cpi/records/61.0.0.json"),
		Body: strings.NewReader(string(record))}); err != nil {
		b.Fatal(err)
	}
	presigned, err := client.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("cpi-pipeline"), Key: oss.Ptr(key)}, oss.PresignExpires(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	source := map[string]any{"access_key_id": "bench-id", "access_key_secret": "bench-secret", "region": "cn-hangzhou",
		"bucket": "cpi-pipeline", "oss_endpoint": url, "name": "cpi"}
	requestFile := filepath.Join(dir, "request.json")
	request, _ := json.Marshal(map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}) // maps of strings, numbers and lists always encode
	if err := os.WriteFile(requestFile, request, 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "NO_COLOR=1")
	b.ResetTimer()
	for b.Loop() {
		dest := filepath.Join(dir, "get")
		_ = os.RemoveAll(dest) // absent on the first loop; in fails below if it is still there
		in := testtools.Measure(b, env, "bash", "-c", fmt.Sprintf("%q in %q < %q > /dev/null", binary, dest, requestFile))
		curl := testtools.Measure(b, env, "bash", "-c", fmt.Sprintf("curl -sf %q | sha256sum", presigned.URL))
		mibps := func(d time.Duration) float64 { return size / d.Seconds() / (1 << 20) }
		b.ReportMetric(mibps(in.Wall), "in-MiB/s")
		b.ReportMetric(mibps(curl.Wall), "curl-MiB/s")
		b.ReportMetric(curl.Wall.Seconds()/in.Wall.Seconds(), "ratio")
		b.ReportMetric(float64(in.RSSKiB)/1024, "in-peak-RSS-MiB")
	}
}

func digests(b *testing.B, path string) (string, string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	h1, h256 := sha1.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(h1, h256), f); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h1.Sum(nil)), hex.EncodeToString(h256.Sum(nil))
}
