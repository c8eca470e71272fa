package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// The resource is tested as Concourse runs it: the real binary, JSON on stdin, against the
// emulator, on tarballs the real bosh CLI made.
func TestBoshReleaseResource(t *testing.T) {
	binary := conformance.Compile(t, ".")
	fixtures := newFixtures(t)
	suite := spec.New("bosh-release resource", spec.Report(report.Terminal{}))
	suite("publish and fetch", func(t *testing.T, when spec.G, it spec.S) { testPublish(t, when, it, binary, fixtures) })
	suite("check", func(t *testing.T, when spec.G, it spec.S) { testCheck(t, when, it, binary, fixtures) })
	suite("refusals", func(t *testing.T, when spec.G, it spec.S) { testRefusals(t, when, it, binary, fixtures) })
	suite("lost tarballs", func(t *testing.T, when spec.G, it spec.S) { testLostTarball(t, when, it, binary, fixtures) })
	suite("BOSH-equal spellings", func(t *testing.T, when spec.G, it spec.S) { testSpelling(t, when, it, binary, fixtures) })
	suite("leftover uploads", func(t *testing.T, when spec.G, it spec.S) { testLeftovers(t, when, it, binary, fixtures) })
	suite("hostile input", func(t *testing.T, when spec.G, it spec.S) { testInput(t, when, it, binary, fixtures) })
	suite("huge values", func(t *testing.T, when spec.G, it spec.S) { testHugeValues(t, when, it, binary) })
	suite("version numbers", func(t *testing.T, when spec.G, it spec.S) { testNextVersions(t, when, it, binary, fixtures) })
	suite.Run(t)
}

// fixtures are release tarballs made once by the real bosh CLI.
type fixtures struct {
	tarballs map[string]string // version → tarball of "cpi"
	other    string            // 61.0.0 of "cpi" with other content
	wrong    string            // 1.0.0 of release "not-cpi"
}

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	root := t.TempDir()
	f := &fixtures{tarballs: map[string]string{}}
	cpi := testtools.NewRelease(t, filepath.Join(root, "cpi-release"), "cpi", "v1")
	for _, v := range []string{"60.0.0", "61.0.0", "61.0.1-rc.3", "61.0.1", "61.0.1+dev.1", "62.0.0", "1.0", "1.0.0", "1.0.0.0"} {
		f.tarballs[v] = cpi.Tarball(t, filepath.Join(root, "cpi-"+v+".tgz"), "--version", v)
	}
	other := testtools.NewRelease(t, filepath.Join(root, "cpi-other"), "cpi", "v2")
	f.other = other.Tarball(t, filepath.Join(root, "other", "cpi-61.0.0.tgz"), "--version", "61.0.0")
	wrong := testtools.NewRelease(t, filepath.Join(root, "not-cpi"), "not-cpi", "v1")
	f.wrong = wrong.Tarball(t, filepath.Join(root, "not-cpi-1.0.0.tgz"), "--version", "1.0.0")
	return f
}

type step struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, binary, verb string, request any, dir string) step {
	t.Helper()
	body, _ := json.Marshal(request) // maps of strings, numbers and lists always encode
	args := []string{verb}
	if dir != "" {
		args = append(args, dir)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(body)
	// As in the image: bosh on PATH; and a HOME of its own, so bosh never touches the developer's.
	path := filepath.Dir(testtools.Bosh(t)) + string(os.PathListSeparator) + os.Getenv("PATH")
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "BUILD_PIPELINE_NAME=cpi", "BUILD_JOB_NAME=publish", "BUILD_NAME=7",
		"PATH="+path, "HOME="+testtools.Home(t))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	s := step{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		s.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return s
}

// put publishes a tarball through out, from a build directory holding a copy of it.
func put(t *testing.T, binary string, source map[string]any, tarball string) step {
	t.Helper()
	build := t.TempDir()
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, filepath.Base(tarball)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return run(t, binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "*.tgz"}}, build)
}

