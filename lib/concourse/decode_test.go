package concourse_test

import (
	"encoding/json"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

// Cloud is shared by several sources, the way every resource embeds the cloud block.
type Cloud struct {
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret" secret:"true"`
	Region          string `json:"region" required:"true"`
}

type Target struct {
	Name string `json:"name" required:"true"`
	Port uint16 `json:"port"`
}

type Source struct {
	Cloud
	Targets []Target           `json:"targets"`
	Tags    map[string]string  `json:"tags"`
	Ratio   float64            `json:"ratio"`
	Wait    concourse.Duration `json:"wait"`
	Enabled *bool              `json:"enabled"`
}

func TestDecode(t *testing.T) {
	spec.Run(t, "DecodeStrict", testDecode, spec.Report(report.Terminal{}))
}

func testDecode(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	decode := func(raw string) (Source, error) {
		var s Source
		err := concourse.DecodeStrict("source", json.RawMessage(raw), &s)
		return s, err
	}

	context("when the source is well formed", func() {
		it("decodes embedded blocks, lists, maps, pointers and durations", func() {
			s, err := decode(`{"region":"cn-beijing","access_key_secret":"k","targets":[{"name":"a","port":25555}],
				"tags":{"team":"cpi"},"ratio":0.5,"wait":"90s","enabled":false}`)
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Region).To(Equal("cn-beijing"))
			Expect(s.Targets).To(Equal([]Target{{Name: "a", Port: 25555}}))
			Expect(s.Tags).To(HaveKeyWithValue("team", "cpi"))
			Expect(s.Wait.Std().Seconds()).To(Equal(90.0))
			Expect(*s.Enabled).To(BeFalse())
		})
	})

	context("when the source is absent", func() {
		it("reports the required keys as missing", func() {
			_, err := decode(`null`)
			Expect(err).To(MatchError("source.region: missing required key"))
		})
	})

	context("when keys inside lists are wrong", func() {
		it("names them by index", func() {
			_, err := decode(`{"region":"r","targets":[{"name":"a"},{"nmae":"b","port":70000}]}`)
			Expect(err).To(MatchError(ContainSubstring(`source.targets[1].nmae: unknown key (did you mean "name"?)`)))
			Expect(err).To(MatchError(ContainSubstring(`source.targets[1].port: expected a whole number of 0 or more, got the number 70000`)))
			Expect(err).To(MatchError(ContainSubstring(`source.targets[1].name: missing required key`)))
		})
	})

	context("when a key differs only in case", func() {
		it("refuses it, since Concourse YAML keys are exact", func() {
			_, err := decode(`{"Region":"r"}`)
			Expect(err).To(MatchError(ContainSubstring(`source.Region: unknown key (did you mean "region"?)`)))
		})
	})

	context("when a required key is blank", func() {
		it("counts it as missing", func() {
			_, err := decode(`{"region":"  "}`)
			Expect(err).To(MatchError("source.region: missing required key"))
		})
	})

	context("when the JSON is broken", func() {
		it("says so under the path", func() {
			_, err := decode(`{"region":`)
			Expect(err).To(MatchError(HavePrefix("source: not valid JSON")))
		})
	})
}
