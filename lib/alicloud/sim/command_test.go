package sim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testCommand(t *testing.T, context spec.G, it spec.S) {
	var (
		g          = NewWithT(t)
		Expect     = g.Expect
		Eventually = g.Eventually
		bin        string
		dir        string
	)

	it.Before(func() {
		dir = t.TempDir()
		bin = filepath.Join(dir, "cpi-ci")
		build := exec.Command("go", "build", "-o", bin, "github.com/bosh-alicloud/concourse-pack/cmd/cpi-ci")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	})

	it("serves the SDKs on the address it prints and stops cleanly on SIGTERM", func() {
		dataDir := filepath.Join(dir, "data")
		seed := filepath.Join(dir, "seed.yml")
		Expect(os.WriteFile(seed, []byte(strings.Join([]string{
			"default_region: cn-hangzhou",
			"credentials:",
			"  - access_key_id: LTAI5tSeededKey",
			"    access_key_secret: seeded-secret",
			"buckets:",
			"  - name: seeded-artifacts",
			"    region: eu-central-1",
			"sts_min_duration: 5s",
			"import_duration: 1s",
			"copy_limit_by: destination",
			"copy_durations:",
			"  - {from: eu-central-1, to: cn-hangzhou, duration: 10s}",
			"zones:",
			"  - {region: cn-hangzhou, zone: cn-hangzhou-h, instance_types: [ecs.g6.large], sold_out: [ecs.c6.large]}",
		}, "\n")), 0o600)).To(Succeed())

		var stderr bytes.Buffer
		cmd := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--access-key-id", keyID, "--access-key-secret", keySecret,
			"--data-dir", dataDir, "--seed", seed, "--sts-min-duration", "2s", "--copy-concurrency", "2", "--copy-duration", "4s")
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(cmd.Start()).To(Succeed())
		exited := make(chan error, 1)
		defer func() {
			select {
			case err := <-exited:
				t.Logf("cpi-ci sim exited before the test ended: %v", err)
			default:
				_ = cmd.Process.Kill() // the test is over: killing is all that is left to do
			}
		}()

		lines := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			if sc.Scan() {
				lines <- sc.Text()
			}
			_, _ = io.Copy(io.Discard, stdout) // drains stdout so the sim never blocks: ends when it exits
			exited <- cmd.Wait()
		}()
		var line string
		select {
		case line = <-lines:
		case err := <-exited:
			t.Fatalf("cpi-ci sim exited early (%v): %s", err, stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("cpi-ci sim printed no address: %s", stderr.String())
		}
		Expect(line).To(MatchRegexp(`^sim listening on http://127\.0\.0\.1:\d+$`))
		url := strings.TrimPrefix(line, "sim listening on ")
		Expect(url).NotTo(HaveSuffix(":0"))

		client := func(id, secret, region string) *oss.Client {
			return oss.NewClient(oss.LoadDefaultConfig().
				WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret)).
				WithRegion(region).WithEndpoint(url).WithUsePathStyle(true).WithRetryMaxAttempts(1))
		}
		c := client(keyID, keySecret, "eu-central-1")
		_, err = c.PutObject(contextBackground(), &oss.PutObjectRequest{Bucket: oss.Ptr("seeded-artifacts"), Key: oss.Ptr("state/rev-1.json"), Body: strings.NewReader(`{"rev":1}`)})
		Expect(err).NotTo(HaveOccurred())
		get, err := c.GetObject(contextBackground(), &oss.GetObjectRequest{Bucket: oss.Ptr("seeded-artifacts"), Key: oss.Ptr("state/rev-1.json")})
		Expect(err).NotTo(HaveOccurred())
		var body bytes.Buffer
		_, err = body.ReadFrom(get.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(get.Body.Close()).To(Succeed())
		Expect(body.String()).To(Equal(`{"rev":1}`))
		// The seed file's own credential works too.
		_, err = client("LTAI5tSeededKey", "seeded-secret", "cn-hangzhou").PutBucket(contextBackground(), &oss.PutBucketRequest{Bucket: oss.Ptr("second-account")})
		Expect(err).NotTo(HaveOccurred())

		// ECS, with the seed file's and the flags' timings, copy limits and stock.
		ec, err := ecs.NewClientWithAccessKey("eu-central-1", keyID, keySecret)
		Expect(err).NotTo(HaveOccurred())
		ec.Domain = strings.TrimPrefix(url, "http://")
		imp := ecs.CreateImportImageRequest()
		imp.RegionId, imp.ImageName = "eu-central-1", "seeded-image"
		imp.DiskDeviceMapping = &[]ecs.ImportImageDiskDeviceMapping{{OSSBucket: "seeded-artifacts", OSSObject: "state/rev-1.json"}}
		imported, err := ec.ImportImage(imp)
		Expect(err).NotTo(HaveOccurred())
		available := func() bool {
			req := ecs.CreateDescribeImagesRequest()
			req.RegionId, req.ImageId = "eu-central-1", imported.ImageId
			resp, err := ec.DescribeImages(req)
			return err == nil && len(resp.Images.Image) == 1
		}
		Eventually(available, 5*time.Second, 50*time.Millisecond).Should(BeTrue())
		events, err := rawDo(http.MethodGet, url+"/_sim/ecs/image-events", "", nil)
		Expect(err).NotTo(HaveOccurred())
		var evs []sim.ImageEvent
		Expect(json.Unmarshal([]byte(events.body), &evs)).To(Succeed())
		Expect(evs).To(HaveLen(2))
		Expect(evs[1].Time.Sub(evs[0].Time)).To(Equal(time.Second)) // import_duration

		copyTo := func(dest, name string) (string, int) {
			req := ecs.CreateCopyImageRequest()
			req.RegionId, req.ImageId, req.DestinationRegionId, req.DestinationImageName = "eu-central-1", imported.ImageId, dest, name
			resp, err := ec.CopyImage(req)
			Expect(err).NotTo(HaveOccurred())
			d := ecs.CreateDescribeImagesRequest()
			d.RegionId, d.ImageId, d.Status = dest, resp.ImageId, allStatuses
			list, err := ec.DescribeImages(d)
			Expect(err).NotTo(HaveOccurred())
			Expect(list.Images.Image).To(HaveLen(1))
			img := list.Images.Image[0]
			if img.Status == "Waiting" {
				return img.Status, -1
			}
			return img.Status, img.DiskDeviceMappings.DiskDeviceMapping[0].RemainTime
		}
		st, remain := copyTo("cn-shanghai", "one")
		Expect(st).To(Equal("Creating"))
		Expect(remain).To(Equal(4)) // --copy-duration
		st, _ = copyTo("cn-shanghai", "two")
		Expect(st).To(Equal("Creating"))
		st, _ = copyTo("cn-shanghai", "three")
		Expect(st).To(Equal("Waiting")) // --copy-concurrency 2, counted by destination
		st, remain = copyTo("cn-hangzhou", "four")
		Expect(st).To(Equal("Creating")) // another destination: its own slots
		Expect(remain).To(Equal(10))     // copy_durations

		stock, err := rawDo(http.MethodGet, url+"/_sim/ecs/stock", "", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(stock.body).To(MatchJSON(`[{"region":"cn-hangzhou","zone":"cn-hangzhou-h","instance_types":["ecs.g6.large"],"sold_out":["ecs.c6.large"]}]`))

		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		select {
		case err := <-exited:
			Expect(err).NotTo(HaveOccurred(), stderr.String())
		case <-time.After(15 * time.Second):
			t.Fatalf("cpi-ci sim did not stop on SIGTERM")
		}
		Expect(cmd.ProcessState.ExitCode()).To(Equal(0))
		Expect(stderr.String()).NotTo(ContainSubstring(keySecret))
		left, err := os.ReadDir(dataDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty())
	})

	it("refuses a non-loopback address and an unknown seed key", func() {
		out, err := exec.Command(bin, "sim", "--listen", "0.0.0.0:0", "--access-key-id", "a", "--access-key-secret", "b").CombinedOutput()
		var exit *exec.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), string(out))
		Expect(exit.ExitCode()).To(Equal(1))
		Expect(string(out)).To(ContainSubstring("loopback"))

		seed := filepath.Join(dir, "bad.yml")
		Expect(os.WriteFile(seed, []byte("bukets: []\n"), 0o600)).To(Succeed())
		out, err = exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--seed", seed, "--access-key-id", "a", "--access-key-secret", "b").CombinedOutput()
		Expect(errors.As(err, &exit)).To(BeTrue(), string(out))
		Expect(string(out)).To(ContainSubstring("bukets"))

		out, err = exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--access-key-id", "a", "--access-key-secret", "b", "--copy-limit-by", "account").CombinedOutput()
		Expect(errors.As(err, &exit)).To(BeTrue(), string(out))
		Expect(string(out)).To(ContainSubstring("CopyLimitBy"))
	})
}
