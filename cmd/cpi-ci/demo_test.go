package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/fixtures"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

// testDemo covers what cpi-ci demo does before and after the local Concourse: its refusals, the
// job order it derives from a pipeline, the summary, and the repositories it serves. The demo
// itself, on the real local Concourse, is make demo (CI runs it).
func testDemo(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("refusals before anything starts", func() {
		it("refuses without the resource-types dir, naming it", func() {
			missing := filepath.Join(t.TempDir(), "no-such-types")
			_, stderr, code := cli("", "demo", "--work-dir", t.TempDir()+"/demo", "--repo", "../..", "--resource-types", missing,
				"--pipeline", "demo=cmd/cpi-ci/testdata/demo-pipeline.yml", "--vars", "cmd/cpi-ci/testdata/demo-vars.yml")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("the resource-types dir " + missing + " is missing"))
			Expect(stderr).To(ContainSubstring("--resource-types DIR"))
		})

		it("names a pipeline file that is missing and a passed constraint naming no job, before anything starts", func() {
			bad := filepath.Join(t.TempDir(), "bad.yml")
			Expect(os.WriteFile(bad, []byte("jobs:\n- name: a\n  plan: [{get: x, passed: [nope]}]\n"), 0o644)).To(Succeed())
			_, stderr, code := cli("", "demo", "--work-dir", t.TempDir()+"/demo", "--pipeline", "gone=/no/such/pipeline.yml", "--pipeline", "bad="+bad)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("pipeline gone: open /no/such/pipeline.yml"))
			Expect(stderr).To(ContainSubstring("job a: passed names nope, which is no job of the pipeline"))
		})

		it("names the missing images and the missing vars file", func() {
			types := t.TempDir()
			Expect(os.MkdirAll(filepath.Join(types, "git"), 0o755)).To(Succeed())
			Expect(os.MkdirAll(filepath.Join(types, "registry-image"), 0o755)).To(Succeed())
			err := demoPreflight(types, "/no/vars.yml", t.TempDir())
			Expect(err).To(MatchError(ContainSubstring("the vars file /no/vars.yml is missing")))
			Expect(err).To(MatchError(ContainSubstring("images task, task-demo, bosh-release-resource, light-stemcell-resource, director-env-resource, director-env-resource-e2e are not in")))
			Expect(err).NotTo(MatchError(ContainSubstring("resource-types dir")))
		})
	})

	context("job order", func() {
		it("puts every job after the jobs its passed constraints name, wherever the get is nested, in file order otherwise", func() {
			p, err := parseDemoPipeline([]byte(`
resources:
- {name: src, type: ((src_type))}
- {name: candidate, type: bosh-release}
jobs:
- name: promote
  plan:
  - get: candidate
    passed: [integration, bats]
- name: unit-tests
  plan:
  - in_parallel:
    - get: src
      trigger: true
- name: build
  plan:
  - do:
    - get: src
      passed: [unit-tests]
      trigger: true
- name: integration
  plan:
  - try:
      get: c
      resource: candidate
      passed: [build]
      trigger: true
- &bats
  name: bats
  plan:
  - get: candidate
    passed: [build]
    trigger: true
  ensure: {get: src}
- <<: *bats
  name: cleanup
  plan: [{get: src}]
`))
			Expect(err).NotTo(HaveOccurred())
			order, err := jobOrder(p.Jobs)
			Expect(err).NotTo(HaveOccurred())
			Expect(order).To(Equal([]string{"unit-tests", "build", "integration", "bats", "promote", "cleanup"}))
			byName := map[string]demoJob{}
			for _, j := range p.Jobs {
				byName[j.Name] = j
			}
			Expect(byName["promote"].Manual()).To(BeTrue())
			Expect(byName["promote"].After).To(Equal([]string{"bats", "integration"}))
			Expect(byName["integration"].Triggers).To(Equal([]string{"candidate"}), "a renamed get counts by its resource")
			Expect(byName["cleanup"].Manual()).To(BeTrue(), "the merged plan replaces the anchor's")
			Expect(p.Resources).To(ContainElement(demoResource{Name: "candidate", Type: "bosh-release"}))
		})

		it("names the jobs of a cycle", func() {
			_, err := jobOrder([]demoJob{{Name: "a", After: []string{"b"}}, {Name: "b", After: []string{"a"}}, {Name: "c"}})
			Expect(err).To(MatchError("the passed constraints of jobs a, b form a cycle"))
		})

		it("orders the testdata pipeline", func() {
			data, err := os.ReadFile("testdata/demo-pipeline.yml")
			Expect(err).NotTo(HaveOccurred())
			p, err := parseDemoPipeline(data)
			Expect(err).NotTo(HaveOccurred())
			order, err := jobOrder(p.Jobs)
			Expect(err).NotTo(HaveOccurred())
			Expect(order).To(Equal([]string{"unit-tests", "task-file", "light-stemcell", "mirror-bosh", "lease", "report"}))
		})

		it("keeps of a redrawn line what was drawn last", func() {
			Expect(settled("Counting 1%\rCounting 50%\rCounting 100%, done.\nnext\r\n")).To(Equal("Counting 100%, done.\nnext\r\n"))
		})

		it("takes each job's first build", func() {
			first := firstBuilds([]flyBuild{{Name: "10", JobName: "a"}, {Name: "2", JobName: "a", Status: "succeeded"}, {Name: "9.1", JobName: "b"}})
			Expect(first["a"].Name).To(Equal("2"))
			Expect(first["b"].Name).To(Equal("9.1"))
			Expect(flyBuild{StartTime: 100, EndTime: 142}.duration()).To(Equal(42 * time.Second))
		})
	})

	context("vars", func() {
		it("gives fly the local Concourse's vars with the demo's images: the task image's and the director-env type's doubles", func() {
			dir := t.TempDir()
			d := &demoRun{dir: dir, concourse: filepath.Join(dir, "concourse")}
			Expect(os.MkdirAll(d.concourse, 0o755)).To(Succeed())
			Expect(os.WriteFile(filepath.Join(d.concourse, varsFile), []byte("registry: \"10.80.0.1:5000\"\nalicloud_region: \"cn-hangzhou\"\ntask_image: {repository: \"10.80.0.1:5000/task\", tag: latest, insecure: true}\n"), 0o644)).To(Succeed())
			path, err := d.writeVars()
			Expect(err).NotTo(HaveOccurred())
			var vars map[string]any
			data, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(yaml.Unmarshal(data, &vars)).To(Succeed())
			Expect(vars).To(HaveKeyWithValue("alicloud_region", "cn-hangzhou"))
			Expect(vars["task_image"]).To(Equal(map[string]any{"repository": "10.80.0.1:5000/task-demo", "tag": "latest", "insecure": true}))
			Expect(vars["director_env_resource_image"]).To(HaveKeyWithValue("repository", "10.80.0.1:5000/director-env-resource-e2e"))
			Expect(vars["light_stemcell_resource_image"]).To(HaveKeyWithValue("repository", "10.80.0.1:5000/light-stemcell-resource"))
		})
	})

	context("summary", func() {
		it("shows every job with status and duration, the images per region, the release and the lease, the doubles; Failed lists what did not succeed", func() {
			s := demoSummary{
				Builds: []demoBuild{
					{Pipeline: "cpi", Job: "unit-tests", Build: "1", Status: "succeeded", Duration: 41 * time.Second},
					{Pipeline: "cpi", Job: "bats", Build: "1", Status: "failed", Duration: 90 * time.Second},
					{Pipeline: "cpi", Job: "promote", Status: "not run (bats did not succeed)"},
				},
				// Two pipelines' resources on the same bucket and prefix read the same records: shown once.
				Stemcells: []demoStemcell{
					{Stemcell: "bosh-alicloud-kvm-ubuntu-noble", Version: "1.484", Channel: "published", Images: map[string]string{"eu-central-1": "m-eu", "cn-hangzhou": "m-hz"}},
					{Stemcell: "bosh-alicloud-kvm-ubuntu-noble", Version: "1.484", Channel: "published", Images: map[string]string{"eu-central-1": "m-eu", "cn-hangzhou": "m-hz"}},
				},
				Resources: []demoResourceVersions{
					{Pipeline: "cpi", Resource: "candidate", Type: "bosh-release", Versions: []demoVersion{{
						Version: map[string]string{"version": "0.1.0-rc.1"}, Metadata: [][2]string{{"version", "0.1.0-rc.1"}, {"sha256", "abc123"}}}}},
					{Pipeline: "cpi", Resource: "director", Type: "bosh-director-env", Versions: []demoVersion{
						{Version: map[string]string{"env": "bats", "revision": "1"}, Metadata: [][2]string{{"status", "leased"}, {"action", "claim"}}},
						{Version: map[string]string{"env": "bats", "revision": "2"}, Metadata: [][2]string{{"status", "released"}, {"action", "release"}}},
					}},
				},
				Elapsed: 5*time.Minute + 3*time.Second,
			}
			var out bytes.Buffer
			Expect(s.Render(&out)).To(Succeed())
			text := out.String()
			Expect(text).To(MatchRegexp(`cpi/unit-tests\s+1\s+succeeded\s+41s`))
			Expect(text).To(MatchRegexp(`cpi/bats\s+1\s+failed\s+1m30s`))
			Expect(text).To(MatchRegexp(`cpi/promote\s+-\s+not run \(bats did not succeed\)\s+-`))
			Expect(text).To(MatchRegexp(`bosh-alicloud-kvm-ubuntu-noble 1.484 \(published, 2 regions\)\n\s+cn-hangzhou\s+m-hz\n\s+eu-central-1\s+m-eu`))
			Expect(strings.Count(text, "bosh-alicloud-kvm-ubuntu-noble 1.484 (published")).To(Equal(1))
			Expect(text).To(ContainSubstring("cpi/candidate: version=0.1.0-rc.1 sha256=abc123"))
			Expect(text).To(ContainSubstring("cpi/director: env=bats revision=1 status=leased action=claim\n  cpi/director: env=bats revision=2 status=released action=release"))
			Expect(text).To(ContainSubstring("create-env, BATs, deploy and errands ran against test doubles"))
			Expect(text).To(ContainSubstring("demo FAILED in 5m3s: cpi/bats failed, cpi/promote not run (bats did not succeed)"))
			Expect(s.Failed()).To(HaveLen(2))

			s.Builds = s.Builds[:1]
			out.Reset()
			Expect(s.Render(&out)).To(Succeed())
			Expect(out.String()).To(ContainSubstring("demo passed in 5m3s: all 1 jobs succeeded"))
			Expect(s.Failed()).To(BeEmpty())
		})
	})

	context("fixtures", func() {
		it("the CPI source's unit tests pass with -mod=vendor, and its vendored ginkgo is a double that writes a passing JUnit report", func() {
			src := t.TempDir()
			Expect(writeFileMap(src, fixtures.CPISource())).To(Succeed())
			final, err := os.ReadFile(filepath.Join(src, "config", "final.yml"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(final)).To(ContainSubstring("name: bosh-alicloud-cpi\nblobstore:\n  provider: local"))
			mod := filepath.Join(src, fixtures.CPIModuleDir)
			goCmd := func(args ...string) string {
				cmd := exec.Command("go", args...)
				cmd.Dir = mod
				cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOPROXY=off")
				out, err := cmd.CombinedOutput()
				Expect(err).NotTo(HaveOccurred(), "go %v:\n%s", args, out)
				return string(out)
			}
			out := goCmd("test", "-mod=vendor", "-count=1", "./action/", "./alicloud/")
			Expect(out).To(MatchRegexp(`ok\s+bosh-alicloud-cpi/action`))
			Expect(out).To(MatchRegexp(`ok\s+bosh-alicloud-cpi/alicloud`))
			goCmd("vet", "-mod=vendor", "./...")
			ginkgo := filepath.Join(t.TempDir(), "ginkgo")
			goCmd("build", "-mod=vendor", "-o", ginkgo, "github.com/onsi/ginkgo/ginkgo")
			report := filepath.Join(t.TempDir(), "junit.xml")
			run := exec.Command(ginkgo, "-reportFile="+report, "integration")
			run.Env = append(os.Environ(), "GINKGO_DOUBLE_DIR=")
			runOut, err := run.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(runOut))
			xml, err := os.ReadFile(report)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(xml)).To(ContainSubstring(`tests="2" failures="0"`))

			// Without the vendor directory it does not build: the dependency is only vendored.
			Expect(os.RemoveAll(filepath.Join(mod, "vendor"))).To(Succeed())
			cmd := exec.Command("go", "build", "-mod=mod", "./...")
			cmd.Dir = mod
			cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOPROXY=off")
			Expect(cmd.Run()).NotTo(Succeed())
		})

		it("the heavy stemcells pass the pack's stemcell reader", func() {
			for _, s := range demoStemcells {
				data, err := fixtures.HeavyStemcellBytes(s.Line, s.Version)
				Expect(err).NotTo(HaveOccurred())
				var size int64
				heavy, err := stemcell.ReadHeavy(bytes.NewReader(data), func(_ io.Reader, n int64) error { size = n; return nil })
				Expect(err).NotTo(HaveOccurred(), s.Line)
				Expect(heavy.Manifest.Name()).To(Equal("bosh-alicloud-kvm-" + s.Line))
				Expect(heavy.Manifest.Version()).To(Equal(s.Version))
				Expect(size).To(BeNumerically(">", 0))
				again, err := fixtures.HeavyStemcellBytes(s.Line, s.Version)
				Expect(err).NotTo(HaveOccurred())
				Expect(again).To(Equal(data), "the same bytes every run")
			}
		})

		it("makes every repository bare, on master, with the fixed author and date, and releases that pass lib/release inspection", func() {
			t.Setenv("PATH", filepath.Dir(testtools.Bosh(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
			root, err := filepath.Abs("../..")
			Expect(err).NotTo(HaveOccurred())
			dir := t.TempDir()
			r := &demoRepos{ctx: t.Context(), base: filepath.Join(dir, "git"), scratch: filepath.Join(dir, "scratch"), home: filepath.Join(dir, "home"), repo: root}
			commits, err := r.makeAll()
			Expect(err).NotTo(HaveOccurred())
			Expect(sortedKeys(boolSet(commits))).To(Equal([]string{"bats", "bosh-alicloud-cpi-release", "bosh-cpi-src", "bosh-deployment", "bosh-release", "bpm-release",
				"concourse-pack", "environment-config", "heavy-stemcell-ubuntu-jammy", "heavy-stemcell-ubuntu-noble"}))
			git := func(repo string, args ...string) string {
				out, err := r.run(filepath.Join(r.base, repo+".git"), "git", args...)
				Expect(err).NotTo(HaveOccurred())
				return out
			}
			for name := range commits {
				Expect(git(name, "log", "-1", "--format=%an <%ae> %aI %cI", "master")).To(Equal(demoGitAuthor+" <"+demoGitEmail+"> 2026-01-01T00:00:00+00:00 2026-01-01T00:00:00+00:00\n"), name)
			}
			Expect(git("heavy-stemcell-ubuntu-noble", "ls-tree", "--name-only", "master")).To(Equal("stemcell.tgz\n"))
			Expect(git("bosh-deployment", "ls-tree", "-r", "--name-only", "master")).To(ContainSubstring("alicloud/cpi.yml"))
			Expect(git("bats", "ls-tree", "-r", "--name-only", "master")).To(ContainSubstring("spec/system/cck_spec.rb"))
			Expect(git("concourse-pack", "ls-tree", "--name-only", "master")).To(ContainSubstring("tasks\n"))
			Expect(git("bosh-cpi-src", "ls-tree", "-r", "--name-only", "master")).To(ContainSubstring("src/bosh-alicloud-cpi/vendor/github.com/onsi/ginkgo/ginkgo/main.go"))
			for _, rel := range demoReleases {
				Expect(git(rel.Name+"-release", "ls-tree", "--name-only", "master")).To(Equal("release.tgz\n"))
				tarball, err := release.InspectFile(t.Context(), filepath.Join(r.scratch, rel.Name+"-release", "release.tgz"))
				Expect(err).NotTo(HaveOccurred(), rel.Name)
				Expect(tarball.Manifest.Name).To(Equal(rel.Name))
				Expect(tarball.Manifest.Version).To(Equal(rel.Version))
			}
			Expect(strings.TrimSpace(git("bats", "rev-parse", "master"))).To(Equal(commits["bats"]))
		})
	})
}
