package concourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/panics"
)

// Resource is one resource type: its check, in and out, over its own Source type and the params
// of get (GP) and put (PP) steps. The kit decodes and validates requests before calling them, and
// turns what they return into Concourse's output.
type Resource[S, GP, PP any] struct {
	Name  string // the binary's name, for usage messages
	Check func(ctx context.Context, env Env, req CheckRequest[S]) ([]Version, error)
	In    func(ctx context.Context, env Env, req InRequest[S, GP]) (Response, error)
	Out   func(ctx context.Context, env Env, req OutRequest[S, PP]) (Response, error)
}

// Env is what a step gets besides its request.
type Env struct {
	Dir   string        // in: the destination directory; out: the build directory; check: empty
	Log   *Logger       // stderr, redacted
	Build BuildMetadata // the build running the step (empty in check)
}

// Process is the outside world of one run, so tests can drive Run without a real process.
type Process struct {
	Args   []string // os.Args
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Signals delivers the signals that stop the step (SIGINT, SIGTERM); nil delivers none.
	Signals <-chan os.Signal
	// StopGrace is how long a stopped step may take to clean up; 0 means StopGrace.
	StopGrace time.Duration
}

// StopGrace is how long a step gets, after SIGTERM or SIGINT, to stop and clean up before the
// kit exits without it. Concourse aborts a step with SIGTERM and kills it 10 s later; a step
// that exits 1 within 5 s has cleaned up and is never killed half-way through its clean-up.
const StopGrace = 4 * time.Second

// Main runs r as the current process and exits: the whole of a resource's main function.
func Main[S, GP, PP any](r Resource[S, GP, PP]) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	code := Run(context.Background(), r, Process{Args: os.Args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Signals: signals})
	os.Exit(code)
}

// Stopped is the cause of a step's context when a signal stopped it.
type Stopped struct{ Signal os.Signal }

func (s *Stopped) Error() string { return "stopped by " + signalName(s.Signal) }

// Run dispatches on argv0 (check, in or out, as symlinked in an image) or on the first argument
// (bin/X check|in|out [dir]), runs the step and returns the exit code: 0 with exactly one JSON
// document on stdout, or 1 with one error message on stderr and nothing on stdout. A panic is
// reported the same way.
//
// A signal from p.Signals cancels the step's context (its cause is a *Stopped), so every wait,
// transfer and read in the step ends and its clean-up runs; the step then fails, whatever it
// returns. A step still running StopGrace after the signal, or at a second signal, is left
// behind: Run fails at once, and Main exits with it.
func Run[S, GP, PP any](ctx context.Context, r Resource[S, GP, PP], p Process) int {
	secrets := NewRedactor()
	log := NewLogger(p.Stderr, secrets, p.Getenv("NO_COLOR") == "")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type result struct {
		out any
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{err: fmt.Errorf("%s %s", r.Name, &panics.Error{Value: v, Stack: debug.Stack()})}
			}
		}()
		out, err := run(ctx, r, p, log)
		done <- result{out, err}
	}()

	var res result
	select {
	case res = <-done:
	case sig := <-p.Signals:
		grace := p.StopGrace
		if grace <= 0 {
			grace = StopGrace
		}
		stopped := &Stopped{Signal: sig}
		log.Warnf("%s: stopping the step and cleaning up (at most %s)", stopped, grace)
		cancel(stopped)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case res = <-done:
			if res.err == nil {
				res.err = fmt.Errorf("%s after the step had finished: its result is not reported", stopped)
			} else if !strings.Contains(res.err.Error(), stopped.Error()) {
				res.err = fmt.Errorf("%s: %w", stopped, res.err)
			}
		case <-timer.C:
			log.Errorf("%s, and the step did not stop within %s: exiting without it", stopped, grace)
			return 1
		case again := <-p.Signals:
			log.Errorf("%s, then by %s: exiting without waiting for the clean-up", stopped, signalName(again))
			return 1
		}
	}
	if res.err != nil {
		log.Errorf("%s", res.err)
		return 1
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res.out); err != nil {
		log.Errorf("encoding the response: %s", err)
		return 1
	}
	if secrets.Contains(buf.String()) {
		log.Errorf("refusing to print a response that contains a secret: metadata and versions are public")
		return 1
	}
	if _, err := p.Stdout.Write(buf.Bytes()); err != nil {
		log.Errorf("writing the response: %s", err)
		return 1
	}
	return 0
}

// signalName names a signal as users know it: SIGTERM, SIGINT.
func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case os.Interrupt:
		return "SIGINT"
	}
	return sig.String()
}