func withKey(source map[string]any, key string, value any) map[string]any {
	out := map[string]any{key: value}
	for k, v := range source {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func testPublish(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		source map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})

	it("publishes a tarball, then checks and fetches it with its digests", func() {
		published := put(t, binary, source, f.tarballs["61.0.0"])
		Expect(published.code).To(Equal(0), published.stderr)
		var response concourse.Response
		Expect(json.Unmarshal([]byte(published.stdout), &response)).To(Succeed())
		Expect(response.Version).To(Equal(concourse.Version{"version": "61.0.0"}))
		Expect(response.Metadata).To(ContainElement(concourse.MetadataField{Name: "jobs", Value: "1"}))
		Expect(published.stderr).To(ContainSubstring("published cpi 61.0.0"))

		checked := run(t, binary, "check", map[string]any{"source": source}, "")
		Expect(checked.stdout).To(MatchJSON(`[{"version":"61.0.0"}]`))

		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		for _, name := range []string{"version", "sha1", "sha256", "url", "release.MF", "release.tgz"} {
			Expect(filepath.Join(dest, name)).To(BeARegularFile())
		}
		fetched, _ := os.ReadFile(filepath.Join(dest, "release.tgz")) // a missing file fails the assertions below
		original, _ := os.ReadFile(f.tarballs["61.0.0"])              // a missing file fails the assertions below
		Expect(fetched).To(Equal(original))
		manifest, _ := os.ReadFile(filepath.Join(dest, "release.MF")) // a missing file fails the assertions below
		Expect(string(manifest)).To(ContainSubstring("name: cpi"))
		url, _ := os.ReadFile(filepath.Join(dest, "url")) // a missing file fails the assertions below
		Expect(string(url)).To(HavePrefix(cloud.URL + "/" + cloud.Bucket + "/cpi/tarballs/61.0.0/"))
		Expect(string(url)).NotTo(ContainSubstring("Signature"))
	})

	it("keeps the published file name, or skips the tarball, when asked", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"},
			"params": map[string]any{"preserve_filename": true}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		Expect(filepath.Join(dest, "cpi-61.0.0.tgz")).To(BeARegularFile())

		dest = t.TempDir()
		got = run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"},
			"params": map[string]any{"tarball": false}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		Expect(filepath.Join(dest, "release.tgz")).NotTo(BeAnExistingFile())
		Expect(filepath.Join(dest, "release.MF")).To(BeARegularFile())
	})

	it("republishing the same content is a no-op success", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		again := put(t, binary, source, f.tarballs["61.0.0"])
		Expect(again.code).To(Equal(0), again.stderr)
		Expect(again.stderr).To(ContainSubstring("already published with the same content"))
	})

	it("creates and publishes a release from a release directory with the real bosh CLI", func() {
		build := t.TempDir()
		testtools.NewRelease(t, filepath.Join(build, "cpi-release"), "cpi", "fresh checkout")
		Expect(os.WriteFile(filepath.Join(build, "version"), []byte("63.0.0\n"), 0o644)).To(Succeed())
		published := run(t, binary, "out", map[string]any{"source": source,
			"params": map[string]any{"release_dir": "cpi-release", "version_file": "version"}}, build)
		Expect(published.code).To(Equal(0), published.stderr)
		Expect(published.stdout).To(ContainSubstring(`"version":{"version":"63.0.0"}`))
	})

	it("creates a final release with the real bosh CLI and publishes it, keeping private.yml out of the log", func() {
		build := t.TempDir()
		dir := filepath.Join(build, "cpi-release")
		testtools.NewRelease(t, dir, "cpi", "final")
		const secret = "private-yml-secret-value"
		Expect(os.WriteFile(filepath.Join(dir, "config", "private.yml"), []byte("blobstore:\n  options:\n    credentials_source: "+secret+"\n"), 0o600)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(build, "version"), []byte("64.0.0"), 0o644)).To(Succeed())
		published := run(t, binary, "out", map[string]any{"source": source,
			"params": map[string]any{"release_dir": "cpi-release", "version_file": "version", "final": true}}, build)
		Expect(published.code).To(Equal(0), published.stderr)
		Expect(published.stdout).To(ContainSubstring(`"version":{"version":"64.0.0"}`))
		Expect(published.stderr + published.stdout).NotTo(ContainSubstring(secret))
		Expect(filepath.Join(dir, "releases", "cpi", "cpi-64.0.0.yml")).To(BeARegularFile(), "bosh made a final release")

		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "64.0.0"}}, dest)
		Expect(got.code).To(Equal(0), got.stderr)
		manifest, _ := os.ReadFile(filepath.Join(dest, "release.MF")) // a missing file fails the assertions below
		Expect(string(manifest)).To(ContainSubstring("name: lib"))
	})

	it("fails in when the stored tarball no longer matches its record, leaving nothing", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		keys := cloud.Keys(t, "cpi/tarballs/")
		Expect(keys).To(HaveLen(1))
		cloud.PutObject(t, keys[0], []byte("not a release"))
		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}, dest)
		Expect(got.code).To(Equal(1))
		Expect(got.stderr).To(ContainSubstring("does not match its record"))
		entries, _ := os.ReadDir(dest) // a missing file fails the assertions below
		Expect(entries).To(BeEmpty())
	})

	it("keeps the protocol", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		conformance.Run(t, conformance.Config{
			Binary: binary, Source: source, MissingVersion: concourse.Version{"version": "99.0.0"},
			Secrets: []string{cloud.Secret},
		})
	})
}

