package problems_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

func TestProblems(t *testing.T) {
	suite := spec.New("problems", spec.Report(report.Terminal{}))
	suite("List", testList)
	suite("Quote", testQuote)
	suite.Run(t)
}

func testList(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("is no error when empty", func() {
		var l problems.List
		Expect(l.Err()).To(BeNil())
	})

	it("names one problem on one line and several one per line", func() {
		var l problems.List
		l.Add("bucket", "missing required key")
		Expect(l.Err()).To(MatchError("bucket: missing required key"))
		l.Add("", "expected %d", 3)
		Expect(l.Error()).To(Equal("2 problems:\n  - bucket: missing required key\n  - expected 3"))
	})

	it("puts a prefix before keys and indices", func() {
		l := problems.List{{Path: "bucket", Message: "m"}, {Path: "[1]", Message: "n"}, {Path: "", Message: "o"}}
		Expect(l.Under("source")).To(Equal(problems.List{
			{Path: "source.bucket", Message: "m"}, {Path: "source[1]", Message: "n"}, {Path: "source", Message: "o"},
		}))
	})

	it("keeps a wrapped list's paths and puts any other error at the path", func() {
		inner := problems.List{{Path: "region", Message: "bad"}}
		Expect(problems.From("source", errors.Join(inner))).To(Equal(problems.List{{Path: "source.region", Message: "bad"}}))
		Expect(problems.From("source", errors.New("boom"))).To(Equal(problems.List{{Path: "source", Message: "boom"}}))
		Expect(problems.From("source", nil)).To(BeNil())
	})
}

func testQuote(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("quotes a short value whole, as %q does", func() {
		Expect(problems.Quote(`a "b"`)).To(Equal(`"a \"b\""`))
		Expect(problems.Quote(strings.Repeat("x", problems.MaxQuoted))).To(Equal(`"` + strings.Repeat("x", problems.MaxQuoted) + `"`))
	})

	it("quotes a short prefix of a long value and says how long it is", func() {
		quoted := problems.Quote(strings.Repeat("n", 20_000_000))
		Expect(quoted).To(Equal(`"` + strings.Repeat("n", problems.MaxQuoted) + `"… (20000000 bytes)`))
	})

	it("never cuts a character in two", func() {
		quoted := problems.Quote(strings.Repeat("x", problems.MaxQuoted-1) + strings.Repeat("é", 10))
		Expect(quoted).To(HavePrefix(`"` + strings.Repeat("x", problems.MaxQuoted-1) + `"…`))
		Expect(utf8.ValidString(quoted)).To(BeTrue())
	})
}
