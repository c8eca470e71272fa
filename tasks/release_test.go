package tasks_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
)

// releaseRepo is a fixture release repository as a git checkout gives it to a task: testtools'
// release (job hello, package greeter depending on package lib, lib with a blob, a local final
// blobstore) committed, then cloned, so the blob itself is not in the checkout.
type releaseRepo struct {
	checkout string // the bosh-cpi-src input
	blobs    string // the blobs input: the blob file
	home     string
}

func newReleaseRepo(t testing.TB, env taskEnv) releaseRepo {
	base := t.TempDir()
	rel := testtools.NewRelease(t, filepath.Join(base, "origin"), "fixture-cpi", "v1")
	gitEnv := append(env.env(rel.Home), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.test", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.test")
	writeFiles(t, rel.Dir, map[string]string{
		"src/bosh-alicloud-cpi/release": "0.0.0\n",
		// What `bosh init-release --git` ignores, and the fixture's final blobstore.
		".gitignore": "config/private.yml\nblobs\ndev_releases\n.blobs\n.dev_builds\nreleases/*.tgz\nreleases/**/*.tgz\n.final-blobstore\n",
	})
	run(t, gitEnv, rel.Dir, "git", "init", "-q", "-b", "main")
	run(t, gitEnv, rel.Dir, "git", "add", "-A")
	run(t, gitEnv, rel.Dir, "git", "commit", "-q", "-m", "fixture")
	checkout := filepath.Join(base, "bosh-cpi-src")
	run(t, gitEnv, base, "git", "clone", "-q", rel.Dir, checkout)
	NewWithT(t).Expect(filepath.Join(checkout, "blobs")).NotTo(BeADirectory())
	blobs := filepath.Join(base, "blobs")
	NewWithT(t).Expect(os.MkdirAll(blobs, 0o755)).To(Succeed())
	NewWithT(t).Expect(os.Rename(filepath.Join(base, "origin-blob.bin"), filepath.Join(blobs, "lib-data.bin"))).To(Succeed())
	return releaseRepo{checkout: checkout, blobs: blobs, home: rel.Home}
}

func writeNumber(t testing.TB, number string) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"number": number + "\n"})
	return dir
}

func sha256File(t testing.TB, path string) string {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// member returns the files of the archive member (such as "packages/lib.tgz", itself a gzipped
// tar) of a release tarball, by name.
func member(t testing.TB, tgz, name string) map[string]string {
	inner := untar(t, readFile(t, tgz))[name]
	NewWithT(t).Expect(inner).NotTo(BeEmpty(), name+" in "+tgz)
	return untar(t, []byte(inner))
}

func untar(t testing.TB, data []byte) map[string]string {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		body, err := io.ReadAll(tr)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(h.Name, "./")] = string(body)
		}
	}
}

func readFile(t testing.TB, path string) []byte {
	data, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return data
}

