package localexec_test

import (
	"bytes"

	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/localexec"
)

const image = "image_resource: {type: registry-image, source: ((task_image))}\n"

var taskImage = localexec.Vars{YAMLPairs: []string{"task_image={repository: example.test/task, tag: latest}"}}

func testConfig(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	parse := func(yml string, v localexec.Vars) error {
		_, err := localexec.ParseConfig([]byte(yml), v)
		return err
	}

	it("interpolates the image from a var holding the whole source map", func() {
		cfg, err := localexec.ParseConfig([]byte("platform: linux\n"+image+"run: {path: true}\n"), taskImage)
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.ImageResource.Type).To(Equal("registry-image"))
		Expect(cfg.ImageResource.Source).To(HaveKeyWithValue("repository", "example.test/task"))
	})

	it("takes vars from files, pairs winning over files and later files over earlier ones", func() {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
		Expect(os.WriteFile(a, []byte("task_image: {repository: a}\nwho: a\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(b, []byte("task_image: {repository: b}\nwho: b\n"), 0o644)).To(Succeed())
		cfg, err := localexec.ParseConfig([]byte("platform: linux\n"+image+"params: {WHO: ((who))}\nrun: {path: true}\n"),
			localexec.Vars{Files: []string{a, b}})
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.ImageResource.Source).To(HaveKeyWithValue("repository", "b"))
		Expect(cfg.Params).To(HaveKeyWithValue("WHO", "b"))
		cfg, err = localexec.ParseConfig([]byte("platform: linux\n"+image+"params: {WHO: ((who))}\nrun: {path: true}\n"),
			localexec.Vars{Files: []string{a, b}, Pairs: []string{"who=flag"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.Params).To(HaveKeyWithValue("WHO", "flag"))
	})

	it("refuses a var that is not given, by name", func() {
		err := parse("platform: linux\n"+image+"run: {path: true}\n", localexec.Vars{})
		Expect(err).To(MatchError(ContainSubstring("task_image")))
	})

	it("refuses an unknown key by name", func() {
		err := parse("platform: linux\n"+image+"run: {path: true}\ninptus: [{name: src}]\n", taskImage)
		Expect(err).To(MatchError(ContainSubstring(`unknown field "inptus"`)))
	})

	it("refuses a duplicate key by name", func() {
		err := parse("platform: linux\nplatform: linux\n"+image+"run: {path: true}\n", taskImage)
		Expect(err).To(MatchError(ContainSubstring(`"platform"`)))
	})

	it("lists every problem Concourse would find, each with its key", func() {
		err := parse("image_resource: {source: ((task_image))}\ninputs: [{path: x}, {name: a}, {name: a}]\noutputs: [{name: o, path: ../up}]\n", taskImage)
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"missing 'platform'", "missing path to executable", "input in position 0 is missing a name"} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
		err = parse("platform: linux\nimage_resource: {source: ((task_image))}\ninputs: [{name: a}, {name: a}]\noutputs: [{name: o, path: ../up}]\nrun: {path: true}\n", taskImage)
		Expect(err).To(HaveOccurred())
		for _, want := range []string{"image_resource.type: missing", `inputs: "a" is declared twice`, `path "../up": must stay inside`} {
			Expect(err.Error()).To(ContainSubstring(want))
		}
	})

	it("refuses a task without an image", func() {
		Expect(parse("platform: linux\nrun: {path: true}\n", taskImage)).To(MatchError(ContainSubstring("image_resource: missing")))
	})

	it("names the file in LoadConfig's errors", func() {
		path := filepath.Join(t.TempDir(), "task.yml")
		Expect(os.WriteFile(path, []byte("platform: linux\n"), 0o644)).To(Succeed())
		_, err := localexec.LoadConfig(path, taskImage)
		Expect(err).To(MatchError(ContainSubstring(path)))
	})
}

func testRun(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	var stdout, stderr *bytes.Buffer

	// task makes a run of a task whose script is body, with the inputs and outputs given.
	task := func(yml, body string) localexec.Run {
		dir := t.TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "task.sh"), []byte("#!/usr/bin/env bash\nset -euo pipefail\n"+body), 0o755)).To(Succeed())
		cfg, err := localexec.ParseConfig([]byte("platform: linux\n"+image+yml), taskImage)
		Expect(err).NotTo(HaveOccurred())
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
		return localexec.Run{Config: cfg, Inputs: map[string]string{"scripts": dir}, Outputs: map[string]string{},
			Env: []string{"PATH=" + os.Getenv("PATH")}, Stdout: stdout, Stderr: stderr, ScratchDir: t.TempDir()}
	}
	input := func(files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			Expect(os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)).To(Succeed())
			Expect(os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)).To(Succeed())
		}
		return dir
	}

	it("passes task params as environment, step params overriding them", func() {
		r := task("params: {A: task-a, B: task-b}\ninputs: [{name: scripts}]\nrun: {path: scripts/task.sh}\n", `echo "$A $B $C"`)
		r.Params = map[string]string{"B": "step-b", "C": "step-c"}
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0))
		Expect(stdout.String()).To(Equal("task-a step-b step-c\n"))
	})

	it("passes the exit code through", func() {
		r := task("inputs: [{name: scripts}]\nrun: {path: scripts/task.sh}\n", "echo failing >&2; exit 7\n")
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(7))
		Expect(stderr.String()).To(Equal("failing\n"))
	})

	it("runs run.path relative to run.dir with run.args", func() {
		r := task("inputs: [{name: scripts}, {name: src, path: deep/src}]\nrun: {path: ../../scripts/task.sh, dir: deep/src, args: [one, two]}\n", `echo "$# $1 $2 $(cat file)"`)
		r.Inputs["src"] = input(map[string]string{"file": "in-src"})
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0), stderr.String())
		Expect(stdout.String()).To(Equal("2 one two in-src\n"))
	})

	it("leaves an optional input out, its directory absent, and refuses a missing required one by name", func() {
		yml := "inputs: [{name: scripts}, {name: blobs, optional: true}, {name: version}]\nrun: {path: scripts/task.sh}\n"
		r := task(yml, `if [ -e blobs ]; then echo blobs; else echo no-blobs; fi; cat version/number`)
		r.Inputs["version"] = input(map[string]string{"number": "1.2.3"})
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0), stderr.String())
		Expect(stdout.String()).To(Equal("no-blobs\n1.2.3"))

		r.Inputs["blobs"] = input(map[string]string{"a.tgz": "a"})
		stdout.Reset()
		_, err = r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(stdout.String()).To(HavePrefix("blobs\n"))

		delete(r.Inputs, "version")
		_, err = r.Execute(t.Context())
		Expect(err).To(MatchError(`missing input "version"`))
	})

	it("refuses unknown inputs and outputs by name, before running anything", func() {
		marker := filepath.Join(t.TempDir(), "ran")
		r := task("inputs: [{name: scripts}]\noutputs: [{name: out}]\nrun: {path: scripts/task.sh}\n", "touch "+marker)
		r.Inputs["bosh-cpi-sr"] = t.TempDir()
		r.Outputs["candidat"] = t.TempDir()
		_, err := r.Execute(t.Context())
		Expect(err).To(MatchError(`unknown input "bosh-cpi-sr" (the task's inputs: scripts); unknown output "candidat" (the task's outputs: out)`))
		Expect(marker).NotTo(BeAnExistingFile())
	})

	it("copies outputs back to the caller, also when the task fails", func() {
		r := task("inputs: [{name: scripts}]\noutputs: [{name: candidate}, {name: reports, path: out/reports}]\nrun: {path: scripts/task.sh}\n",
			"mkdir candidate/sub; echo tgz > candidate/sub/r.tgz; ln -s sub/r.tgz candidate/link; echo xml > out/reports/junit.xml; exit 1\n")
		candidate, reports := filepath.Join(t.TempDir(), "candidate"), t.TempDir()
		r.Outputs["candidate"], r.Outputs["reports"] = candidate, reports
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(1))
		Expect(os.ReadFile(filepath.Join(candidate, "sub", "r.tgz"))).To(Equal([]byte("tgz\n")))
		Expect(os.Readlink(filepath.Join(candidate, "link"))).To(Equal("sub/r.tgz"))
		Expect(os.ReadFile(filepath.Join(reports, "junit.xml"))).To(Equal([]byte("xml\n")))
	})

	it("leaves an input the task writes into unchanged for the caller", func() {
		src := input(map[string]string{"release": "0.0.0", "keep": "keep"})
		r := task("inputs: [{name: scripts}, {name: bosh-cpi-src}]\nrun: {path: scripts/task.sh}\n",
			"echo 9.9.9 > bosh-cpi-src/release; rm bosh-cpi-src/keep; touch bosh-cpi-src/new; chmod 0700 bosh-cpi-src\n")
		r.Inputs["bosh-cpi-src"] = src
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0), stderr.String())
		Expect(os.ReadFile(filepath.Join(src, "release"))).To(Equal([]byte("0.0.0")))
		Expect(filepath.Join(src, "keep")).To(BeAnExistingFile())
		Expect(filepath.Join(src, "new")).NotTo(BeAnExistingFile())
	})

	it("keeps file modes in the copy", func() {
		src := input(map[string]string{"bin/tool": "#!/bin/sh\necho tool-ran\n"})
		Expect(os.Chmod(filepath.Join(src, "bin", "tool"), 0o750)).To(Succeed())
		r := task("inputs: [{name: scripts}, {name: src}]\nrun: {path: scripts/task.sh}\n", "src/bin/tool; stat -c %a src/bin/tool\n")
		r.Inputs["src"] = src
		code, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0), stderr.String())
		Expect(stdout.String()).To(Equal("tool-ran\n750\n"))
	})

	it("removes its scratch directory", func() {
		r := task("inputs: [{name: scripts}]\nrun: {path: scripts/task.sh}\n", "true\n")
		_, err := r.Execute(t.Context())
		Expect(err).NotTo(HaveOccurred())
		Expect(os.ReadDir(r.ScratchDir)).To(BeEmpty())
	})
}
