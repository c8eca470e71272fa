// Package conformance checks that a built resource binary keeps the Concourse resource protocol,
// the way Concourse itself drives it: symlinked as check/in/out, one JSON request on stdin.
//
// Every resource's black-box tests call Run with a working source. It must not know any
// resource's domain: what a version or a source means is given in Config.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// Config describes the resource under test.
type Config struct {
	Binary         string            // the built resource binary
	Source         map[string]any    // a working source with at least one version
	GetParams      map[string]any    // params for getting the latest version (may be nil)
	MissingVersion concourse.Version // a version that does not exist at Source
	Secrets        []string          // values that must never appear on stdout or stderr
	Env            []string          // extra environment for every run, e.g. metadata endpoints
	Timeout        time.Duration     // per run; 2 minutes when zero
}

// Failure is one broken rule.
type Failure struct {
	Rule   string
	Detail string
}

func (f Failure) String() string { return f.Rule + ": " + f.Detail }

// The rules, named as failures report them.
const (
	RuleFirstCheck      = "first check returns at most one version"
	RuleCheckFromLatest = "check from the latest version returns it, last"
	RuleUnknownKey      = "an unknown source key fails naming it"
	RuleMissingVersion  = "in of a version that does not exist fails"
	RuleInLatest        = "in of the latest version returns that version"
	RuleOneDocument     = "stdout is one JSON document, and empty on failure"
	RuleNoSecrets       = "no secret appears on stdout or stderr"
)

// Run checks every rule and reports each failure on t.
func Run(t testing.TB, cfg Config) {
	t.Helper()
	for _, f := range Verify(cfg) {
		t.Errorf("conformance: %s", f)
	}
}

// Verify checks every rule and returns what failed.
func Verify(cfg Config) []Failure {
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	v := &verifier{cfg: cfg}
	if err := v.link(); err != nil {
		return []Failure{{Rule: "setup", Detail: err.Error()}}
	}
	defer removeAll(v.dir)
	v.run()
	return v.failures
}

type verifier struct {
	cfg      Config
	dir      string // holds the check, in and out symlinks
	failures []Failure
}

type result struct {
	stdout, stderr string
	code           int
}

func (v *verifier) fail(rule, format string, args ...any) {
	v.failures = append(v.failures, Failure{Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

func (v *verifier) run() {
	first, ok := v.check(RuleFirstCheck, nil)
	if !ok {
		return
	}
	if len(first) != 1 {
		v.fail(RuleFirstCheck, "got %d versions, want exactly 1 (the source has versions)", len(first))
		if len(first) == 0 {
			return
		}
	}
	latest := first[len(first)-1]

	if again, ok := v.check(RuleCheckFromLatest, latest); ok {
		if len(again) == 0 || !equal(again[len(again)-1], latest) {
			v.fail(RuleCheckFromLatest, "check from %s returned %v", latest, again)
		}
	}

	v.unknownKey()

	missing := v.exec("in", map[string]any{"source": v.cfg.Source, "version": v.cfg.MissingVersion, "params": v.cfg.GetParams})
	if missing.code == 0 {
		v.fail(RuleMissingVersion, "in of %s exited 0 with %q", v.cfg.MissingVersion, missing.stdout)
	}

	got := v.exec("in", map[string]any{"source": v.cfg.Source, "version": latest, "params": v.cfg.GetParams})
	if got.code != 0 {
		v.fail(RuleInLatest, "in of %s exited %d: %s", latest, got.code, brief(got.stderr))
		return
	}
	var response concourse.Response
	if err := json.Unmarshal([]byte(got.stdout), &response); err != nil {
		v.fail(RuleInLatest, "in printed no response: %v", err)
	} else if !equal(response.Version, latest) {
		v.fail(RuleInLatest, "in of %s returned version %s", latest, response.Version)
	}
}

func (v *verifier) check(rule string, from concourse.Version) ([]concourse.Version, bool) {
	request := map[string]any{"source": v.cfg.Source}
	if from != nil {
		request["version"] = from
	}
	r := v.exec("check", request)
	if r.code != 0 {
		v.fail(rule, "check exited %d: %s", r.code, brief(r.stderr))
		return nil, false
	}
	var versions []concourse.Version
	if err := json.Unmarshal([]byte(r.stdout), &versions); err != nil || versions == nil {
		v.fail(rule, "check printed %q, want a JSON array of versions", r.stdout)
		return nil, false
	}
	return versions, true
}

func (v *verifier) unknownKey() {
	const key = "conformance_unknown_key"
	source := map[string]any{key: "x"}
	for k, val := range v.cfg.Source {
		source[k] = val
	}
	r := v.exec("check", map[string]any{"source": source})
	switch {
	case r.code == 0:
		v.fail(RuleUnknownKey, "check with source.%s exited 0", key)
	case !strings.Contains(r.stderr, "source."+key):
		v.fail(RuleUnknownKey, "stderr does not name source.%s: %q", key, r.stderr)
	}
}

// exec runs one step through its argv0 symlink and checks the rules every run must keep.
func (v *verifier) exec(step string, request map[string]any) result {
	body, err := json.Marshal(request)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.Timeout)
	defer cancel()
	var args []string
	if step != "check" {
		dir, err := os.MkdirTemp("", "conformance-"+step+"-")
		if err != nil {
			return result{stderr: err.Error(), code: -1}
		}
		defer removeAll(dir)
		args = append(args, dir)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(v.dir, step), args...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), v.cfg.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		r.code = -1
		r.stderr += err.Error()
	}
	v.outputRules(step, r)
	return r
}

func (v *verifier) outputRules(step string, r result) {
	if r.code != 0 && r.stdout != "" {
		v.fail(RuleOneDocument, "%s failed but printed %q on stdout", step, r.stdout)
	}
	if r.code == 0 && !oneDocument(r.stdout) {
		v.fail(RuleOneDocument, "%s printed %q", step, r.stdout)
	}
	for _, secret := range v.cfg.Secrets {
		if secret != "" && (strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret)) {
			v.fail(RuleNoSecrets, "%s printed a secret", step)
		}
	}
}

func oneDocument(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	return dec.Decode(&doc) == io.EOF
}

// link makes check, in and out symlinks to the binary, as a resource image does.
func (v *verifier) link() error {
	binary, err := filepath.Abs(v.cfg.Binary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("resource binary: %w", err)
	}
	v.dir, err = os.MkdirTemp("", "conformance-")
	if err != nil {
		return err
	}
	for _, step := range []string{"check", "in", "out"} {
		if err := os.Symlink(binary, filepath.Join(v.dir, step)); err != nil {
			return err
		}
	}
	return nil
}

func equal(a, b concourse.Version) bool { return a.String() == b.String() }

// brief shortens a step's stderr for a failure message.
func brief(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// removeAll removes a scratch directory of the checks; a leftover in the temporary directory
// cannot change a verdict, so a failure is only reported.
func removeAll(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: could not remove %s: %v\n", dir, err)
	}
}
