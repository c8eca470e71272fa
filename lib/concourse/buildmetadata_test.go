package concourse_test

import (
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testBuild(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}

	context("when a pipeline job runs the step", func() {
		it("links to the job's build and names it", func() {
			b := concourse.BuildMetadataFromEnv(env(map[string]string{
				"ATC_EXTERNAL_URL": "https://ci.example.com/", "BUILD_TEAM_NAME": "main", "BUILD_PIPELINE_NAME": "cpi",
				"BUILD_JOB_NAME": "bats", "BUILD_NAME": "7", "BUILD_ID": "991",
			}))
			Expect(b.URL()).To(Equal("https://ci.example.com/teams/main/pipelines/cpi/jobs/bats/builds/7"))
			Expect(b.String()).To(Equal("cpi/bats #7"))
		})
	})

	context("when the pipeline is instanced", func() {
		it("adds the instance vars as the UI addresses them", func() {
			b := concourse.BuildMetadataFromEnv(env(map[string]string{
				"ATC_EXTERNAL_URL": "https://ci.example.com", "BUILD_TEAM_NAME": "main", "BUILD_PIPELINE_NAME": "cpi",
				"BUILD_JOB_NAME": "bats", "BUILD_NAME": "7", "BUILD_PIPELINE_INSTANCE_VARS": `{"region":"cn-hangzhou","n":2}`,
			}))
			Expect(b.URL()).To(Equal("https://ci.example.com/teams/main/pipelines/cpi/jobs/bats/builds/7?vars.n=2&vars.region=%22cn-hangzhou%22"))
		})
	})

	context("when fly execute runs the step", func() {
		it("links to the one-off build by id", func() {
			b := concourse.BuildMetadataFromEnv(env(map[string]string{"ATC_EXTERNAL_URL": "https://ci.example.com", "BUILD_ID": "991"}))
			Expect(b.URL()).To(Equal("https://ci.example.com/builds/991"))
			Expect(b.String()).To(Equal("one-off build 991"))
		})
	})

	context("when nothing is known", func() {
		it("gives no URL", func() {
			b := concourse.BuildMetadataFromEnv(env(nil))
			Expect(b.URL()).To(BeEmpty())
			Expect(b.String()).To(Equal("a local run"))
		})
	})
}
