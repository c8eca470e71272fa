package images_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// providerZip is the name terraform's packed filesystem mirror layout wants.
const providerZip = "terraform-provider-alicloud_1.240.0_linux_amd64.zip"

func testTaskImage(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	var (
		s               image.Spec
		rootfs          image.Rootfs
		goDir, tf, prov string
		cache           string
		log             *bytes.Buffer
	)
	it.Before(func() {
		var err error
		s, err = image.ReadSpec("task/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		rootfs = fakeRootfs(t)
		cache = t.TempDir()
		log = &bytes.Buffer{}

		// A Go tree shaped like /usr/local/go, a terraform that answers `version` as the real one
		// does, and a provider zip under the mirror's file name.
		goDir = filepath.Join(t.TempDir(), "go")
		Expect(os.MkdirAll(filepath.Join(goDir, "bin"), 0o755)).To(Succeed())
		Expect(os.MkdirAll(filepath.Join(goDir, "src", "fmt"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.26.8\ntime 2026-11-04T00:00:00Z\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "bin", "go"), []byte("#!/bin/sh\necho fake go\n"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "src", "fmt", "print.go"), []byte("package fmt\n"), 0o644)).To(Succeed())
		Expect(os.Symlink("bin/go", filepath.Join(goDir, "go-link"))).To(Succeed())
		tf = filepath.Join(t.TempDir(), "terraform")
		Expect(os.WriteFile(tf, []byte("#!/bin/sh\necho Terraform v1.11.4\necho on linux_amd64\n"), 0o755)).To(Succeed())
		prov = filepath.Join(t.TempDir(), providerZip)
		Expect(os.WriteFile(prov, []byte("PK fake zip"), 0o600)).To(Succeed())
	})

	build := func(paths map[string]string) (image.Result, error) {
		in, err := image.EnsureInputs(context.Background(), s, paths, cache, stored, log)
		if err != nil {
			return image.Result{}, err
		}
		return image.Build(s, rootfs, in, "..", t.TempDir(), stored)
	}

	it("holds the inputs byte for byte under their paths, records their versions and cpi-ci and bosh from bin/", func() {
		res, err := build(map[string]string{"go": goDir, "terraform": tf, "alicloud-provider": prov})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.InputsCached).To(BeFalse())

		img, cleanup, err := image.ReadArchive(res.Tarball)
		Expect(err).NotTo(HaveOccurred())
		defer cleanup()
		layers, err := img.Layers()
		Expect(err).NotTo(HaveOccurred())
		Expect(layers).To(HaveLen(3), "rootfs, inputs, the pack's files")
		rc := mutate.Extract(img)
		files, links := readTar(t, rc)
		Expect(rc.Close()).To(Succeed())

		Expect(files).To(HaveKeyWithValue("usr/local/go/VERSION", sha256File(t, filepath.Join(goDir, "VERSION"))))
		Expect(files).To(HaveKeyWithValue("usr/local/go/bin/go", sha256File(t, filepath.Join(goDir, "bin", "go"))))
		Expect(files).To(HaveKeyWithValue("usr/local/go/src/fmt/print.go", sha256File(t, filepath.Join(goDir, "src", "fmt", "print.go"))))
		Expect(links).To(HaveKeyWithValue("usr/local/go/go-link", "bin/go"))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/terraform", sha256File(t, tf)))
		Expect(files).To(HaveKeyWithValue("usr/local/share/terraform/plugins/registry.terraform.io/aliyun/alicloud/"+providerZip, sha256File(t, prov)))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/cpi-ci", sha256File(t, "../bin/cpi-ci")))
		Expect(files).To(HaveKeyWithValue("usr/local/bin/bosh", sha256File(t, "../bin/bosh")))
		Expect(files).To(HaveKey("etc/os-release"))
		Expect(files).To(HaveKey(strings.TrimPrefix(image.InputsRecord, "/")))

		Expect(res.Inputs).To(HaveLen(3))
		Expect(res.Inputs[0].String()).To(Equal("go 1.26.8 from " + goDir + " sha256:" + res.Inputs[0].SHA256))
		Expect(res.Inputs[1].String()).To(Equal("terraform 1.11.4 from " + tf + " sha256:" + sha256File(t, tf)))
		Expect(res.Inputs[2].Version).To(Equal("1.240.0"))

		cf, err := img.ConfigFile()
		Expect(err).NotTo(HaveOccurred())
		Expect(cf.Config.Env).To(ContainElements(HavePrefix("PATH=/usr/local/go/bin:"), "GOTOOLCHAIN=local"))
	})

	it("reuses the inputs layer while the inputs are the same, and makes it again when one changes", func() {
		paths := map[string]string{"go": goDir, "terraform": tf}
		a, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		b, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.InputsCached).To(BeFalse())
		Expect(b.InputsCached).To(BeTrue())
		Expect(b.Digest).To(Equal(a.Digest))

		Expect(os.WriteFile(filepath.Join(goDir, "src", "fmt", "print.go"), []byte("package fmx\n"), 0o644)).To(Succeed())
		c, err := build(paths)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.InputsCached).To(BeFalse())
		Expect(c.Digest).NotTo(Equal(a.Digest))
		Expect(c.Inputs[0].SHA256).NotTo(Equal(a.Inputs[0].SHA256))
	})

	it("leaves out the optional provider when it is not given, and says so", func() {
		res, err := build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).NotTo(HaveOccurred())
		Expect(log.String()).To(ContainSubstring("input alicloud-provider: not given (--input alicloud-provider=PATH): left out of image task"))
		Expect(res.Inputs[2].String()).To(Equal("alicloud-provider absent (optional, left out)"))
		img, cleanup, err := image.ReadArchive(res.Tarball)
		Expect(err).NotTo(HaveOccurred())
		defer cleanup()
		rc := mutate.Extract(img)
		files, _ := readTar(t, rc)
		Expect(rc.Close()).To(Succeed())
		for p := range files {
			Expect(p).NotTo(HavePrefix("usr/local/share/terraform"))
		}
	})

	it("refuses a Go older than the CPI needs, a missing required input, a badly named provider and an unknown input, naming each", func() {
		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.26.0\n"), 0o644)).To(Succeed())
		_, err := build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).To(MatchError(ContainSubstring("input go: " + goDir + " is version 1.26.0, image task needs 1.26.1 or newer")))

		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.27.0\n"), 0o644)).To(Succeed())
		_, err = build(map[string]string{"go": goDir, "terraform": tf})
		Expect(err).NotTo(HaveOccurred(), "1.27.0 is newer than 1.26.1")

		_, err = build(map[string]string{"go": goDir, "terraform": filepath.Join(t.TempDir(), "terraform")})
		Expect(err).To(MatchError(ContainSubstring("input terraform: ")))
		Expect(err).To(MatchError(ContainSubstring("not found on this machine (give it with --input terraform=PATH)")))

		bad := filepath.Join(t.TempDir(), "alicloud.zip")
		Expect(os.WriteFile(bad, []byte("PK"), 0o644)).To(Succeed())
		_, err = build(map[string]string{"go": goDir, "terraform": tf, "alicloud-provider": bad})
		Expect(err).To(MatchError(ContainSubstring("input alicloud-provider: no version in the name alicloud.zip")))

		_, err = build(map[string]string{"go": goDir, "terraform": tf, "gcc": "/usr/bin/gcc"})
		Expect(err).To(MatchError("--input gcc: image task has no such input"))
	})

	it("renders a Dockerfile that fetches each input by version and SHA-256 build arguments", func() {
		d := s.Dockerfile()
		for _, arg := range []string{"GO", "TERRAFORM", "ALICLOUD_PROVIDER"} {
			Expect(d).To(ContainSubstring("ARG " + arg + "_VERSION\nARG " + arg + "_SHA256\n"))
			Expect(d).To(ContainSubstring(`echo "$` + arg + `_SHA256  /tmp/download" | sha256sum -c -`))
		}
		Expect(d).To(ContainSubstring(`url="https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz"`))
		Expect(d).To(ContainSubstring("tar -xzf /tmp/download -C /fetch/usr/local/go --strip-components=1"))
		Expect(d).To(ContainSubstring(`dpkg --compare-versions "$GO_VERSION" ge 1.26.1`))
		Expect(d).To(ContainSubstring("unzip -p /tmp/download terraform > /fetch/usr/local/bin/terraform"))
		Expect(d).To(ContainSubstring(`build arguments TERRAFORM_VERSION and TERRAFORM_SHA256 are required`))
		Expect(d).To(ContainSubstring(`if [ -n "${ALICLOUD_PROVIDER_VERSION:-}" ] && [ -n "${ALICLOUD_PROVIDER_SHA256:-}" ]; then`))
		Expect(d).To(ContainSubstring("alicloud-provider absent (optional, left out)"))
		Expect(d).To(ContainSubstring("COPY --from=fetch /fetch/ /\n"))
		Expect(d).To(ContainSubstring("apt-get install -y --no-install-recommends bash bundler ca-certificates gcc git jq libc6-dev make ruby"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/cpi-ci /usr/local/bin/cpi-ci\n"))
		Expect(d).To(ContainSubstring("COPY --from=build --chmod=0755 /src/bin/bosh /usr/local/bin/bosh\n"))
	})

	it("renders RUN lines that sh parses, in every Dockerfile", func() {
		for _, f := range specFiles(t) {
			spec, err := image.ReadSpec(f)
			Expect(err).NotTo(HaveOccurred())
			joined := strings.ReplaceAll(spec.Dockerfile(), "\\\n", "")
			for _, line := range strings.Split(joined, "\n") {
				script, ok := strings.CutPrefix(line, "RUN ")
				if !ok {
					continue
				}
				out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput()
				Expect(err).NotTo(HaveOccurred(), "%s: %s\n%s", f, script, out)
			}
		}
	})

	it("fetches, checks and lays out every input when its stage runs, a stand-in curl serving the releases", func() {
		dir := t.TempDir()
		releases := filepath.Join(dir, "releases")
		Expect(os.MkdirAll(releases, 0o755)).To(Succeed())
		sums := map[string]string{
			"GO":                writeTarGz(t, filepath.Join(releases, "go1.26.8.linux-amd64.tar.gz"), map[string]string{"go/VERSION": "go1.26.8\n", "go/bin/go": "fake go\n"}),
			"TERRAFORM":         writeZip(t, filepath.Join(releases, "terraform_1.11.4_linux_amd64.zip"), map[string]string{"terraform": "fake terraform\n", "LICENSE.txt": "MPL\n"}),
			"ALICLOUD_PROVIDER": writeFile(t, filepath.Join(releases, providerZip), "PK fake provider"),
		}
		bin := filepath.Join(dir, "bin")
		Expect(os.MkdirAll(bin, 0o755)).To(Succeed())
		// curl -fsSL -o FILE URL: the release of that name, or a 404.
		Expect(os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/bin/sh\nset -eu\nout=$3; url=$4\necho \"$url\" >> "+dir+"/urls\ncp \""+releases+"/$(basename \"$url\")\" \"$out\"\n"), 0o755)).To(Succeed())
		stage := fetchStage(t, s.Dockerfile(), dir)
		env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GO_VERSION=1.26.8", "TERRAFORM_VERSION=1.11.4", "ALICLOUD_PROVIDER_VERSION=1.240.0")
		for k, v := range sums {
			env = append(env, k+"_SHA256="+v)
		}
		run := func(env []string) (string, error) {
			Expect(os.RemoveAll(filepath.Join(dir, "fetch"))).To(Succeed())
			var out bytes.Buffer
			for _, script := range stage {
				cmd := exec.Command("sh", "-c", script)
				cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
				if err := cmd.Run(); err != nil {
					return out.String(), err
				}
			}
			return out.String(), nil
		}

		out, err := run(env)
		Expect(err).NotTo(HaveOccurred(), out)
		fetched := filepath.Join(dir, "fetch")
		Expect(os.ReadFile(filepath.Join(fetched, "usr/local/go/VERSION"))).To(Equal([]byte("go1.26.8\n")))
		Expect(os.ReadFile(filepath.Join(fetched, "usr/local/go/bin/go"))).To(Equal([]byte("fake go\n")))
		Expect(os.ReadFile(filepath.Join(fetched, "usr/local/bin/terraform"))).To(Equal([]byte("fake terraform\n")))
		info, err := os.Stat(filepath.Join(fetched, "usr/local/bin/terraform"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o755)))
		Expect(filepath.Join(fetched, "usr/local/bin/LICENSE.txt")).NotTo(BeAnExistingFile())
		Expect(os.ReadFile(filepath.Join(fetched, "usr/local/share/terraform/plugins/registry.terraform.io/aliyun/alicloud", providerZip))).To(Equal([]byte("PK fake provider")))
		urls, err := os.ReadFile(filepath.Join(dir, "urls"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(urls)).To(Equal("https://go.dev/dl/go1.26.8.linux-amd64.tar.gz\n" +
			"https://releases.hashicorp.com/terraform/1.11.4/terraform_1.11.4_linux_amd64.zip\n" +
			"https://github.com/aliyun/terraform-provider-alicloud/releases/download/v1.240.0/" + providerZip + "\n"))
		record, err := os.ReadFile(filepath.Join(fetched, strings.TrimPrefix(image.InputsRecord, "/")))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(record)).To(Equal("go 1.26.8 from https://go.dev/dl/go1.26.8.linux-amd64.tar.gz sha256:" + sums["GO"] + "\n" +
			"terraform 1.11.4 from https://releases.hashicorp.com/terraform/1.11.4/terraform_1.11.4_linux_amd64.zip sha256:" + sums["TERRAFORM"] + "\n" +
			"alicloud-provider 1.240.0 from https://github.com/aliyun/terraform-provider-alicloud/releases/download/v1.240.0/" + providerZip + " sha256:" + sums["ALICLOUD_PROVIDER"] + "\n"))

		// Without the provider's arguments it is left out, saying so.
		var noProvider []string
		for _, e := range env {
			if !strings.HasPrefix(e, "ALICLOUD_PROVIDER_") {
				noProvider = append(noProvider, e)
			}
		}
		out, err = run(noProvider)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("alicloud-provider: no ALICLOUD_PROVIDER_VERSION given, left out"))
		Expect(filepath.Join(fetched, "usr/local/share/terraform")).NotTo(BeAnExistingFile())
		record, err = os.ReadFile(filepath.Join(fetched, strings.TrimPrefix(image.InputsRecord, "/")))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(record)).To(HaveSuffix("alicloud-provider absent (optional, left out)\n"))

		// A wrong SHA-256, an old Go, a missing argument: the stage fails.
		out, err = run(append(append([]string(nil), env...), "TERRAFORM_SHA256="+strings.Repeat("0", 64)))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("FAILED"))
		out, err = run(append(append([]string(nil), env...), "GO_VERSION=1.26.0"))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("go 1.26.0: 1.26.1 or newer needed"))
		out, err = run(append(append([]string(nil), env...), "GO_SHA256="))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("build arguments GO_VERSION and GO_SHA256 are required"))
	})

	it("refuses inputs described wrong, naming each", func() {
		bad := s
		bad.Inputs = []image.Input{{Name: "Go", From: "usr/local/go", To: "usr/local/go", MinVersion: "one", Version: image.Probe{File: "VERSION", Run: []string{"version"}, Match: "go"}, Fetch: image.Fetch{URL: "http://x/go.tgz", Unpack: "rar"}}}
		err := bad.Validate()
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"inputs[0].name", "inputs[0].from", "inputs[0].to", "inputs[0].min_version", "file and run both given", "inputs[0].version.match", "inputs[0].fetch.url", "inputs[0].fetch.unpack"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})
}

