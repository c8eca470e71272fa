//go:build e2e

package localconcourse

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
)

func init() {
	e2eSuites = append(e2eSuites, struct {
		name string
		fn   func(*testing.T, spec.G, spec.S)
	}{"end to end on the real local Concourse", testE2E})
}

// repoRoot is the repository this package is in (two levels up).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// hostSnapshot is what must be the same before up and after down.
type hostSnapshot struct {
	Interfaces []string
	Iptables   string
	Dev        []string
}

func snapshotHost(t *testing.T) hostSnapshot {
	t.Helper()
	var s hostSnapshot
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		s.Interfaces = append(s.Interfaces, i.Name)
	}
	sort.Strings(s.Interfaces)
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(tool).Output()
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			// Comments carry time stamps; counters change with traffic.
			if strings.HasPrefix(line, "#") {
				continue
			}
			if i := strings.IndexByte(line, '['); strings.HasPrefix(line, ":") && i > 0 {
				line = line[:i]
			}
			s.Iptables += line + "\n"
		}
	}
	err = filepath.Walk("/dev", func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil // entries that vanish while walking (pts) are not ours
		}
		if strings.HasPrefix(p, "/dev/pts/") || strings.HasPrefix(p, "/dev/shm/") {
			return nil
		}
		rdev := uint64(0)
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			rdev = uint64(st.Rdev)
		}
		s.Dev = append(s.Dev, fmt.Sprintf("%s %s %d", p, info.Mode(), rdev))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testE2E(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("runs the pack's images as Concourse does, and down leaves the host as it was", func() {
		root := repoRoot(t)
		cpiCI := filepath.Join(root, "bin", "cpi-ci")
		if _, err := os.Stat(cpiCI); err != nil {
			t.Fatalf("%v: make e2e builds bin/ first", err)
		}
		if _, err := os.Stat(filepath.Join(root, "out", "images", "bosh-release-resource.tar")); err != nil {
			t.Fatalf("%v: make e2e builds the images first (make images)", err)
		}
		workDir := filepath.Join(root, "out", "e2e-concourse")
		// A Concourse left by a killed run is stopped through its state, not orphaned.
		_ = exec.Command(cpiCI, "concourse", "down", "--work-dir", workDir).Run()
		Expect(os.RemoveAll(workDir)).To(Succeed())
		before := snapshotHost(t)

		var transcript bytes.Buffer
		run := func(name string, args ...string) (string, error) {
			cmd := exec.Command(name, args...)
			cmd.Dir = root
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				return "", err
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(6 * time.Minute):
				_ = cmd.Process.Kill() // it exited meanwhile, or it dies now
				err = fmt.Errorf("%s %v: killed after 6m (%v)", name, args, <-done)
			}
			fmt.Fprintf(&transcript, "$ %s %s   # %s, %v\n%s\n", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), errString(err), out.String())
			return out.String(), err
		}
		fly := func(args ...string) (string, time.Duration, error) {
			start := time.Now()
			out, err := run(cpiCI, append([]string{"concourse", "fly", "--work-dir", workDir, "--"}, args...)...)
			return out, time.Since(start), err
		}
		var flyOutput strings.Builder
		defer func() {
			_ = os.MkdirAll(workDir, 0o755)
			_ = os.WriteFile(filepath.Join(root, "out", "e2e-transcript.txt"), transcript.Bytes(), 0o644)
		}()

		upStart := time.Now()
		out, err := run(cpiCI, "concourse", "up", "--work-dir", workDir, "--repo", root, "--images", filepath.Join(root, "out", "images"))
		up := time.Since(upStart)
		downDone := false
		defer func() {
			if !downDone {
				_, _ = run(cpiCI, "concourse", "down", "--work-dir", workDir)
			}
		}()
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("base types: alicloud-light-stemcell, bosh-director-env, bosh-release"))

		raw, err := os.ReadFile(filepath.Join(workDir, "emulator.json"))
		Expect(err).NotTo(HaveOccurred())
		var account struct {
			AccessKeySecret string `json:"access_key_secret"`
		}
		Expect(json.Unmarshal(raw, &account)).To(Succeed())
		Expect(account.AccessKeySecret).NotTo(BeEmpty())

		step := func(wantOK bool, args ...string) (string, time.Duration) {
			out, d, err := fly(args...)
			flyOutput.WriteString(out)
			if wantOK {
				Expect(err).NotTo(HaveOccurred(), "fly %v:\n%s", args, out)
			} else {
				Expect(err).To(HaveOccurred(), "fly %v should fail:\n%s", args, out)
			}
			return out, d
		}

		vars := filepath.Join(workDir, "vars.yml")
		step(true, "set-pipeline", "-n", "-p", "e2e", "-c", filepath.Join(root, "lib/localconcourse/testdata/e2e-pipeline.yml"), "-l", vars)
		step(true, "unpause-pipeline", "-p", "e2e")
		_, stemcellCheck := step(true, "check-resource", "-r", "e2e/stemcell")
		_, releaseCheck := step(true, "check-resource", "-r", "e2e/release")

		out, _ = step(true, "trigger-job", "-j", "e2e/publish", "-w")
		Expect(out).To(ContainSubstring("release dir ready: hello"))
		Expect(out).To(ContainSubstring("succeeded"))

		out, releaseAgain := step(true, "check-resource", "-r", "e2e/release")
		Expect(out).To(ContainSubstring("succeeded"))
		Expect(out).To(ContainSubstring("version=0+dev.1"), "check-resource lists the version just put")
		out, _ = step(true, "resource-versions", "-r", "e2e/release")
		Expect(out).To(ContainSubstring("version:0+dev.1"))

		// waitJob waits for the first build of a job that passed: triggers, and returns its log.
		waitJob := func(job string) string {
			deadline := time.Now().Add(4 * time.Minute)
			for {
				out, _, err := fly("builds", "-j", "e2e/"+job, "--json")
				if err == nil && (strings.Contains(out, `"status": "succeeded"`) || strings.Contains(out, `"status": "failed"`) || strings.Contains(out, `"status": "errored"`)) {
					flyOutput.WriteString(out)
					Expect(out).To(ContainSubstring(`"status": "succeeded"`), "%s: %s", job, out)
					break
				}
				Expect(time.Now().Before(deadline)).To(BeTrue(), "%s did not finish: %s", job, out)
				time.Sleep(2 * time.Second)
			}
			out, _ := step(true, "watch", "-j", "e2e/"+job)
			return out
		}
		// consume is triggered by the version publish put, through passed:.
		Expect(waitJob("consume")).To(ContainSubstring("consumed version 0+dev.1"))

		// A light stemcell built in Concourse with the worker's RAM role: upload, import, copy.
		out, _ = step(true, "trigger-job", "-j", "e2e/build-stemcell", "-w")
		Expect(out).To(ContainSubstring("succeeded"))
		out = waitJob("use-stemcell")
		Expect(out).To(MatchRegexp(`(?s)light stemcell 1\.484: \{.*"cn-hangzhou": "m-.*"eu-central-1": "m-`))
		lightImage := regexp.MustCompile(`"cn-hangzhou": "(m-[^"]+)"`).FindStringSubmatch(out)[1]

		// A director env: claim → create → get → destroy → release, with the bosh test double.
		out, directorJob := step(true, "trigger-job", "-j", "e2e/director", "-w")
		Expect(out).To(ContainSubstring("bosh-deployment ready"))
		Expect(out).To(ContainSubstring("env e2e: leased to"))
		Expect(out).To(ContainSubstring("director e2e at 10.0.0.6 as admin through 47.0.0.6"))
		Expect(out).To(ContainSubstring("keeping light stemcell images m-e2elight out of delete-env"))
		Expect(out).To(ContainSubstring("env e2e: lease released"))
		Expect(out).To(ContainSubstring("succeeded"))
		out, _ = step(true, "resource-versions", "-r", "e2e/director")
		Expect(out).To(ContainSubstring("env:e2e,revision:4"))

		out, _ = step(false, "trigger-job", "-j", "e2e/bad-put", "-w")
		Expect(out).To(ContainSubstring("unknown key"))
		Expect(out).To(ContainSubstring("heavy_stemcel"))

		input := t.TempDir()
		Expect(os.WriteFile(filepath.Join(input, "greeting"), []byte("hello from the host\n"), 0o644)).To(Succeed())
		out, _ = step(true, "execute", "-c", filepath.Join(root, "lib/localconcourse/testdata/e2e-task.yml"), "-i", "input="+input, "-l", vars)
		Expect(out).To(ContainSubstring(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`))
		Expect(out).To(ContainSubstring("input says: hello from the host"))
		Expect(out).To(ContainSubstring("RAM role: ConcourseWorker"))

		// The pack's own tasks, task.yml unchanged, on the task image (images/task) from the
		// registry: fly uploads the inputs (-i) and downloads the outputs (-o).
		pack := t.TempDir()
		Expect(exec.Command("cp", "-a", filepath.Join(root, "tasks"), pack).Run()).To(Succeed())
		reports := t.TempDir()
		out, _ = step(true, "execute", "-c", filepath.Join(root, "tasks/unit-tests/task.yml"), "-l", vars,
			"-i", "concourse-pack="+pack, "-i", "bosh-cpi-src="+testtools.CPIModule(t), "-o", "test-reports="+reports)
		Expect(out).To(ContainSubstring("skipping integration package bosh-alicloud-cpi/integration"))
		junit, err := os.ReadFile(filepath.Join(reports, "junit.xml"))
		Expect(err).NotTo(HaveOccurred(), "the report came back with -o")
		Expect(string(junit)).To(MatchRegexp(`<testsuites[^>]* tests="2"[^>]* failures="0"`))

		base := t.TempDir()
		rel := testtools.NewRelease(t, filepath.Join(base, "bosh-cpi-src"), "fixture-cpi", "e2e")
		number := filepath.Join(base, "version")
		Expect(os.MkdirAll(number, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(number, "number"), []byte("1.2.3-rc.4\n"), 0o644)).To(Succeed())
		candidate := t.TempDir()
		step(true, "execute", "-c", filepath.Join(root, "tasks/build-candidate/task.yml"), "-l", vars,
			"-i", "concourse-pack="+pack, "-i", "bosh-cpi-src="+rel.Dir, "-i", "version="+number, "-o", "candidate="+candidate)
		tgz := filepath.Join(candidate, "fixture-cpi-1.2.3-rc.4.tgz")
		tarball, err := release.InspectFile(t.Context(), tgz)
		Expect(err).NotTo(HaveOccurred(), "the candidate came back with -o and its archives match release.MF")
		Expect(tarball.Manifest.Version).To(Equal("1.2.3-rc.4"))
		sum, err := os.ReadFile(tgz + ".sha256")
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(tgz)
		Expect(err).NotTo(HaveOccurred())
		digest := sha256.Sum256(data)
		Expect(string(sum)).To(ContainSubstring(hex.EncodeToString(digest[:])))

		cloudTasks := flyCloudTasks(t, step, root, pack, vars, lightImage)

		out, _ = step(true, "builds", "-p", "e2e")
		for _, job := range []string{"publish", "consume", "build-stemcell", "use-stemcell", "director"} {
			Expect(out).To(MatchRegexp(`e2e/%s/1\s+succeeded`, job))
		}
		Expect(out).To(MatchRegexp(`e2e/bad-put/1\s+failed`))

		secret := account.AccessKeySecret
		all := flyOutput.String() + transcript.String()
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.URLEncoding.EncodeToString([]byte(secret)), url.QueryEscape(secret)} {
			Expect(strings.Count(all, form)).To(Equal(0), "the source's access_key_secret appears in fly output")
		}

		figures := fmt.Sprintf("up %s; first check-resource alicloud-light-stemcell %s, bosh-release %s; a later bosh-release check %s; director job %s; fly execute of the cloud tasks %v",
			up.Round(100*time.Millisecond), stemcellCheck.Round(100*time.Millisecond), releaseCheck.Round(100*time.Millisecond), releaseAgain.Round(100*time.Millisecond), directorJob.Round(100*time.Millisecond), cloudTasks)
		fmt.Fprintf(&transcript, "# figures: %s\n", figures)
		t.Log(figures)

		out, err = run(cpiCI, "concourse", "down", "--work-dir", workDir)
		downDone = true
		Expect(err).NotTo(HaveOccurred(), out)
		mounts, err := MountsUnder(workDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounts).To(BeEmpty())
		after := snapshotHost(t)
		Expect(after.Interfaces).To(Equal(before.Interfaces))
		Expect(after.Iptables).To(Equal(before.Iptables))
		Expect(after.Dev).To(Equal(before.Dev))
	})
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
