package junit

import (
	"encoding/xml"
	"io"
)

// WriteFailure writes a JUnit report of one failed test case: what a task writes when the tool
// that should have written the report stopped before it could, so the report never passes a run
// that failed.
func WriteFailure(w io.Writer, suite, name, message string) error {
	s := xmlSuite{Name: suite, Time: seconds(0), Tests: 1, Failures: 1,
		Cases: []xmlCase{{Classname: suite, Name: name, Time: seconds(0), Failure: &xmlMessage{Message: "Failed", Body: message}}}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(xmlSuites{Tests: 1, Failures: 1, Suites: []xmlSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