// fetchStage returns the RUN scripts of a Dockerfile's fetch stage with /fetch and /tmp/download
// moved under dir, and its first RUN (the stage's own apt-get) replaced by what it makes.
func fetchStage(t *testing.T, dockerfile, dir string) []string {
	t.Helper()
	_, stage, ok := strings.Cut(dockerfile, " AS fetch\n")
	if !ok {
		t.Fatal("no fetch stage")
	}
	stage, _, _ = strings.Cut(stage, "\nFROM ")
	var scripts []string
	for _, line := range strings.Split(strings.ReplaceAll(stage, "\\\n", ""), "\n") {
		script, ok := strings.CutPrefix(line, "RUN ")
		if !ok {
			continue
		}
		if strings.Contains(script, "apt-get install") {
			if !strings.Contains(script, "curl unzip") {
				t.Fatalf("the fetch stage installs no curl and unzip: %s", script)
			}
			script = "mkdir -p /fetch/usr/share/concourse-pack && : > /fetch/usr/share/concourse-pack/inputs.txt"
		}
		script = strings.ReplaceAll(script, "/tmp/download", dir+"/download")
		script = strings.ReplaceAll(script, "/fetch", dir+"/fetch")
		scripts = append(scripts, script)
	}
	return scripts
}

func writeFile(t *testing.T, file, body string) string {
	t.Helper()
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return sha256File(t, file)
}

