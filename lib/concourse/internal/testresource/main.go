// Command testresource is a tiny resource over a directory of numbered files. It exists only to
// drive the protocol kit and the conformance checks from tests, the way Concourse drives a real
// resource: built as a binary, fed JSON on stdin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// Source points at the directory holding the versions.
type Source struct {
	Dir       string             `json:"dir" required:"true"`
	Token     string             `json:"token" secret:"true"`
	Timeout   concourse.Duration `json:"timeout"`
	Regions   []string           `json:"regions"`
	Limits    Limits             `json:"limits"`
	Misbehave string             `json:"misbehave"`
}

// Limits is a nested block, to show nested paths in errors.
type Limits struct {
	MaxVersions int `json:"max_versions"`
}

// Misbehaviours break the protocol on purpose, so the conformance checks can be seen to fail.
var misbehaviours = []string{"", "check-returns-all", "check-drops-current", "in-ignores-missing", "leak-token", "extra-stdout"}

// Validate checks values beyond their shape.
func (s Source) Validate() error {
	var problems concourse.Problems
	if !slices.Contains(misbehaviours, s.Misbehave) {
		problems.Add("misbehave", "expected one of %q, got %q", misbehaviours[1:], s.Misbehave)
	}
	if s.Limits.MaxVersions < 0 {
		problems.Add("limits.max_versions", "expected 0 or more, got %d", s.Limits.MaxVersions)
	}
	return problems.Err()
}

// GetParams make in do what a test needs to see.
type GetParams struct {
	Log         []string `json:"log"`          // printed through the logger
	ChildOutput string   `json:"child_output"` // printed by a child process on stdout and stderr
	SecretFile  string   `json:"secret_file"`  // its content is registered as a secret, then logged and echoed by a child
	Panic       string   `json:"panic"`
	Fail        string   `json:"fail"`
	// Block waits before fetching: "context" until the step is stopped, then cleans up (writes
	// the file "cleaned-up" in the destination); "forever" ignoring the context, as a read of
	// a FIFO would.
	Block string `json:"block"`
}

// PutParams create a version.
type PutParams struct {
	Content string `json:"content" required:"true"`
}

// Version is the typed view of a version.
type Version struct {
	Number string `json:"number" required:"true"`
}

func main() {
	concourse.Main(concourse.Resource[Source, GetParams, PutParams]{
		Name: "testresource", Check: check, In: in, Out: out,
	})
}

func numbers(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func check(_ context.Context, env concourse.Env, req concourse.CheckRequest[Source]) ([]concourse.Version, error) {
	if req.Source.Misbehave == "leak-token" {
		fmt.Fprintln(os.Stderr, "token is", req.Source.Token)
	}
	if req.Source.Misbehave == "extra-stdout" {
		fmt.Println("hello")
	}
	all, err := numbers(req.Source.Dir)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	from := all[len(all)-1]
	if req.Version != nil {
		var v Version
		if err := concourse.DecodeVersion(*req.Version, &v); err != nil {
			return nil, err
		}
		from, _ = strconv.Atoi(v.Number) // not a number: from 0, as a first check
		if req.Source.Misbehave == "check-drops-current" {
			from++
		}
	} else if req.Source.Misbehave == "check-returns-all" {
		from = all[0]
	}
	var versions []concourse.Version
	for _, n := range all {
		if n >= from {
			versions = append(versions, concourse.EncodeVersion(Version{Number: strconv.Itoa(n)}))
		}
	}
	env.Log.Printf("found %d versions", len(all))
	return versions, nil
}

func in(ctx context.Context, env concourse.Env, req concourse.InRequest[Source, GetParams]) (concourse.Response, error) {
	var v Version
	if err := concourse.DecodeVersion(req.Version, &v); err != nil {
		return concourse.Response{}, err
	}
	p := req.Params
	if p.Panic != "" {
		panic(p.Panic)
	}
	if p.Fail != "" {
		return concourse.Response{}, fmt.Errorf("failing as asked: %s", p.Fail)
	}
	switch p.Block {
	case "context":
		env.Log.Printf("waiting")
		<-ctx.Done()
		if err := os.WriteFile(filepath.Join(env.Dir, "cleaned-up"), nil, 0o644); err != nil {
			return concourse.Response{}, err
		}
		return concourse.Response{}, fmt.Errorf("waiting: %w", context.Cause(ctx))
	case "forever":
		env.Log.Printf("waiting")
		time.Sleep(time.Hour)
	}
	childOutput := p.ChildOutput
	if p.SecretFile != "" {
		secret, err := os.ReadFile(p.SecretFile)
		if err != nil {
			return concourse.Response{}, err
		}
		env.Log.Secrets().Register(string(secret))
		env.Log.Printf("read secret:\n%s", secret)
		childOutput += string(secret)
	}
	for _, line := range p.Log {
		env.Log.Printf("%s", line)
	}
	if childOutput != "" {
		if err := echo(ctx, env.Log, childOutput); err != nil {
			return concourse.Response{}, err
		}
	}
	content, err := os.ReadFile(filepath.Join(req.Source.Dir, v.Number))
	if err != nil && req.Source.Misbehave != "in-ignores-missing" {
		return concourse.Response{}, fmt.Errorf("version %s is gone: %w", v.Number, err)
	}
	if err := os.WriteFile(filepath.Join(env.Dir, "content"), content, 0o644); err != nil {
		return concourse.Response{}, err
	}
	var metadata concourse.Metadata
	metadata.Add("number", v.Number)
	metadata.Add("build", env.Build.URL())
	return concourse.Response{Version: concourse.EncodeVersion(v), Metadata: metadata}, nil
}

// echo runs a child process that prints text on both its stdout and stderr, through the logger.
func echo(ctx context.Context, log *concourse.Logger, text string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", `printf '%s\n' "$TEXT"; printf '%s\n' "$TEXT" >&2`)
	cmd.Env = append(os.Environ(), "TEXT="+text)
	stdout, stderr := log.Pipe(), log.Pipe()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	_ = stdout.Close() // flushing a last partial line cannot fail the run
	_ = stderr.Close()
	return err
}

func out(_ context.Context, _ concourse.Env, req concourse.OutRequest[Source, PutParams]) (concourse.Response, error) {
	all, err := numbers(req.Source.Dir)
	if err != nil {
		return concourse.Response{}, err
	}
	next := 1
	if len(all) > 0 {
		next = all[len(all)-1] + 1
	}
	v := Version{Number: strconv.Itoa(next)}
	if err := os.WriteFile(filepath.Join(req.Source.Dir, v.Number), []byte(req.Params.Content), 0o644); err != nil {
		return concourse.Response{}, err
	}
	var metadata concourse.Metadata
	metadata.Add("content", req.Params.Content)
	return concourse.Response{Version: concourse.EncodeVersion(v), Metadata: metadata}, nil
}
