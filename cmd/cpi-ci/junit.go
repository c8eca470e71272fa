package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bosh-alicloud/concourse-pack/lib/junit"
)

const junitUsage = `usage: go test -json ./... | cpi-ci junit -o report.xml

Reads a go test -json stream on stdin, echoes the tests' output to stderr (what go test -v shows)
and writes a JUnit XML report: one testsuite per package, one testcase per test and subtest, a
package that failed without a failing test (a build failure) as a failed case of its own. The
report is written whether the tests passed or not; cpi-ci fails only when it cannot write it.
`

func runJUnit(_ context.Context, args []string, s stdio) error {
	fs := flags("junit", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, junitUsage) } // help goes to stderr: nowhere else to report it
	out := fs.String("o", "", "the report file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *out == "" {
		return fmt.Errorf("want -o report.xml and no arguments\n\n%s", junitUsage)
	}
	rep, err := junit.Read(s.in, s.err)
	if err != nil {
		return err
	}
	if err := writeAtomically(*out, func(w io.Writer) error { return rep.WriteXML(w) }); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	if rep.Stray > 0 {
		_, _ = fmt.Fprintf(s.err, "warning: %d lines of the input were not go test -json events\n", rep.Stray) // a note beside the report
	}
	_, _ = fmt.Fprintf(s.err, "junit: %s in %s\n", rep.Summary(), *out) // a note beside the report
	return nil
}

// writeAtomically writes a file through a temporary one beside it, so a reader never sees half.
func writeAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone already after the rename
	if err := write(f); err != nil {
		_ = f.Close() // the write's error is the one to report
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
