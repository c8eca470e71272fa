package tasks_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/concourse/concourse/atc"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/localexec"
)

// testConventions holds every task to docs/tasks.md's conventions.
func testConventions(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("holds for every task", func() {
		dirs, err := filepath.Glob("*/task.yml")
		Expect(err).NotTo(HaveOccurred())
		Expect(dirs).NotTo(BeEmpty())
		upperSnake := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
		for _, file := range dirs {
			name := filepath.Dir(file)
			cfg, err := localexec.LoadConfig(file, localexec.Vars{Files: []string{"vars.example.yml"}})
			Expect(err).NotTo(HaveOccurred(), name)

			raw, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			// Concourse reads a task file of a pipeline's `file:` step before it fills in the
			// step's vars: the file must parse as it stands.
			_, err = atc.NewTaskConfig(raw)
			Expect(err).NotTo(HaveOccurred(), name+": Concourse parses the task file before interpolating it")
			var doc struct {
				ImageResource map[string]any `yaml:"image_resource"`
			}
			Expect(yaml.Unmarshal(raw, &doc)).To(Succeed())
			Expect(doc.ImageResource).To(Equal(map[string]any{"type": "registry-image", "source": map[string]any{
				"repository": "((task_image.repository))", "tag": "((task_image.tag))", "insecure": "((task_image.insecure))"}}),
				name+": image_resource: one var per field (Concourse parses a task file before it fills in its vars)")

			Expect(cfg.Inputs).NotTo(BeEmpty(), name)
			Expect(cfg.Inputs[0].Name).To(Equal("concourse-pack"), name+": first input")
			Expect(cfg.Run.Path).To(Equal("concourse-pack/tasks/"+name+"/task.sh"), name+": run.path")
			Expect(cfg.Run.Dir).To(BeEmpty(), name)
			for k := range cfg.Params {
				Expect(k).To(MatchRegexp(upperSnake.String()), name+": param")
			}

			script := filepath.Join(name, "task.sh")
			info, err := os.Stat(script)
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(info.Mode().Perm()&0o111).NotTo(BeZero(), script+" is executable")
			body, err := os.ReadFile(script)
			Expect(err).NotTo(HaveOccurred())
			lines := strings.Split(string(body), "\n")
			Expect(lines[0]).To(Equal("#!/usr/bin/env bash"), script)
			Expect(string(body)).To(ContainSubstring("\nset -euo pipefail\n"), script)
			for _, banned := range []string{"wget ", "curl ", "BUILD_", "set -x", "set -o xtrace"} {
				Expect(string(body)).NotTo(ContainSubstring(banned), script)
			}
		}
	})

	it("gives every cloud task the whole cloud block of params, empty by default, and no task a static key", func() {
		cloud := []string{"ALICLOUD_REGION", "ALICLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECURITY_TOKEN",
			"ALICLOUD_RAM_ROLE", "ALICLOUD_ASSUME_ROLE_ARN", "ALICLOUD_ECS_ENDPOINT", "ALICLOUD_OSS_ENDPOINT", "ALICLOUD_STS_ENDPOINT"}
		files, err := filepath.Glob("*/task.yml")
		Expect(err).NotTo(HaveOccurred())
		clouds := 0
		for _, file := range files {
			cfg, err := localexec.LoadConfig(file, localexec.Vars{Files: []string{"vars.example.yml"}})
			Expect(err).NotTo(HaveOccurred(), file)
			declared := 0
			for k, v := range cfg.Params {
				if strings.HasPrefix(k, "ALICLOUD_") {
					declared++
					Expect(v).To(BeEmpty(), file+": "+k+" has a default")
				}
			}
			if declared == 0 {
				continue
			}
			clouds++
			for _, k := range cloud {
				Expect(cfg.Params).To(HaveKey(k), file)
			}
			Expect(declared).To(Equal(len(cloud)), file+": an ALICLOUD_ param that is not part of the cloud block")
		}
		Expect(clouds).To(BeNumerically(">=", 4), "environment, integration, teardown, ensure-terminated")
	})

	it("ships the vars every task file takes", func() {
		cfg, err := localexec.LoadConfig("unit-tests/task.yml", localexec.Vars{Files: []string{"vars.example.yml"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.ImageResource.Source).To(HaveKeyWithValue("repository", "ghcr.io/bosh-alicloud/concourse-pack-task"))
	})
}