func testBuildAndPromote(t *testing.T, context spec.G, it spec.S, env taskEnv) {
	var Expect = NewWithT(t).Expect
	var repo releaseRepo

	it.Before(func() {
		repo = newReleaseRepo(t, env)
	})

	buildCandidate := func(version string, args ...string) (result, string) {
		candidate := t.TempDir()
		r := env.execute(t, repo.home, "build-candidate", append([]string{"-i", "bosh-cpi-src=" + repo.checkout,
			"-i", "version=" + writeNumber(t, version), "-o", "candidate=" + candidate}, args...)...)
		return r, candidate
	}

	it("builds the candidate tarball with its blob, and its sha256, leaving the source alone", func() {
		r, candidate := buildCandidate("1.2.0-rc.1", "-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin")
		Expect(r.code).To(Equal(0), r.stderr+r.stdout)
		tgz := filepath.Join(candidate, "fixture-cpi-1.2.0-rc.1.tgz")
		tarball, err := release.InspectFile(t.Context(), tgz)
		Expect(err).NotTo(HaveOccurred())
		Expect(tarball.Manifest.Name).To(Equal("fixture-cpi"))
		Expect(tarball.Manifest.Version).To(Equal("1.2.0-rc.1"))
		var jobs, packages []string
		for _, j := range tarball.Manifest.Jobs {
			jobs = append(jobs, j.Name)
		}
		deps := map[string][]string{}
		for _, p := range tarball.Manifest.Packages {
			packages = append(packages, p.Name)
			deps[p.Name] = p.Dependencies
		}
		Expect(jobs).To(ConsistOf("hello"))
		Expect(packages).To(ConsistOf("greeter", "lib"))
		Expect(deps["greeter"]).To(ConsistOf("lib"))
		Expect(member(t, tgz, "packages/lib.tgz")).To(HaveKeyWithValue("lib/data.bin", strings.Repeat("blob data ", 1000)))
		sum, err := os.ReadFile(tgz + ".sha256")
		Expect(err).NotTo(HaveOccurred())
		Expect(string(sum)).To(Equal(sha256File(t, tgz) + "  fixture-cpi-1.2.0-rc.1.tgz\n"))
		Expect(tarball.SHA256).To(Equal(sha256File(t, tgz)))
		entries, err := os.ReadDir(candidate)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(2))
		Expect(os.ReadFile(filepath.Join(repo.checkout, "src/bosh-alicloud-cpi/release"))).To(Equal([]byte("0.0.0\n")))
	})

	it("writes the version into VERSION_FILE_IN_SOURCE before create-release", func() {
		// The version file is a file of package greeter here, so the tarball shows what it held.
		writeFiles(t, repo.checkout, map[string]string{"src/greeter/VERSION": "unset\n"})
		r, candidate := buildCandidate("1.2.0-rc.2", "-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin", "-p", "VERSION_FILE_IN_SOURCE=src/greeter/VERSION")
		Expect(r.code).To(Equal(0), r.stderr+r.stdout)
		Expect(member(t, filepath.Join(candidate, "fixture-cpi-1.2.0-rc.2.tgz"), "packages/greeter.tgz")).To(HaveKeyWithValue("greeter/VERSION", "1.2.0-rc.2\n"))
	})

	it("leaves candidate empty when create-release fails", func() {
		writeFiles(t, repo.checkout, map[string]string{"packages/greeter/spec": "---\nname: greeter\ndependencies: [lib]\nfiles: [nowhere/**/*]\n"})
		r, candidate := buildCandidate("1.2.0-rc.3", "-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin")
		Expect(r.code).NotTo(Equal(0), r.stdout+r.stderr)
		Expect(os.ReadDir(candidate)).To(BeEmpty())
	})

	it("refuses a blobs file BLOBS does not map, by name", func() {
		writeFiles(t, repo.blobs, map[string]string{"stray.tgz": "x"})
		r, candidate := buildCandidate("1.2.0-rc.4", "-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("blobs input has stray.tgz, which BLOBS does not map"))
		Expect(os.ReadDir(candidate)).To(BeEmpty())
	})

	it("promotes a candidate: the final release committed in the repo, version, tag and the final tarball", func() {
		r, candidate := buildCandidate("1.2.0-rc.1", "-i", "blobs="+repo.blobs, "-p", "BLOBS=lib-data.bin=lib/data.bin")
		Expect(r.code).To(Equal(0), r.stderr+r.stdout)
		// A bosh-release get names the tarball release.tgz.
		Expect(os.Rename(filepath.Join(candidate, "fixture-cpi-1.2.0-rc.1.tgz"), filepath.Join(candidate, "release.tgz"))).To(Succeed())
		Expect(os.Remove(filepath.Join(candidate, "fixture-cpi-1.2.0-rc.1.tgz.sha256"))).To(Succeed())

		promoted := t.TempDir()
		r = env.execute(t, repo.home, "promote", "-i", "bosh-cpi-src="+repo.checkout, "-i", "candidate="+candidate,
			"-i", "release-version="+writeNumber(t, "1.2.0"), "-o", "promoted="+promoted,
			"-p", "GIT_AUTHOR_NAME=Release Bot", "-p", "GIT_AUTHOR_EMAIL=release@example.test")
		Expect(r.code).To(Equal(0), r.stderr+r.stdout)

		finalRepo := filepath.Join(promoted, "repo")
		Expect(filepath.Join(finalRepo, "releases", "fixture-cpi", "fixture-cpi-1.2.0.yml")).To(BeARegularFile())
		Expect(filepath.Join(finalRepo, ".final_builds", "packages", "lib", "index.yml")).To(BeARegularFile())
		Expect(filepath.Join(finalRepo, ".final_builds", "jobs", "hello", "index.yml")).To(BeARegularFile())
		Expect(os.ReadFile(filepath.Join(finalRepo, "CHANGELOG.md"))).To(HavePrefix("## 1.2.0\n"))
		gitEnv := env.env(repo.home)
		Expect(run(t, gitEnv, finalRepo, "git", "log", "-1", "--format=%an <%ae>|%cn|%s")).To(Equal("Release Bot <release@example.test>|Release Bot|Final release fixture-cpi 1.2.0\n"))
		Expect(run(t, gitEnv, finalRepo, "git", "status", "--porcelain")).To(BeEmpty())
		files := run(t, gitEnv, finalRepo, "git", "show", "--name-only", "--format=", "HEAD")
		Expect(files).To(ContainSubstring("releases/fixture-cpi/fixture-cpi-1.2.0.yml"))
		Expect(files).To(ContainSubstring(".final_builds/packages/lib/index.yml"))
		Expect(files).To(ContainSubstring("CHANGELOG.md"))
		Expect(os.ReadFile(filepath.Join(promoted, "version"))).To(Equal([]byte("1.2.0\n")))
		Expect(os.ReadFile(filepath.Join(promoted, "tag"))).To(Equal([]byte("v1.2.0\n")))

		final, err := release.InspectFile(t.Context(), filepath.Join(promoted, "fixture-cpi-1.2.0.tgz"))
		Expect(err).NotTo(HaveOccurred())
		Expect(final.Manifest.Name).To(Equal("fixture-cpi"))
		Expect(final.Manifest.Version).To(Equal("1.2.0"))
		Expect(final.Manifest.Packages).To(HaveLen(2))

		Expect(filepath.Join(repo.checkout, "releases")).NotTo(BeADirectory()) // the input is the caller's
		Expect(strings.TrimSpace(run(t, gitEnv, repo.checkout, "git", "rev-list", "--count", "HEAD"))).To(Equal("1"))
	})

	it("leaves promoted empty when finalize-release fails, never printing the private.yml", func() {
		bad := t.TempDir()
		writeFiles(t, bad, map[string]string{"release.tgz": "not a tarball"})
		promoted := t.TempDir()
		secret := "blobstore-secret-Zx9QkE2"
		r := env.execute(t, repo.home, "promote", "-i", "bosh-cpi-src="+repo.checkout, "-i", "candidate="+bad,
			"-i", "release-version="+writeNumber(t, "1.2.0"), "-o", "promoted="+promoted,
			"-p", "PRIVATE_YML=blobstore: {options: {secret_key: "+secret+"}}")
		Expect(r.code).NotTo(Equal(0))
		Expect(os.ReadDir(promoted)).To(BeEmpty())
		Expect(r.stdout + r.stderr).NotTo(ContainSubstring(secret))
	})
}