func run[S, GP, PP any](ctx context.Context, r Resource[S, GP, PP], p Process, log *Logger) (any, error) {
	step, dir, err := dispatch(r.Name, p.Args)
	if err != nil {
		return nil, err
	}
	if slices.Contains(strings.Split(p.Getenv("DEBUG"), ","), "sdk") {
		// The Alibaba Cloud RPC SDK reads DEBUG when the process starts and then prints every
		// request (credentials included) on stdout, past the redacting logger.
		return nil, fmt.Errorf("DEBUG=sdk is set: it makes the Alibaba Cloud SDK print requests and credentials on stdout; unset it")
	}
	input, err := io.ReadAll(p.Stdin)
	if err != nil {
		return nil, fmt.Errorf("reading the request from stdin: %w", err)
	}
	var envelope struct {
		Source  json.RawMessage `json:"source"`
		Version json.RawMessage `json:"version"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(input, &envelope); err != nil {
		return nil, fmt.Errorf("the request on stdin is not a JSON object: %w", err)
	}
	env := Env{Dir: dir, Log: log}
	if step != "check" {
		env.Build = BuildMetadataFromEnv(p.Getenv)
	}

	var problems Problems
	var source S
	collect(&problems, DecodeStrict("source", envelope.Source, &source))
	log.Secrets().Register(secretsIn(reflect.ValueOf(source))...)
	version, versionErr := decodeVersion(envelope.Version)
	collect(&problems, versionErr)

	switch step {
	case "check":
		if err := problems.Err(); err != nil {
			return nil, fmt.Errorf("invalid check request: %w", err)
		}
		versions, err := r.Check(ctx, env, CheckRequest[S]{Source: source, Version: version})
		if versions == nil {
			versions = []Version{}
		}
		if err == nil {
			logVersions(log, versions)
		}
		return versions, err
	case "in":
		var params GP
		collect(&problems, DecodeStrict("params", envelope.Params, &params))
		log.Secrets().Register(secretsIn(reflect.ValueOf(params))...)
		if version == nil {
			problems.Add("version", "missing: in needs the version to fetch")
		}
		if err := problems.Err(); err != nil {
			return nil, fmt.Errorf("invalid get request: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the destination directory: %w", err)
		}
		resp, err := r.In(ctx, env, InRequest[S, GP]{Source: source, Version: *version, Params: params})
		return resp.normalised(), err
	default:
		var params PP
		collect(&problems, DecodeStrict("params", envelope.Params, &params))
		log.Secrets().Register(secretsIn(reflect.ValueOf(params))...)
		if err := problems.Err(); err != nil {
			return nil, fmt.Errorf("invalid put request: %w", err)
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("the build directory %q is not a directory", dir)
		}
		resp, err := r.Out(ctx, env, OutRequest[S, PP]{Source: source, Params: params})
		return resp.normalised(), err
	}
}

// dispatch picks the step from argv0 or the first argument and finds the directory argument.
func dispatch(name string, args []string) (step, dir string, err error) {
	usage := fmt.Errorf("usage: %s check | in DESTINATION | out SOURCES (request JSON on stdin); or run it as check, in or out through a symlink, as in a resource image", name)
	if len(args) == 0 {
		return "", "", usage
	}
	step, rest := filepath.Base(args[0]), args[1:]
	if !isStep(step) {
		if len(rest) == 0 || !isStep(rest[0]) {
			return "", "", usage
		}
		step, rest = rest[0], rest[1:]
	}
	switch {
	case step == "check" && len(rest) == 0:
		return step, "", nil
	case step != "check" && len(rest) == 1 && rest[0] != "":
		return step, rest[0], nil
	}
	return "", "", usage
}

func isStep(s string) bool { return s == "check" || s == "in" || s == "out" }

func decodeVersion(raw json.RawMessage) (*Version, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var v Version
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, Problems{{Path: "version", Message: err.Error()}}
	}
	return &v, nil
}

func collect(problems *Problems, err error) {
	var ps Problems
	if errors.As(err, &ps) {
		*problems = append(*problems, ps...)
	} else if err != nil {
		problems.Add("", "%s", err)
	}
}

func (r Response) normalised() Response {
	if r.Version == nil {
		r.Version = Version{}
	}
	if r.Metadata == nil {
		r.Metadata = Metadata{}
	}
	return r
}

// logVersions says on stderr what a check answers, so `fly check-resource` and the check's log
// in the UI show the versions found (at most the last ten, which is what a user looks for).
func logVersions(log *Logger, versions []Version) {
	if len(versions) == 0 {
		log.Printf("no version")
		return
	}
	shown := versions[max(0, len(versions)-10):]
	texts := make([]string, len(shown))
	for i, v := range shown {
		texts[i] = v.String()
	}
	more := ""
	if len(versions) > len(shown) {
		more = fmt.Sprintf(" (and %d older)", len(versions)-len(shown))
	}
	log.Printf("found %d: %s%s", len(versions), strings.Join(texts, "; "), more)
}
