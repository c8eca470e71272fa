package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testTaskHelpers(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// taskFile writes a task whose script is body and returns the task file and its input dir.
	taskFile := func(body string) (string, string) {
		dir := t.TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "task.sh"), []byte("#!/usr/bin/env bash\nset -euo pipefail\n"+body), 0o755)).To(Succeed())
		yml := "platform: linux\nimage_resource: {type: registry-image, source: ((task_image))}\ninputs: [{name: scripts}]\noutputs: [{name: out}]\nparams: {WHO: task}\nrun: {path: scripts/task.sh}\n"
		Expect(os.WriteFile(filepath.Join(dir, "task.yml"), []byte(yml), 0o644)).To(Succeed())
		return filepath.Join(dir, "task.yml"), dir
	}

	context("execute", func() {
		it("runs the task with -y vars, -p params and -o outputs, and exits with its code", func() {
			task, scripts := taskFile(`echo "$WHO" > out/who; echo ran; exit 3` + "\n")
			out := filepath.Join(t.TempDir(), "out")
			stdout, stderr, code := cli("", "execute", "-c", task, "-y", "task_image={repository: r}", "-i", "scripts="+scripts, "-o", "out="+out, "-p", "WHO=step")
			Expect(code).To(Equal(3), stderr)
			Expect(stdout).To(Equal("ran\n"))
			Expect(stderr).To(BeEmpty())
			Expect(os.ReadFile(filepath.Join(out, "who"))).To(Equal([]byte("step\n")))
		})

		it("takes -v string vars and -l vars files", func() {
			task, scripts := taskFile("true\n")
			vars := filepath.Join(t.TempDir(), "vars.yml")
			Expect(os.WriteFile(vars, []byte("task_image: {repository: r}\n"), 0o644)).To(Succeed())
			_, stderr, code := cli("", "execute", "-c", task, "-l", vars, "-i", "scripts="+scripts)
			Expect(code).To(Equal(0), stderr)
			// A string is not a source map: the image is refused.
			_, stderr, code = cli("", "execute", "-c", task, "-v", "task_image=r", "-i", "scripts="+scripts)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("image_resource"))
		})

		it("refuses a missing -c, a bad pair and an undefined var, by name", func() {
			_, stderr, code := cli("", "execute")
			Expect(code).To(Equal(1))
			Expect(stderr).To(HavePrefix("error: missing -c"))
			task, scripts := taskFile("true\n")
			_, stderr, code = cli("", "execute", "-c", task, "-y", "task_image={repository: r}", "-i", "scripts")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring(`-i "scripts": want name=value`))
			_, stderr, code = cli("", "execute", "-c", task, "-i", "scripts="+scripts)
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("task_image"))
		})
	})

	context("junit", func() {
		it("writes the report from stdin and says what it holds", func() {
			report := filepath.Join(t.TempDir(), "junit.xml")
			stream := `{"Action":"run","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"output","Package":"p","Test":"TestA","Output":"--- FAIL: TestA\n"}` + "\n" + `{"Action":"fail","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"fail","Package":"p"}` + "\n"
			_, stderr, code := cli(stream, "junit", "-o", report)
			Expect(code).To(Equal(0), stderr)
			Expect(stderr).To(ContainSubstring("--- FAIL: TestA\n"))
			Expect(stderr).To(ContainSubstring("junit: 1 tests, 1 failures, 0 skipped in " + report))
			Expect(os.ReadFile(report)).To(ContainSubstring(`<testcase classname="p" name="TestA"`))
		})

		it("wants -o", func() {
			_, stderr, code := cli("", "junit")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("want -o report.xml"))
		})
	})

	context("redact", func() {
		it("redacts the named variables' values, each value of a YAML document, and passes the exit code", func() {
			t.Setenv("PRIVATE_YML", "blobstore:\n  options:\n    access_key_id: LTAIexample0001\n    secret_access_key: s3cr3t-Value-42\n")
			t.Setenv("TOKEN", "plain-token-value")
			script := `echo "key LTAIexample0001 secret s3cr3t-Value-42 blobstore: options"; echo "token plain-token-value" >&2; exit 4`
			stdout, stderr, code := cli("", "redact", "--env", "PRIVATE_YML", "--env", "TOKEN", "--", "bash", "-c", script)
			Expect(code).To(Equal(4))
			Expect(stdout).To(Equal("key ((redacted)) secret ((redacted)) blobstore: options\n"))
			Expect(stderr).To(Equal("token ((redacted))\n"))
		})

		it("wants a command", func() {
			_, stderr, code := cli("", "redact", "--env", "X")
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("missing COMMAND"))
		})
	})

	context("sha256", func() {
		it("prints what sha256sum prints", func() {
			dir := t.TempDir()
			path := filepath.Join(dir, "r.tgz")
			Expect(os.WriteFile(path, []byte("release"), 0o644)).To(Succeed())
			sum := sha256.Sum256([]byte("release"))
			stdout, stderr, code := cli("", "sha256", path)
			Expect(code).To(Equal(0), stderr)
			Expect(stdout).To(Equal(hex.EncodeToString(sum[:]) + "  " + path + "\n"))
			_, stderr, code = cli("", "sha256", filepath.Join(dir, "missing"))
			Expect(code).To(Equal(1))
			Expect(stderr).To(ContainSubstring("missing"))
		})
	})
}
