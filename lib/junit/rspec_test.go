package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/junit"
)

// rspecJSON is what rspec 3's JSON formatter writes for a BATs run with a pass, a failure and a
// skipped example.
const rspecJSON = `{"version":"3.13.0","messages":["Run options: exclude {:multiple_manual_networks=>true}"],"seed":1,
"examples":[
 {"id":"./spec/system/cck_spec.rb[1:1]","description":"recreates a vm","full_description":"cck recreates a vm","status":"passed","file_path":"./spec/system/cck_spec.rb","line_number":10,"run_time":120.5,"pending_message":null},
 {"id":"./spec/system/persistent_disks_spec.rb[1:2]","description":"attaches multiple disks","full_description":"persistent disks attaches multiple disks","status":"pending","file_path":"./spec/system/persistent_disks_spec.rb","line_number":40,"run_time":0.0,"pending_message":"20 GB minimum disk size"},
 {"id":"./spec/system/persistent_disks_spec.rb[1:1]","description":"keeps data","full_description":"persistent disks keeps data","status":"failed","file_path":"./spec/system/persistent_disks_spec.rb","line_number":20,"run_time":3.25,"pending_message":null,
  "exception":{"class":"RSpec::Expectations::ExpectationNotMetError","message":"expected 1 got 2","backtrace":["./spec/system/persistent_disks_spec.rb:22"]}}
],
"summary":{"duration":123.75,"example_count":3,"failure_count":1,"pending_count":1,"errors_outside_of_examples_count":0},"summary_line":"3 examples, 1 failure, 1 pending"}`

func testRSpec(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	write := func(rep *junit.Report) (parsed, string) {
		var out bytes.Buffer
		Expect(rep.WriteXML(&out)).To(Succeed())
		var p parsed
		Expect(xml.Unmarshal(out.Bytes(), &p)).To(Succeed(), out.String())
		return p, out.String()
	}

	it("has a suite per spec file, a case per example, failures with their exception, pending as skipped", func() {
		rep, err := junit.ReadRSpec(strings.NewReader(rspecJSON))
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Summary()).To(Equal(junit.Summary{Tests: 3, Failures: 1, Skipped: 1}))
		p, text := write(rep)
		Expect(p.Suites).To(HaveLen(2))
		Expect(p.Suites[0].Name).To(Equal("spec/system/cck_spec.rb"))
		Expect(p.Suites[1].Name).To(Equal("spec/system/persistent_disks_spec.rb"))
		Expect(p.Suites[1].Cases[0].Name).To(Equal("persistent disks attaches multiple disks"))
		Expect(p.Suites[1].Cases[0].Skipped).NotTo(BeNil())
		Expect(p.Suites[1].Cases[1].Failure).NotTo(BeNil())
		Expect(p.Suites[1].Cases[1].Failure.Body).To(ContainSubstring("ExpectationNotMetError: expected 1 got 2"))
		Expect(p.Suites[1].Cases[1].Failure.Body).To(ContainSubstring("persistent_disks_spec.rb:22"))
		Expect(text).To(ContainSubstring(`time="120.500"`))
	})

	it("makes errors outside of examples a failed case, so a run that broke never says 0 failures", func() {
		doc := `{"messages":["An error occurred while loading spec_helper.rb: Missing stemcell_path"],"examples":[],
"summary":{"duration":0.1,"example_count":0,"failure_count":0,"pending_count":0,"errors_outside_of_examples_count":1}}`
		rep, err := junit.ReadRSpec(strings.NewReader(doc))
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Summary()).To(Equal(junit.Summary{Tests: 1, Failures: 1}))
		p, _ := write(rep)
		Expect(p.Suites[0].Cases[0].Failure.Body).To(ContainSubstring("Missing stemcell_path"))
	})

	it("refuses what is not rspec JSON, and Failed reports a run that wrote nothing", func() {
		_, err := junit.ReadRSpec(strings.NewReader("Randomized with seed 1"))
		Expect(err).To(MatchError(ContainSubstring("reading rspec's JSON report")))
		p, _ := write(junit.Failed("bats", "rspec wrote no report", "exit 1"))
		Expect(p.Failures).To(Equal(1))
		Expect(p.Suites[0].Cases[0].Failure.Body).To(Equal("exit 1"))
	})
}
