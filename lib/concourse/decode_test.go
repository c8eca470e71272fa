package concourse_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
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

// Block, Endpoint and Outer have their own Validate: the kit finds them however they are held.
type Block struct {
	Region string `json:"region"`
}

func (b Block) Validate() error {
	var p concourse.Problems
	if b.Region == "mars" {
		p.Add("region", "no such region")
	}
	return p.Err()
}

type Endpoint struct {
	URL string `json:"url"`
}

func (e *Endpoint) Validate() error {
	var p concourse.Problems
	if e.URL == "" {
		p.Add("url", "missing")
	}
	return p.Err()
}

// Promoted has Block's Validate only, promoted through the embedding.
type Promoted struct {
	Block
	Name string `json:"name"`
}

type Outer struct {
	Block
	Primary  Endpoint   `json:"primary"`
	Backups  []Endpoint `json:"backups"`
	Optional *Endpoint  `json:"optional"`
	Name     string     `json:"name"`
}

func (o Outer) Validate() error {
	var p concourse.Problems
	if o.Name == "" {
		p.Add("name", "missing")
	}
	return p.Err()
}

func testDecodeValidators(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("reports embedded blocks at the embedding path, named blocks and list items at their keys, the value's own last", func() {
		var o Outer
		err := concourse.DecodeStrict("source", json.RawMessage(`{"region":"mars","primary":{},"backups":[{"url":"x"},{}]}`), &o)
		var problems concourse.Problems
		Expect(errors.As(err, &problems)).To(BeTrue())
		Expect(problems).To(Equal(concourse.Problems{
			{Path: "source.region", Message: "no such region"},
			{Path: "source.primary.url", Message: "missing"},
			{Path: "source.backups[1].url", Message: "missing"},
			{Path: "source.name", Message: "missing"},
		}))
	})

	it("reports a Validate promoted from an embedded block once", func() {
		var p Promoted
		err := concourse.DecodeStrict("source", json.RawMessage(`{"region":"mars"}`), &p)
		Expect(err).To(MatchError("source.region: no such region"))
	})

	it("skips an absent optional block", func() {
		var o Outer
		Expect(concourse.DecodeStrict("source", json.RawMessage(`{"primary":{"url":"u"},"name":"n"}`), &o)).To(Succeed())
	})
}