func writeTarGz(t *testing.T, file string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(files[name]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, file, buf.String())
}

func writeZip(t *testing.T, file string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, file, buf.String())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// testTaskDemoImage checks the demo variant: the task image plus one layer of doubles, which the
// task image never holds.
func testTaskDemoImage(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("is the task image plus one layer holding the doubles, first on PATH; the task image holds none of them", func() {
		task, err := image.ReadSpec("task/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		demo, err := image.ReadSpec("task-demo/demo.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(demo.Name).To(Equal("task-demo"))
		Expect(demo.Packages).To(Equal(task.Packages))
		Expect(demo.Inputs).To(Equal(task.Inputs))
		Expect(demo.Files).To(Equal(task.Files))
		Expect(demo.Env).To(ContainElement(HavePrefix("PATH=/usr/local/doubles:")))
		Expect(demo.Env).To(ContainElement("GOTOOLCHAIN=local"), "the task image's other variables stay")
		Expect(demo.Env).NotTo(ContainElement(task.Env[0]), "the parent's PATH is replaced")
		matches, _ := filepath.Glob("*/image.yaml")
		Expect(matches).NotTo(ContainElement(ContainSubstring("demo")), "make images and make dockerfiles take */image.yaml only")

		// A repository with what the specs take from it: bin/ of this one, the double built afresh.
		repo := t.TempDir()
		var from []string
		for _, f := range append(append([]image.File(nil), task.Files...), demo.Layer...) {
			if f.From != "bin/e2e/directordouble" {
				from = append(from, f.From)
			}
		}
		for _, f := range from {
			Expect(os.MkdirAll(filepath.Join(repo, filepath.Dir(f)), 0o755)).To(Succeed())
			abs, err := filepath.Abs(filepath.Join("..", f))
			Expect(err).NotTo(HaveOccurred())
			Expect(os.Symlink(abs, filepath.Join(repo, f))).To(Succeed())
		}
		double := filepath.Join(repo, "bin", "e2e", "directordouble")
		out, err := exec.Command("go", "build", "-o", double, "../internal/directordouble").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		rootfs := fakeRootfs(t)
		goDir := filepath.Join(t.TempDir(), "go")
		Expect(os.MkdirAll(filepath.Join(goDir, "bin"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(goDir, "VERSION"), []byte("go1.26.8\n"), 0o644)).To(Succeed())
		tf := filepath.Join(t.TempDir(), "terraform")
		Expect(os.WriteFile(tf, []byte("#!/bin/sh\necho Terraform v1.11.4\n"), 0o755)).To(Succeed())
		cache := t.TempDir()
		contents := func(s image.Spec) (map[string]string, int) {
			in, err := image.EnsureInputs(context.Background(), s, map[string]string{"go": goDir, "terraform": tf}, cache, stored, &bytes.Buffer{})
			Expect(err).NotTo(HaveOccurred())
			res, err := image.Build(s, rootfs, in, repo, t.TempDir(), stored)
			Expect(err).NotTo(HaveOccurred())
			img, cleanup, err := image.ReadArchive(res.Tarball)
			Expect(err).NotTo(HaveOccurred())
			defer cleanup()
			layers, err := img.Layers()
			Expect(err).NotTo(HaveOccurred())
			rc := mutate.Extract(img)
			files, _ := readTar(t, rc)
			Expect(rc.Close()).To(Succeed())
			return files, len(layers)
		}
		taskFiles, taskLayers := contents(task)
		demoFiles, demoLayers := contents(demo)
		Expect(demoLayers).To(Equal(taskLayers + 1))
		Expect(demoFiles).To(HaveKeyWithValue("usr/local/doubles/bosh", sha256File(t, double)))
		Expect(demoFiles).To(HaveKeyWithValue("usr/local/doubles/bundle", sha256File(t, "task-demo/doubles/bundle")))
		Expect(demoFiles).To(HaveKeyWithValue("usr/local/bin/bosh", sha256File(t, "../bin/bosh")), "the real bosh CLI stays")
		for p, sum := range taskFiles {
			Expect(p).NotTo(HavePrefix("usr/local/doubles"))
			Expect(sum).NotTo(Equal(sha256File(t, double)))
			Expect(demoFiles).To(HaveKeyWithValue(p, sum), "the demo image holds the task image's files")
		}
	})
}
