package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscredentials "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
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
	endpoint, stop := startSim(b, cli, filepath.Join(dir, "sim"))
	defer stop()

	source := filepath.Join(dir, "source.bin")
	writeRandomFile(b, source, size)
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
		up := measure(b, env, cli, append(append([]string{"blob", "put"}, blob...), "pack.bin", source)...)
		upCurl := measure(b, env, "bash", "-c", fmt.Sprintf(`tee >(sha256sum >&2) < %q | curl -sf -T - %q`, source, presign("PUT", "curl.bin")))
		down := measure(b, env, "bash", "-c", fmt.Sprintf(`%q blob get %s pack.bin - > /dev/null`, cli, strings.Join(blob, " ")))
		downCurl := measure(b, env, "bash", "-c", fmt.Sprintf(`curl -sf %q | sha256sum`, presign("GET", "pack.bin")))
		mbps := func(d time.Duration) float64 { return size / d.Seconds() / (1 << 20) }
		b.ReportMetric(mbps(up.wall), "upload-MiB/s")
		b.ReportMetric(mbps(upCurl.wall), "curl-upload-MiB/s")
		b.ReportMetric(upCurl.wall.Seconds()/up.wall.Seconds(), "upload-ratio")
		b.ReportMetric(mbps(down.wall), "download-MiB/s")
		b.ReportMetric(mbps(downCurl.wall), "curl-download-MiB/s")
		b.ReportMetric(downCurl.wall.Seconds()/down.wall.Seconds(), "download-ratio")
		b.ReportMetric(float64(max(up.rssKiB, down.rssKiB))/1024, "client-peak-RSS-MiB")
	}
}

type measured struct {
	wall   time.Duration
	rssKiB int64
}

// measure runs a command to completion and returns its wall time and the peak RSS of its
// largest process.
func measure(b *testing.B, env []string, name string, args ...string) measured {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	r := measured{wall: time.Since(start)}
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = usage.Maxrss
	}
	return r
}

func startSim(b *testing.B, cli, dataDir string) (string, func()) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(cli, "sim", "--listen", "127.0.0.1:0", "--access-key-id", "bench-id", "--access-key-secret", "bench-secret", "--data-dir", dataDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		b.Fatalf("the emulator did not say where it listens: %v", err)
	}
	const prefix = "sim listening on "
	if !strings.HasPrefix(line, prefix) {
		stop()
		b.Fatalf("unexpected first line from the emulator: %q", line)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(strings.TrimPrefix(line, prefix)), stop
}

// writeRandomFile writes incompressible bytes, so no layer can cheat on them.
func writeRandomFile(b *testing.B, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	for written := int64(0); written < size; written += int64(len(buf)) {
		_, _ = rng.Read(buf)
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
