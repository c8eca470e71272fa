package junit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// rspecRun is the document rspec's built-in JSON formatter (`--format json --out FILE`) writes
// at the end of a run.
type rspecRun struct {
	Messages []string `json:"messages"`
	Examples []struct {
		FullDescription string  `json:"full_description"`
		Status          string  `json:"status"` // passed, failed, pending
		FilePath        string  `json:"file_path"`
		LineNumber      int     `json:"line_number"`
		RunTime         float64 `json:"run_time"`
		PendingMessage  string  `json:"pending_message"`
		Exception       *struct {
			Class     string   `json:"class"`
			Message   string   `json:"message"`
			Backtrace []string `json:"backtrace"`
		} `json:"exception"`
	} `json:"examples"`
	Summary struct {
		Duration                   float64 `json:"duration"`
		ErrorsOutsideOfExamplesCnt int     `json:"errors_outside_of_examples_count"`
	} `json:"summary"`
}

// ReadRSpec reads the JSON report of an rspec run (BATs): one testsuite per spec file, one
// testcase per example (pending ones skipped, with their reason). Errors outside of examples (a
// spec_helper that raised, a before(:suite) that failed) become a failed case of their own, so
// a run that failed never reports 0 failures.
func ReadRSpec(r io.Reader) (*Report, error) {
	var run rspecRun
	if err := json.NewDecoder(r).Decode(&run); err != nil {
		return nil, fmt.Errorf("reading rspec's JSON report: %w", err)
	}
	rep := &Report{byName: map[string]*pkg{}, builds: map[string]*strings.Builder{}}
	suite := func(name string) *pkg {
		p := rep.byName[name]
		if p == nil {
			p = &pkg{name: name, result: "pass", testByID: map[string]*test{}}
			rep.byName[name] = p
			rep.packages = append(rep.packages, p)
		}
		return p
	}
	for _, e := range run.Examples {
		p := suite(strings.TrimPrefix(e.FilePath, "./"))
		t := &test{name: e.FullDescription, elapsed: e.RunTime}
		p.elapsed += e.RunTime
		switch e.Status {
		case "passed":
			t.result = "pass"
		case "pending":
			t.result = "skip"
			t.output.WriteString(e.PendingMessage)
		default: // failed, and whatever a newer rspec adds: never a silent pass
			t.result = "fail"
			if e.Exception != nil {
				fmt.Fprintf(&t.output, "%s: %s\n", e.Exception.Class, e.Exception.Message)
				for _, line := range e.Exception.Backtrace {
					t.output.WriteString(line + "\n")
				}
			}
			fmt.Fprintf(&t.output, "at %s:%d\n", e.FilePath, e.LineNumber)
		}
		p.tests = append(p.tests, t)
	}
	if run.Summary.ErrorsOutsideOfExamplesCnt > 0 {
		p := suite("rspec")
		t := &test{name: fmt.Sprintf("%d errors outside of examples", run.Summary.ErrorsOutsideOfExamplesCnt), result: "fail"}
		t.output.WriteString(strings.Join(run.Messages, "\n"))
		p.tests = append(p.tests, t)
	}
	return rep, nil
}

// Case is one test case of a report made by hand (a task's steps, such as e2e's errands).
type Case struct {
	Name    string
	Failed  bool
	Output  string
	Seconds float64
}

// FromCases is a report of one suite holding cases, in their order.
func FromCases(suite string, cases []Case) *Report {
	p := &pkg{name: suite, result: "pass", testByID: map[string]*test{}}
	for _, c := range cases {
		t := &test{name: c.Name, result: "pass", elapsed: c.Seconds}
		if c.Failed {
			t.result = "fail"
		}
		t.output.WriteString(c.Output)
		p.elapsed += c.Seconds
		p.tests = append(p.tests, t)
	}
	return &Report{packages: []*pkg{p}, byName: map[string]*pkg{suite: p}, builds: map[string]*strings.Builder{}}
}

// Failed is a report of one failed case: what a run that wrote no report at all gets, so the
// build's report still says it failed and why.
func Failed(suite, name, output string) *Report {
	return FromCases(suite, []Case{{Name: name, Failed: true, Output: output}})
}