func testCheck(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		source map[string]any
	)
	it.Before(func() {
		cloud := testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
		for _, v := range []string{"61.0.1+dev.1", "60.0.0", "62.0.0", "61.0.1-rc.3", "61.0.0", "61.0.1"} {
			Expect(put(t, binary, source, f.tarballs[v]).code).To(Equal(0))
		}
	})

	versions := func(s step) []string {
		var got []concourse.Version
		Expect(json.Unmarshal([]byte(s.stdout), &got)).To(Succeed(), s.stderr)
		var out []string
		for _, v := range got {
			out = append(out, v["version"])
		}
		return out
	}

	it("orders finals by BOSH order and leaves pre-releases out by default", func() {
		Expect(versions(run(t, binary, "check", map[string]any{"source": source}, ""))).To(Equal([]string{"62.0.0"}))
		from := run(t, binary, "check", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}, "")
		Expect(versions(from)).To(Equal([]string{"61.0.0", "61.0.1", "62.0.0"}))
	})

	it("includes rc and dev versions in BOSH order when asked", func() {
		s := withKey(source, "prereleases", true)
		from := run(t, binary, "check", map[string]any{"source": s, "version": map[string]string{"version": "61.0.0"}}, "")
		Expect(versions(from)).To(Equal([]string{"61.0.0", "61.0.1-rc.3", "61.0.1", "61.0.1+dev.1", "62.0.0"}))
	})

	it("follows a version family, saying what newer version it skips", func() {
		s := withKey(source, "version_family", "61.latest")
		checked := run(t, binary, "check", map[string]any{"source": s}, "")
		Expect(versions(checked)).To(Equal([]string{"61.0.1"}))
		Expect(checked.stderr).To(ContainSubstring("newer version 62.0.0 is published but skipped: outside version_family 61.latest"))
	})

	it("rejects a bad family by key", func() {
		checked := run(t, binary, "check", map[string]any{"source": withKey(source, "version_family", "sixty-one")}, "")
		Expect(checked.code).To(Equal(1))
		Expect(checked.stderr).To(ContainSubstring("source.version_family"))
	})
}

func testRefusals(t *testing.T, when spec.G, it spec.S, binary string, f *fixtures) {
	var (
		Expect = NewWithT(t).Expect
		cloud  *testtools.Cloud
		source map[string]any
	)
	it.Before(func() {
		cloud = testtools.NewCloud(t)
		source = withKey(cloud.Source(), "name", "cpi")
	})
	nothingPublished := func() {
		Expect(cloud.Keys(t, "")).To(BeEmpty(), "nothing is left in the bucket")
	}

	it("refuses a tarball whose job does not match its digest", func() {
		tampered := filepath.Join(t.TempDir(), "cpi-61.0.0.tgz")
		testtools.TamperMember(t, f.tarballs["61.0.0"], tampered, "jobs/hello.tgz")
		s := put(t, binary, source, tampered)
		Expect(s.code).To(Equal(1))
		Expect(s.stdout).To(BeEmpty())
		Expect(s.stderr).To(ContainSubstring("refusing to publish cpi-61.0.0.tgz"))
		Expect(s.stderr).To(MatchRegexp(`job "?hello"?`))
		nothingPublished()
	})

	it("refuses a tarball of another release", func() {
		s := put(t, binary, source, f.wrong)
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring(`it is release "not-cpi", but source.name is "cpi"`))
		nothingPublished()
	})

	it("refuses to republish a version with other content, keeping the first", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		before := cloud.Keys(t, "")
		s := put(t, binary, source, f.other)
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("already published with other content"))
		Expect(cloud.Keys(t, "")).To(Equal(before))
	})

	it("refuses params that do not say what to publish", func() {
		s := run(t, binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "*.tgz", "final": true, "fiel": "x"}}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring(`params.fiel: unknown key (did you mean "file"?)`))
		s = run(t, binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "*.tgz", "final": true}}, t.TempDir())
		Expect(s.stderr).To(ContainSubstring("params.final: goes with release_dir"))
		s = run(t, binary, "out", map[string]any{"source": source, "params": map[string]any{"file": "*.tgz"}}, t.TempDir())
		Expect(s.stderr).To(ContainSubstring(`params.file "*.tgz" matches 0 files`))
		nothingPublished()
	})

	it("fails in on a record whose version is not its key's, naming both, and writes nothing", func() {
		Expect(put(t, binary, source, f.tarballs["61.0.0"]).code).To(Equal(0))
		var record map[string]any
		Expect(json.Unmarshal(cloud.GetObject(t, "cpi/records/61.0.0.json"), &record)).To(Succeed())
		record["version"] = "99.0.0"        // a hand-edited or copied record
		tampered, _ := json.Marshal(record) // decoded JSON always encodes
		cloud.PutObject(t, "cpi/records/61.0.0.json", tampered)

		dest := t.TempDir()
		got := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "61.0.0"}}, dest)
		Expect(got.code).To(Equal(1))
		Expect(got.stderr).To(ContainSubstring("61.0.0"))
		Expect(got.stderr).To(ContainSubstring("99.0.0"))
		Expect(got.stdout).NotTo(ContainSubstring("99.0.0"), "the version emitted is never the record's other one")
		entries, _ := os.ReadDir(dest) // a missing dir fails the assertion below
		Expect(entries).To(BeEmpty())
	})

	it("fails in for a version that is not published", func() {
		s := run(t, binary, "in", map[string]any{"source": source, "version": map[string]string{"version": "1.0.0"}}, t.TempDir())
		Expect(s.code).To(Equal(1))
		Expect(s.stderr).To(ContainSubstring("release cpi version 1.0.0 is not published"))
	})
}
