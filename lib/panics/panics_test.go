package panics_test

import (
	"errors"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/panics"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestCatch(t *testing.T) {
	spec.Run(t, "Catch", func(t *testing.T, when spec.G, it spec.S) {
		Expect := NewWithT(t).Expect

		it("returns what the function returns", func() {
			Expect(panics.Catch(func() error { return nil })).To(Succeed())
			failed := errors.New("failed")
			Expect(panics.Catch(func() error { return failed })).To(Equal(failed))
		})

		it("turns a panic into an error with its value and the stack where it happened", func() {
			err := panics.Catch(func() error {
				setBoom(nil)
				return nil
			})
			var p *panics.Error
			Expect(errors.As(err, &p)).To(BeTrue())
			Expect(err.Error()).To(HavePrefix("crashed: assignment to entry in nil map (this is a bug in concourse-pack"))
			Expect(string(p.Stack)).To(ContainSubstring("panics_test.go"))
		})
	}, spec.Report(report.Terminal{}))
}

// setBoom writes to m: given a nil map it panics at run time, as a real bug would.
func setBoom(m map[string]int) { m["boom"] = 1 }
