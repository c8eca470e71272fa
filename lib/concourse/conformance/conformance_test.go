package conformance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse/conformance"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestConformance(t *testing.T) {
	binary := conformance.Compile(t, "../internal/testresource")
	spec.Run(t, "conformance", func(t *testing.T, context spec.G, it spec.S) {
		testConformance(t, context, it, binary)
	}, spec.Report(report.Terminal{}))
}

func testConformance(t *testing.T, context spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		cfg    conformance.Config
	)
	const token = "conformance-token-value"

	it.Before(func() {
		dir := t.TempDir()
		for _, n := range []string{"1", "2", "3"} {
			Expect(os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644)).To(Succeed())
		}
		cfg = conformance.Config{
			Binary:         binary,
			Source:         map[string]any{"dir": dir, "token": token},
			GetParams:      map[string]any{"log": []string{"token " + token}},
			MissingVersion: concourse.Version{"number": "99"},
			Secrets:        []string{token},
		}
	})

	rules := func(failures []conformance.Failure) []string {
		var out []string
		for _, f := range failures {
			out = append(out, f.Rule)
		}
		return out
	}

	context("when the resource keeps the protocol", func() {
		it("passes every rule", func() {
			Expect(conformance.Verify(cfg)).To(BeEmpty())
		})
	})

	context("when the resource breaks a rule", func() {
		for misbehaviour, rule := range map[string]string{
			"check-returns-all":   conformance.RuleFirstCheck,
			"check-drops-current": conformance.RuleCheckFromLatest,
			"in-ignores-missing":  conformance.RuleMissingVersion,
			"leak-token":          conformance.RuleNoSecrets,
			"extra-stdout":        conformance.RuleOneDocument,
		} {
			it("reports "+misbehaviour+" as "+rule, func() {
				cfg.Source["misbehave"] = misbehaviour
				Expect(rules(conformance.Verify(cfg))).To(ContainElement(rule))
			})
		}
	})

	context("when the binary does not exist", func() {
		it("reports the setup problem", func() {
			cfg.Binary = filepath.Join(t.TempDir(), "missing")
			Expect(rules(conformance.Verify(cfg))).To(Equal([]string{"setup"}))
		})
	})

	context("when given to Run", func() {
		it("reports nothing for a good resource", func() {
			conformance.Run(t, cfg)
		})
	})
}
