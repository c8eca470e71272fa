package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

const line = "bosh-alicloud-kvm-ubuntu-noble"

// The resource is tested as Concourse runs it: the real binary, JSON on stdin, against the
// emulator with every public region.
func TestLightStemcellResource(t *testing.T) {
	binary := conformance.Compile(t, ".")
	spec.Run(t, "light-stemcell resource", func(t *testing.T, when spec.G, it spec.S) {
		var (
			Expect = NewWithT(t).Expect
			cloud  *testtools.Cloud
			build  string
		)
		it.Before(func() {
			cloud = testtools.NewCloud(t, func(cfg *sim.Config) {
				cfg.ImportDuration = 200 * time.Millisecond
				cfg.CopyDuration = 200 * time.Millisecond
			})
			build = t.TempDir()
			_, err := stemcelltest.WriteHeavyFile(build, line, "1.484", bytes.Repeat([]byte("root disk "), 4096))
			Expect(err).NotTo(HaveOccurred())
		})
		source := func(channel string) map[string]any {
			s := cloud.Source()
			s["stemcell"], s["channel"] = line, channel
			return s
		}
		run := func(step string, request any, dir string) (string, string, int) {
			body, _ := json.Marshal(request) // maps of strings, numbers and lists always encode
			args := []string{step}
			if dir != "" {
				args = append(args, dir)
			}
			cmd := exec.Command(binary, args...)
			cmd.Stdin = bytes.NewReader(body)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			code := 0
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return stdout.String(), stderr.String(), code
		}

		it("builds and publishes to every region, then checks and fetches it", func() {
			out, stderr, code := run("out", map[string]any{"source": source("published"), "params": map[string]any{"heavy_stemcell": "bosh-stemcell-*.tgz"}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(out).To(ContainSubstring(`"version":{"version":"1.484"}`))
			regions := len(cloud.Sim.Regions())
			Expect(out).To(ContainSubstring(`{"name":"regions","value":"` + itoa(regions) + `"}`))

			checked, stderr, _ := run("check", map[string]any{"source": source("published")}, "")
			Expect(checked).To(MatchJSON(`[{"version":"1.484"}]`), "%s", stderr)

			dest := t.TempDir()
			_, stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"}}, dest)
			Expect(code).To(Equal(0), "%s", stderr)
			for _, f := range []string{"version", "sha1", "sha256", "url", "stemcell.tgz", "stemcell.MF", "image_ids.json"} {
				Expect(filepath.Join(dest, f)).To(BeARegularFile())
			}
			var ids map[string]string
			data, _ := os.ReadFile(filepath.Join(dest, "image_ids.json")) // a missing file fails the assertions below
			Expect(json.Unmarshal(data, &ids)).To(Succeed())
			Expect(ids).To(HaveLen(regions))
			manifest, _ := os.ReadFile(filepath.Join(dest, "stemcell.MF")) // a missing file fails the assertions below
			Expect(string(manifest)).To(ContainSubstring("image_id:"))

			url, _ := os.ReadFile(filepath.Join(dest, "url")) // a missing file fails the assertions below
			response, err := http.Get(string(url))
			Expect(err).NotTo(HaveOccurred())
			Expect(response.Body.Close()).To(Succeed())
			Expect(response.StatusCode).To(Equal(200), "a published tarball is public")
			Expect(cloud.Keys(t, "")).NotTo(ContainElement(HaveSuffix("root.img")), "the raw image is gone")
		})

		it("builds a candidate, then promotes it", func() {
			regions := []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"),
				"params": map[string]any{"heavy_stemcell": "*.tgz", "regions": regions}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			checked, _, _ := run("check", map[string]any{"source": source("candidate")}, "")
			Expect(checked).To(MatchJSON(`[{"version":"1.484"}]`))
			checked, _, _ = run("check", map[string]any{"source": source("published")}, "")
			Expect(checked).To(MatchJSON(`[]`), "not published until promoted")

			Expect(os.WriteFile(filepath.Join(build, "version"), []byte("1.484\n"), 0o644)).To(Succeed())
			out, stderr, code := run("out", map[string]any{"source": source("published"), "params": map[string]any{"promote": "version"}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(out).To(ContainSubstring(`"version":{"version":"1.484"}`))
			checked, _, _ = run("check", map[string]any{"source": source("published")}, "")
			Expect(checked).To(MatchJSON(`[{"version":"1.484"}]`))
			checked, _, _ = run("check", map[string]any{"source": source("candidate")}, "")
			Expect(checked).To(MatchJSON(`[{"version":"1.484"}]`), "the candidate record stays")

			_, stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"},
				"params": map[string]any{"region": "ap-south-1", "tarball": false}}, t.TempDir())
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("has no image in ap-south-1; it has images in cn-beijing, cn-hangzhou, eu-central-1"))

			conformance.Run(t, conformance.Config{Binary: binary, Source: source("published"),
				MissingVersion: concourse.Version{"version": "9.999"}, Secrets: []string{cloud.Secret}})
		})

		it("measures its copy times and orders the next build's copies by them", func() {
			params := map[string]any{"heavy_stemcell": "*1.484*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "eu-central-1", "us-east-1"}}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).NotTo(ContainSubstring("copy times measured earlier"), "the first build knows none")
			Expect(cloud.Keys(t, line+"/")).To(ContainElement(line + "/copy-times.json"))
			checked, _, _ := run("check", map[string]any{"source": source("candidate")}, "")
			Expect(checked).To(MatchJSON(`[{"version":"1.484"}]`), "the copy times are no version")

			_, err := stemcelltest.WriteHeavyFile(build, line, "1.485", bytes.Repeat([]byte("root disk 2 "), 4096))
			Expect(err).NotTo(HaveOccurred())
			params["heavy_stemcell"] = "*1.485*.tgz"
			_, stderr, code = run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("ordering 3 copies by 3 copy times measured earlier"))
		})

		it("builds when the copy times are unreadable, says so, and writes them anew", func() {
			cloud.PutObject(t, line+"/copy-times.json", []byte("{broken"))
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "cn-shanghai"}}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring(line + "/copy-times.json"))
			Expect(stderr).To(ContainSubstring("the copies go in the order of the regions"))

			_, err := stemcelltest.WriteHeavyFile(build, line, "1.485", bytes.Repeat([]byte("root disk 2 "), 4096))
			Expect(err).NotTo(HaveOccurred())
			params["heavy_stemcell"] = "*1.485*.tgz"
			_, stderr, code = run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("ordering 2 copies by 2 copy times measured earlier"), "the rewritten copy times are read")
		})

		it("builds a bosh.io-named -go_agent stemcell, and refuses one of another line than source.stemcell", func() {
			agent := t.TempDir()
			written, err := stemcelltest.WriteHeavyFile(agent, line+"-go_agent", "1.484", bytes.Repeat([]byte("root disk "), 4096))
			Expect(err).NotTo(HaveOccurred())
			// As bosh.io names it: bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz.
			Expect(os.Rename(written, filepath.Join(agent, stemcelltest.HeavyName(line, "1.484")))).To(Succeed())
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing"}}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": params}, agent)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("is " + line + "-go_agent according to its stemcell.MF, not " + line))
			Expect(cloud.Keys(t, "")).To(BeEmpty(), "nothing published, the raw image deleted")
			Expect(copies(cloud)).To(Equal(0))

			agentSource := source("candidate")
			agentSource["stemcell"] = line + "-go_agent"
			out, stderr, code := run("out", map[string]any{"source": agentSource, "params": params}, agent)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(out).To(ContainSubstring(`"version":{"version":"1.484"}`))
		})

		it("keeps the measured copy times when they could not be read for a passing reason", func() {
			params := map[string]any{"heavy_stemcell": "*1.484*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)

			// Every try of the next out's first read (the copy times) is throttled.
			cloud.Sim.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Count: 6, Kind: sim.FaultThrottling})
			_, err := stemcelltest.WriteHeavyFile(build, line, "1.485", bytes.Repeat([]byte("root disk 2 "), 4096))
			Expect(err).NotTo(HaveOccurred())
			params = map[string]any{"heavy_stemcell": "*1.485*.tgz", "regions": []string{"cn-hangzhou", "us-east-1"}}
			_, stderr, code = run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("the copies go in the order of the regions"))

			s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret,
				Region: cloud.Region, Bucket: cloud.Bucket, OSSEndpoint: cloud.URL, ECSEndpoint: cloud.URL}, alicloud.Options{})
			Expect(err).NotTo(HaveOccurred())
			store, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			times, err := builder.LoadCopyTimes(context.Background(), store, line)
			Expect(err).NotTo(HaveOccurred())
			var to []string
			for _, c := range times.All() {
				to = append(to, c.To)
			}
			Expect(to).To(ConsistOf("cn-beijing", "eu-central-1"), "the first build's figures, not overwritten by a build that could not read them")
		})

		it("refuses a typo and an unknown region, publishing nothing", func() {
			_, stderr, code := run("out", map[string]any{"source": source("published"), "params": map[string]any{"heavy_stemcel": "*.tgz"}}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(`params.heavy_stemcel: unknown key (did you mean "heavy_stemcell"?)`))
			_, stderr, code = run("out", map[string]any{"source": source("published"),
				"params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "xx-nowhere-1"}}}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("xx-nowhere-1"))
			Expect(cloud.Keys(t, line+"/published/")).To(BeEmpty())
		})
		it("names a region whose copy failed, leaves only Available images, and a rerun copies just that region", func() {
			regions := []string{"cn-hangzhou", "cn-beijing", "cn-shanghai", "eu-central-1"}
			Expect(cloud.Sim.FailCopyTo("eu-central-1", 1)).To(Succeed())
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": regions}
			_, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("eu-central-1"))
			Expect(cloud.Keys(t, line+"/published/")).To(BeEmpty(), "nothing published")
			for _, e := range latestImageStatus(cloud) {
				Expect(e).To(Or(Equal("Available"), Equal("Deleted"), Equal("Cancelled")))
			}

			before := copies(cloud)
			_, stderr, code = run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(copies(cloud)-before).To(Equal(1), "only the failed region is copied again")
		})

		it("publishes through 20% throttling and connection resets", func() {
			cloud.Sim.AddFault(sim.Fault{Service: "ecs", Probability: 0.2, Kind: sim.FaultThrottling})
			cloud.Sim.AddFault(sim.Fault{Service: "oss", Probability: 0.2, Kind: sim.FaultReset})
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "ap-southeast-1"}}
			out, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(out).To(ContainSubstring(`"version":{"version":"1.484"}`))
			Expect(stderr).To(ContainSubstring("retrying"))
		})

		it("completes on a rerun after the build was killed", func() {
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "cn-shanghai", "eu-central-1"}}
			body, _ := json.Marshal(map[string]any{"source": source("published"), "params": params}) // maps of strings, numbers and lists always encode
			cmd := exec.Command(binary, "out", build)
			cmd.Stdin = bytes.NewReader(body)
			Expect(cmd.Start()).To(Succeed())
			NewWithT(t).Eventually(func() int { return copies(cloud) }, 10*time.Second, 20*time.Millisecond).Should(BeNumerically(">=", 1))
			Expect(cmd.Process.Kill()).To(Succeed())
			_ = cmd.Wait() // killed: its exit error is the kill

			out, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(out).To(ContainSubstring(`{"name":"regions","value":"4"}`))
		})

		when("builds are killed, overlap or spell a version otherwise", func() { testHardening(t, when, it, binary) })

		it("refuses a corrupt tarball, a wrong sha1 and an unsafe archive, publishing nothing", func() {
			bad := t.TempDir()
			Expect(os.WriteFile(filepath.Join(bad, "corrupt.tgz"), []byte("not a tarball"), 0o644)).To(Succeed())
			testtools.TamperMember(t, filepath.Join(build, heavyName()), filepath.Join(bad, "wrong-sha1.tgz"), "image")
			writeUnsafe(t, filepath.Join(bad, "unsafe.tgz"))
			for file, want := range map[string]string{"corrupt.tgz": "gzip", "wrong-sha1.tgz": "sha1", "unsafe.tgz": "../escape"} {
				_, stderr, code := run("out", map[string]any{"source": source("published"),
					"params": map[string]any{"heavy_stemcell": file, "regions": []string{"cn-hangzhou"}}}, bad)
				Expect(code).To(Equal(1), file)
				Expect(stderr).To(ContainSubstring(want), file)
			}
			Expect(cloud.Keys(t, "")).To(BeEmpty(), "no object left, not even the raw image")
			Expect(copies(cloud)).To(Equal(0))
		})
	}, spec.Report(report.Terminal{}))
}

func heavyName() string { return "bosh-stemcell-1.484-alicloud-kvm-ubuntu-noble-go_agent.tgz" }

// copies counts CopyImage calls the emulator answered.
func copies(cloud *testtools.Cloud) int {
	n := 0
	for _, e := range cloud.Sim.Journal() {
		if e.Action == "CopyImage" && e.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// latestImageStatus is each image's last status in the emulator's event log.
func latestImageStatus(cloud *testtools.Cloud) map[string]string {
	last := map[string]string{}
	for _, e := range cloud.Sim.ImageEvents() {
		last[e.ImageID] = e.Status
	}
	return last
}

// writeUnsafe writes a tarball with a member that climbs out of the directory.
func writeUnsafe(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	write := func(err error) {
		if err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
	}
	write(tw.WriteHeader(&tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}))
	_, err = tw.Write([]byte("x"))
	write(err)
	write(tw.Close())
	write(gz.Close())
	write(f.Close())
}

func itoa(n int) string { return strconv.Itoa(n) }
