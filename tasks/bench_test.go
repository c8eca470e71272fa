package tasks_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
)

// benchRounds is how many times each side runs per benchmark, alternating, so that the noise of
// the shared machine falls on both; the medians are compared.
const benchRounds = 7

// compare runs direct and task alternately and reports both medians and their ratio
// (task ÷ direct; the goal is ≤ 1.10).
// prepare, when not nil, runs untimed before each direct run.
func compare(b *testing.B, prepare, direct, task func()) {
	var ds, ts []time.Duration
	for b.Loop() {
		for range benchRounds {
			if prepare != nil {
				prepare()
			}
			start := time.Now()
			direct()
			ds = append(ds, time.Since(start))
			start = time.Now()
			task()
			ts = append(ts, time.Since(start))
		}
	}
	d, t := median(ds), median(ts)
	b.ReportMetric(d.Seconds(), "direct-s")
	b.ReportMetric(t.Seconds(), "task-s")
	b.ReportMetric(t.Seconds()/d.Seconds(), "ratio")
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// BenchmarkUnitTests compares the unit-tests task (cpi-ci execute: the input copied, go list,
// go vet, go test -json, the JUnit report) with the same go vet and go test run directly in the
// fixture module, every test run (-count=1) on a warm build cache.
func BenchmarkUnitTests(b *testing.B) {
	env := newTaskEnv(b)
	src := testtools.CPIModule(b)
	mod := filepath.Join(src, "src", "bosh-alicloud-cpi")
	home := b.TempDir()
	goEnv := append(env.env(home), "GOFLAGS=-count=1")
	pkgs := []string{"./action", "./alicloud"}
	direct := func() {
		run(b, goEnv, mod, "go", append([]string{"vet", "-mod=vendor"}, pkgs...)...)
		run(b, goEnv, mod, "go", append([]string{"test", "-mod=vendor"}, pkgs...)...)
	}
	task := func() {
		r := env.executeWithEnv(b, goEnv, "unit-tests", "-i", "bosh-cpi-src="+src, "-o", "test-reports="+b.TempDir())
		if r.code != 0 {
			b.Fatalf("unit-tests failed:\n%s", r.stderr)
		}
	}
	direct() // both sides start from a warm build cache
	task()
	compare(b, nil, direct, task)
}

// BenchmarkBuildCandidate compares the build-candidate task (the inputs copied, the blob added,
// create-release, sha256, the output copied back) with a bare `bosh create-release --force
// --tarball` in a fresh copy of the same checkout with the blob already in place (the copy is not
// timed). The blob is 32 MiB of random bytes, the size class of the Go tarball a CPI release
// carries, so create-release does the work it does for the real release.
func BenchmarkBuildCandidate(b *testing.B) {
	env := newTaskEnv(b)
	repo := newReleaseRepo(b, env)
	testtools.WriteRandomFile(b, filepath.Join(repo.blobs, "lib-data.bin"), 32<<20)
	bareEnv := env.env(repo.home)
	withBlob := func() string {
		dir := filepath.Join(b.TempDir(), "src")
		run(b, nil, "/", "cp", "-a", repo.checkout, dir)
		run(b, bareEnv, dir, "bosh", "add-blob", filepath.Join(repo.blobs, "lib-data.bin"), "lib/data.bin")
		return dir
	}
	var fresh string
	prepare := func() { fresh = withBlob() }
	direct := func() {
		run(b, bareEnv, fresh, "bosh", "create-release", "--force", "--version", "1.0.0-rc.1", "--tarball", filepath.Join(b.TempDir(), "r.tgz"))
	}
	version := b.TempDir()
	if err := os.WriteFile(filepath.Join(version, "number"), []byte("1.0.0-rc.1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	task := func() {
		r := env.execute(b, repo.home, "build-candidate", "-i", "bosh-cpi-src="+repo.checkout, "-i", "version="+version,
			"-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin", "-o", "candidate="+b.TempDir())
		if r.code != 0 {
			b.Fatalf("build-candidate failed:\n%s", r.stderr)
		}
	}
	prepare()
	direct() // both sides start with bosh's cache warm
	task()
	compare(b, prepare, direct, task)
}
