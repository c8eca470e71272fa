package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testConcourseCLI(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("refuses the houdini runtime before starting or building anything", func() {
		dir := t.TempDir()
		_, stderr, code := cli("", "concourse", "up", "--runtime", "houdini", "--work-dir", dir, "--cache", dir)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring(`runtime "houdini" refused`))
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())
	})

	it("says status, fly and down need a running Concourse", func() {
		dir := t.TempDir()
		_, stderr, code := cli("", "concourse", "down", "--work-dir", dir)
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("cpi-ci concourse up starts one"))
		stdout, _, code := cli("", "concourse", "status", "--work-dir", dir)
		Expect(code).To(Equal(1))
		Expect(stdout).To(ContainSubstring("not running"))
		_, stderr, code = cli("", "concourse", "fly", "--work-dir", dir, "--", "workers")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("no local Concourse in " + dir))
	})

	it("lists its subcommands", func() {
		_, stderr, code := cli("", "concourse")
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("up|down|status|fly|exec|build"))
	})

	it("checks that every Dockerfile is what its image.yaml renders", func() {
		specs, err := filepath.Glob("../../images/*/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(specs).NotTo(BeEmpty())
		_, stderr, code := cli("", append([]string{"images", "dockerfiles", "--check"}, specs...)...)
		Expect(stderr).To(BeEmpty())
		Expect(code).To(Equal(0))

		dir := filepath.Join(t.TempDir(), "debian")
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		raw, err := os.ReadFile("../../images/debian/image.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, "image.yaml"), raw, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)).To(Succeed())
		_, stderr, code = cli("", "images", "dockerfiles", "--check", filepath.Join(dir, "image.yaml"))
		Expect(code).To(Equal(1))
		Expect(stderr).To(ContainSubstring("stale (run make dockerfiles): " + filepath.Join(dir, "Dockerfile")))
	})

	it("refuses an --input that no image given has, one given twice, or one without a path, before building anything", func() {
		out := filepath.Join(t.TempDir(), "out")
		for args, want := range map[string]string{
			"gcc=/usr/bin/gcc":                   "--input gcc: no image given has an input of that name",
			"go=/usr/local/go,go=/tmp/go":        "--input go: given twice",
			"alicloud-provider":                  `--input "alicloud-provider": expected NAME=PATH`,
			"terraform=/usr/local/bin/terraform": "",
		} {
			cmd := []string{"images", "build", "--out", out, "--cache", filepath.Join(t.TempDir(), "cache")}
			for _, a := range strings.Split(args, ",") {
				cmd = append(cmd, "--input", a)
			}
			if want == "" {
				// Known, but not an input of the image given.
				cmd = append(cmd, "../../images/debian/image.yaml")
				want = "--input terraform: no image given has an input of that name"
			} else {
				cmd = append(cmd, "../../images/task/image.yaml")
			}
			_, stderr, code := cli("", cmd...)
			Expect(code).To(Equal(1), args)
			Expect(stderr).To(ContainSubstring(want))
			_, err := os.Stat(out)
			Expect(os.IsNotExist(err)).To(BeTrue(), "nothing written for %s", args)
		}
	})
}
