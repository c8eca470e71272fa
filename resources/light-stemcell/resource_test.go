package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
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
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
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

			// The killed build's lock holds the version until it expires.
			_, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("another build of " + line + " 1.484 is running"))
			locks := cloud.Keys(t, line+"/locks/1.484/")
			Expect(locks).To(HaveLen(1))
			expired, _ := json.Marshal(map[string]any{"build_id": "killed", "holder": "a local run",
				"acquired_at": time.Now().Add(-time.Hour), "expires_at": time.Now().Add(-time.Minute)}) // as if three minutes passed
			cloud.PutObject(t, locks[0], expired)

			out, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("took over the build lock"))
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

		// journalSince lists the emulator's answered requests after seq.
		journalSince := func(seq uint64) []sim.Entry {
			var out []sim.Entry
			for _, e := range cloud.Sim.Journal() {
				if e.Seq > seq {
					out = append(out, e)
				}
			}
			return out
		}
		lastSeq := func() uint64 {
			j := cloud.Sim.Journal()
			if len(j) == 0 {
				return 0
			}
			return j[len(j)-1].Seq
		}
		// builtNothing says no request after seq built, tagged, shared or uploaded anything.
		builtNothing := func(seq uint64) {
			t.Helper()
			for _, e := range journalSince(seq) {
				Expect(e.Action).NotTo(BeElementOf("ImportImage", "CopyImage", "TagResources", "ModifyImageSharePermission", "ModifyImageAttribute",
					"PutObject", "InitiateMultipartUpload", "PutObjectAcl", "DeleteObject"), "%s %s", e.Action, e.Key)
			}
		}
		openLine := func() (*alicloud.Session, records.Line) {
			s, err := alicloud.NewSession(alicloud.Cloud{AccessKeyID: cloud.KeyID, AccessKeySecret: cloud.Secret,
				Region: cloud.Region, Bucket: cloud.Bucket, OSSEndpoint: cloud.URL, ECSEndpoint: cloud.URL}, alicloud.Options{})
			Expect(err).NotTo(HaveOccurred())
			store, err := s.Store()
			Expect(err).NotTo(HaveOccurred())
			return s, records.Line{Store: store, Stemcell: line}
		}

		it("refuses a second build of a version within 10 s, naming the holder and the lock's age, and takes over an expired lock", func() {
			params := map[string]any{"heavy_stemcell": "*1.484*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing"}}
			cloud.Sim.AddFault(sim.Fault{Service: "ecs", Action: "CopyImage", Count: 1, Kind: sim.FaultLatency, Latency: 3 * time.Second})
			body, _ := json.Marshal(map[string]any{"source": source("candidate"), "params": params}) // maps of strings and lists always encode
			first := exec.Command(binary, "out", build)
			first.Stdin = bytes.NewReader(body)
			first.Env = append(os.Environ(), "NO_COLOR=1", "BUILD_PIPELINE_NAME=cpi", "BUILD_JOB_NAME=build-candidate", "BUILD_NAME=7")
			var firstErr bytes.Buffer
			first.Stderr = &firstErr
			Expect(first.Start()).To(Succeed())
			NewWithT(t).Eventually(func() []string { return cloud.Keys(t, line+"/locks/") }, 10*time.Second, 20*time.Millisecond).ShouldNot(BeEmpty())

			start := time.Now()
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(1))
			Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
			Expect(stderr).To(ContainSubstring("another build of " + line + " 1.484 is running: cpi/build-candidate #7 (build id "))
			Expect(stderr).To(MatchRegexp(`has held its lock for [0-9.]+m?s`))
			Expect(first.Wait()).To(Succeed(), firstErr.String())
			Expect(cloud.Keys(t, line+"/locks/")).To(BeEmpty(), "released")

			// A lock whose holder stopped renewing it long ago is taken over, and the log says so.
			_, err := stemcelltest.WriteHeavyFile(build, line, "1.485", bytes.Repeat([]byte("root disk 2 "), 4096))
			Expect(err).NotTo(HaveOccurred())
			stale, _ := json.Marshal(map[string]any{"build_id": "0123abcd", "holder": "cpi/build-candidate #3",
				"acquired_at": time.Now().Add(-time.Hour), "expires_at": time.Now().Add(-55 * time.Minute)})
			cloud.PutObject(t, line+"/locks/1.485/00000001.json", stale)
			params["heavy_stemcell"] = "*1.485*.tgz"
			_, stderr, code = run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("took over the build lock of " + line + " 1.485 from cpi/build-candidate #3 (build id 0123abcd): it expired 55m"))
			Expect(cloud.Keys(t, line+"/locks/")).To(BeEmpty())
		})

		it("promotes once: a re-promote with equal params does nothing, with other params fails before any change; images are retagged published", func() {
			regions := []string{"cn-hangzhou", "cn-beijing"}
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": map[string]any{"heavy_stemcell": "*.tgz", "regions": regions}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(os.WriteFile(filepath.Join(build, "version"), []byte("1.484\n"), 0o644)).To(Succeed())
			promoted, stderr, code := run("out", map[string]any{"source": source("published"), "params": map[string]any{"promote": "version", "public": false}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			s, _ := openLine()
			images := func() []alicloud.Image {
				var all []alicloud.Image
				for _, r := range regions {
					found, err := s.Images(context.Background(), r, alicloud.ImageQuery{Tags: map[string]string{builder.TagStemcell: line}})
					Expect(err).NotTo(HaveOccurred())
					Expect(found).To(HaveLen(1))
					all = append(all, found...)
				}
				return all
			}
			for _, img := range images() {
				Expect(img.TagMap()).To(HaveKeyWithValue("stage", "published"), img.Region)
				Expect(img.IsPublic).To(BeFalse())
			}

			before := lastSeq()
			_, stderr, code = run("out", map[string]any{"source": source("published"), "params": map[string]any{"promote": "version"}}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(line + " 1.484 is already published with other params (public: recorded false, given true)"))
			_, stderr, code = run("out", map[string]any{"source": source("published"), "params": map[string]any{"promote": "version", "public": false, "share_with": []string{"123456789"}}}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("(share_with: recorded [], given [123456789])"))
			builtNothing(before)
			for _, img := range images() {
				Expect(img.IsPublic).To(BeFalse())
			}

			again, stderr, code := run("out", map[string]any{"source": source("published"), "params": map[string]any{"promote": "version", "public": false}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("already published with these params: nothing to do"))
			Expect(again).To(MatchJSON(promoted))
			builtNothing(before)
		})

		it("checks immutability before building: a candidate of a published version is refused, the same heavy again is a no-op, another heavy is refused", func() {
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing"}}
			published, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			dest := t.TempDir()
			_, stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"}}, dest)
			Expect(code).To(Equal(0), "%s", stderr)
			url, _ := os.ReadFile(filepath.Join(dest, "url"))              // a missing file fails below
			tarball, _ := os.ReadFile(filepath.Join(dest, "stemcell.tgz")) // a missing file fails below

			before := lastSeq()
			_, stderr, code = run("out", map[string]any{"source": source("candidate"), "params": params}, build)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(line + " 1.484 is already published (sha256 "))
			builtNothing(before)
			response, err := http.Get(string(url))
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(response.Body)
			Expect(response.Body.Close()).To(Succeed())
			Expect(response.StatusCode).To(Equal(http.StatusOK), "still public")
			Expect(body).To(Equal(tarball), "not overwritten")

			before = lastSeq()
			again, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(stderr).To(ContainSubstring("already on the published channel from this heavy stemcell"))
			Expect(again).To(MatchJSON(published))
			builtNothing(before)

			other := t.TempDir()
			_, err = stemcelltest.WriteHeavyFile(other, line, "1.484", bytes.Repeat([]byte("another root disk "), 4096))
			Expect(err).NotTo(HaveOccurred())
			before = lastSeq()
			_, stderr, code = run("out", map[string]any{"source": source("published"), "params": params}, other)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(line + " 1.484 is already on the published channel, built from another heavy stemcell"))
			builtNothing(before)
		})

		it("gives each channel its own tarball: a published build of a candidate version leaves the candidate fetchable", func() {
			_, stderr, code := run("out", map[string]any{"source": source("candidate"), "params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing"}}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			_, stderr, code = run("out", map[string]any{"source": source("published"), "params": map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "cn-shanghai"}}}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			_, stderr, code = run("in", map[string]any{"source": source("candidate"), "version": map[string]string{"version": "1.484"}}, t.TempDir())
			Expect(code).To(Equal(0), "the candidate's tarball is its own: %s", stderr)
			Expect(cloud.Keys(t, line+"/tarballs/1.484/")).To(HaveLen(2))
		})

		it("in fails naming the regions whose images are lost and how to rebuild them, one DescribeImages per region; verify: false skips that", func() {
			params := map[string]any{"heavy_stemcell": "*.tgz", "regions": []string{"cn-hangzhou", "cn-beijing", "eu-central-1"}}
			_, stderr, code := run("out", map[string]any{"source": source("published"), "params": params}, build)
			Expect(code).To(Equal(0), "%s", stderr)
			s, stemcells := openLine()
			record, err := stemcells.Read(context.Background(), "published", "1.484")
			Expect(err).NotTo(HaveOccurred())

			// What a director's delete_stemcell does to the light stemcell it was given.
			Expect(s.DeleteImage(context.Background(), "cn-beijing", record.ImageIDs["cn-beijing"])).To(Succeed())
			before := lastSeq()
			_, stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"}}, t.TempDir())
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(line + " 1.484 (published channel) has lost its images in cn-beijing (" + record.ImageIDs["cn-beijing"] + " is gone)"))
			Expect(stderr).To(ContainSubstring("cpi-ci stemcell delete-version --stemcell " + line + " --version 1.484"))
			describes := map[string]int{}
			for _, e := range journalSince(before) {
				if e.Action == "DescribeImages" {
					describes[e.Region]++
				}
			}
			Expect(describes).To(Equal(map[string]int{"cn-hangzhou": 1, "cn-beijing": 1, "eu-central-1": 1}))

			_, stderr, code = run("in", map[string]any{"source": source("published"), "version": map[string]string{"version": "1.484"},
				"params": map[string]any{"verify": false, "tarball": false}}, t.TempDir())
			Expect(code).To(Equal(0), "%s", stderr)

			var raw map[string]any
			_, err = stemcells.Store.GetJSON(context.Background(), stemcells.RecordName("published", "1.484"), &raw)
			Expect(err).NotTo(HaveOccurred())
			Expect(raw).To(HaveKeyWithValue("nvme_support", "supported"), "the heavy stemcell asks for NVMe support; its images have it")
		})

		it("checks with regions by reading the records newest first, stopping once the answer is known (2,000 versions)", func() {
			const n = 2000
			for i := 1; i <= n; i++ {
				v := "1." + itoa(i)
				ids := map[string]string{"cn-hangzhou": "m-a" + itoa(i), "cn-beijing": "m-b" + itoa(i)}
				if i > n-3 {
					delete(ids, "cn-beijing") // the three newest lack a region
				}
				body, _ := json.Marshal(map[string]any{"stemcell": line, "version": v, "channel": "published", "image_ids": ids}) // strings always encode
				cloud.PutObject(t, line+"/published/"+v+".json", body)
			}
			src := source("published")
			src["regions"] = []string{"cn-hangzhou", "cn-beijing"}
			count := func(seq uint64) (gets, lists int) {
				for _, e := range journalSince(seq) {
					switch e.Action {
					case "GetObject":
						gets++
					case "ListObjects", "ListObjectsV2":
						lists++
					}
				}
				return gets, lists
			}

			before := lastSeq()
			checked, stderr, code := run("check", map[string]any{"source": src}, "")
			Expect(code).To(Equal(0), "%s", stderr)
			Expect(checked).To(MatchJSON(`[{"version":"1.1997"}]`))
			firstGets, firstLists := count(before)

			before = lastSeq()
			checked, stderr, code = run("check", map[string]any{"source": src, "version": map[string]string{"version": "1.1990"}}, "")
			Expect(code).To(Equal(0), "%s", stderr)
			var versions []map[string]string
			Expect(json.Unmarshal([]byte(checked), &versions)).To(Succeed())
			Expect(versions).To(HaveLen(8))
			Expect(versions[0]).To(Equal(map[string]string{"version": "1.1990"}))
			Expect(versions[7]).To(Equal(map[string]string{"version": "1.1997"}))
			laterGets, laterLists := count(before)
			t.Logf("check with regions on %d versions: first check %d GetObject + %d list calls; from 1.1990 %d GetObject + %d list calls",
				n, firstGets, firstLists, laterGets, laterLists)
			Expect(firstGets).To(Equal(4), "the three newest lack a region, the fourth is the answer")
			Expect(laterGets).To(Equal(11), "1.2000 down to 1.1990")
			Expect(firstLists).To(Equal(2), "a list page holds 1,000 names")
		})

		when("given hostile or careless input", func() { testInput(t, it, binary) })
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
