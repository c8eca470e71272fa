// Package junit turns the event stream of `go test -json` into a JUnit XML report, the format CI
// servers and their plugins read: one testsuite per package, one testcase per test.
//
// It is a leaf (the standard library only) so that `cpi-ci junit` and its tests need nothing else.
package junit

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string // on a package's fail: the build that failed
}

// Report is what a stream said about every package and test, in the order they first appeared.
type Report struct {
	packages []*pkg
	byName   map[string]*pkg
	builds   map[string]*strings.Builder // build output by ImportPath
	// Stray counts the lines that were not test2json events (they are skipped).
	Stray int
}

type pkg struct {
	name     string
	started  time.Time
	elapsed  float64
	result   string // pass, fail, skip; "" when the stream ended first
	failed   string // FailedBuild
	output   strings.Builder
	tests    []*test
	testByID map[string]*test
}

type test struct {
	name    string
	result  string
	elapsed float64
	output  strings.Builder
}

// Summary counts a report's test cases.
type Summary struct {
	Tests, Failures, Skipped int
}

func (s Summary) String() string {
	return fmt.Sprintf("%d tests, %d failures, %d skipped", s.Tests, s.Failures, s.Skipped)
}

// Read consumes a `go test -json` stream. Every test's output is also written to echo (nil: not),
// so a log shows what `go test -v` would have.
func Read(r io.Reader, echo io.Writer) (*Report, error) {
	rep := &Report{byName: map[string]*pkg{}, builds: map[string]*strings.Builder{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			rep.Stray++
			continue
		}
		if echo != nil && e.Output != "" {
			if _, err := io.WriteString(echo, e.Output); err != nil {
				return nil, err
			}
		}
		rep.add(e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading go test -json: %w", err)
	}
	return rep, nil
}

func (rep *Report) add(e event) {
	switch e.Action {
	case "build-output":
		b := rep.builds[e.ImportPath]
		if b == nil {
			b = &strings.Builder{}
			rep.builds[e.ImportPath] = b
		}
		b.WriteString(e.Output)
		return
	case "build-fail":
		return
	}
	if e.Package == "" {
		return
	}
	p := rep.byName[e.Package]
	if p == nil {
		p = &pkg{name: e.Package, started: e.Time, testByID: map[string]*test{}}
		rep.byName[e.Package] = p
		rep.packages = append(rep.packages, p)
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.output.WriteString(e.Output)
		case "pass", "fail", "skip":
			p.result, p.elapsed, p.failed = e.Action, e.Elapsed, e.FailedBuild
		}
		return
	}
	t := p.testByID[e.Test]
	if t == nil {
		t = &test{name: e.Test}
		p.testByID[e.Test] = t
		p.tests = append(p.tests, t)
	}
	switch e.Action {
	case "output":
		t.output.WriteString(e.Output)
	case "pass", "fail", "skip":
		t.result, t.elapsed = e.Action, e.Elapsed
	}
}

// The XML schema: the common subset Jenkins, GitLab and the Concourse JUnit tooling read.
type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name      string    `xml:"name,attr"`
	Tests     int       `xml:"tests,attr"`
	Failures  int       `xml:"failures,attr"`
	Skipped   int       `xml:"skipped,attr"`
	Time      string    `xml:"time,attr"`
	Timestamp string    `xml:"timestamp,attr,omitempty"`
	Cases     []xmlCase `xml:"testcase"`
}

type xmlCase struct {
	Classname string      `xml:"classname,attr"`
	Name      string      `xml:"name,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlMessage `xml:"failure,omitempty"`
	Skipped   *xmlMessage `xml:"skipped,omitempty"`
}

type xmlMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// suites builds the XML tree. A package that failed without a failing test (its build, a panic
// outside a test, a stream cut short) gets a test case of its own, so a report never says
// "0 failures" of a run that failed.
func (rep *Report) suites() xmlSuites {
	var out xmlSuites
	for _, p := range rep.packages {
		s := xmlSuite{Name: p.name, Time: seconds(p.elapsed)}
		if !p.started.IsZero() {
			s.Timestamp = p.started.UTC().Format(time.RFC3339)
		}
		failedTests := 0
		for _, t := range p.tests {
			c := xmlCase{Classname: p.name, Name: t.name, Time: seconds(t.elapsed)}
			switch t.result {
			case "fail":
				c.Failure = &xmlMessage{Message: "Failed", Body: t.output.String()}
			case "skip":
				c.Skipped = &xmlMessage{Message: "Skipped", Body: t.output.String()}
			case "pass":
			default:
				c.Failure = &xmlMessage{Message: "Did not finish", Body: t.output.String() + p.output.String()}
			}
			if c.Failure != nil {
				failedTests++
			}
			s.Cases = append(s.Cases, c)
		}
		if failedTests == 0 && p.result != "pass" && p.result != "skip" {
			c := xmlCase{Classname: p.name, Name: "[package]", Time: seconds(p.elapsed)}
			switch {
			case p.failed != "":
				body := p.output.String()
				if b := rep.builds[p.failed]; b != nil {
					body = b.String() + body
				}
				c.Failure = &xmlMessage{Message: "Build failed", Body: body}
			case p.result == "fail":
				c.Failure = &xmlMessage{Message: "Failed", Body: p.output.String()}
			default:
				c.Failure = &xmlMessage{Message: "Did not finish", Body: p.output.String()}
			}
			s.Cases = append(s.Cases, c)
		}
		for _, c := range s.Cases {
			s.Tests++
			if c.Failure != nil {
				s.Failures++
			}
			if c.Skipped != nil {
				s.Skipped++
			}
		}
		if s.Tests == 0 {
			continue // a package without tests says nothing a report needs
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	return out
}

// Summary counts the test cases the report holds.
func (rep *Report) Summary() Summary {
	s := rep.suites()
	return Summary{Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped}
}

// WriteXML writes the JUnit XML report.
func (rep *Report) WriteXML(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(rep.suites()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
