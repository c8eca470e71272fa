package testtools

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Recorder is a recording test double of a command (bosh, ginkgo, bundle, terraform, ...): a bash
// script on PATH that writes down the argv and the environment of every call, then runs the
// behaviour the test gave it. Tests assert the exact argv and environment a task handed the tool.
type Recorder struct {
	Path  string // the executable
	calls string // one directory per call, in call order
}

// Call is one run of a recorder.
type Call struct {
	Argv []string          // the arguments, without the command name
	Env  map[string]string // the whole environment
	Dir  string            // the working directory
}

// NewRecorder writes a double named name into binDir (which the test puts first on PATH). body is
// bash run after the call is recorded, with the call's "$@"; an empty body exits 0. The double
// needs only bash and coreutils, so it also runs inside the task image.
func NewRecorder(t testing.TB, binDir, name, body string) *Recorder {
	t.Helper()
	calls := filepath.Join(t.TempDir(), name+"-calls")
	if err := os.MkdirAll(calls, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/usr/bin/env bash\n" +
		"set -euo pipefail\n" +
		"__call=$(mktemp -d " + shellQuote(calls) + "/$(date +%s%N).XXXXXX)\n" +
		"for __a in \"$@\"; do printf '%s\\0' \"$__a\"; done >\"$__call/argv\"\n" +
		"env -0 >\"$__call/env\"\n" +
		"pwd >\"$__call/dir\"\n" +
		"unset __a __call\n" +
		body + "\n"
	path := filepath.Join(binDir, name)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Recorder{Path: path, calls: calls}
}

// Calls returns every call so far, oldest first.
func (r *Recorder) Calls(t testing.TB) []Call {
	t.Helper()
	entries, err := os.ReadDir(r.calls)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names) // nanosecond timestamps of equal width until the year 2286
	out := make([]Call, 0, len(names))
	for _, name := range names {
		dir := filepath.Join(r.calls, name)
		argv, err := os.ReadFile(filepath.Join(dir, "argv"))
		if err != nil {
			t.Fatal(err)
		}
		env, err := os.ReadFile(filepath.Join(dir, "env"))
		if err != nil {
			t.Fatal(err)
		}
		wd, err := os.ReadFile(filepath.Join(dir, "dir"))
		if err != nil {
			t.Fatal(err)
		}
		c := Call{Argv: splitNUL(argv), Env: map[string]string{}, Dir: strings.TrimSpace(string(wd))}
		for _, kv := range splitNUL(env) {
			k, v, _ := strings.Cut(kv, "=")
			c.Env[k] = v
		}
		out = append(out, c)
	}
	return out
}

// Argvs returns the argv of every call so far, each joined with spaces, oldest first.
func (r *Recorder) Argvs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, c := range r.Calls(t) {
		out = append(out, strings.Join(c.Argv, " "))
	}
	return out
}

func splitNUL(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return []string{}
	}
	return strings.Split(string(b), "\x00")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
