// Command cpi-ci is the pack's own CLI: the helpers task scripts call and the local demo. Each
// subcommand parses its flags and hands the work to lib; no cloud SDK is called from here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: it gets its own arguments and the process's streams.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, io stdio) error
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// printf writes to stdout; a failed write fails the command, so a cut-off answer never passes.
func (s stdio) printf(format string, args ...any) error {
	_, err := fmt.Fprintf(s.out, format, args...)
	return err
}

var commands = map[string]command{
	"blob":         {"upload, download, list and delete artifacts in OSS", runBlob},
	"bats":         {"the BATs deployment spec from an environment's metadata and a stemcell; rspec JSON to JUnit", runBats},
	"bosh-version": {"order, filter and compute BOSH versions exactly as the bosh CLI does", runBoshVersion},
	"cloud":        {"task credentials for tools, stock-based zone choice, build locks over OSS", runCloud},
	"concourse":    {"a real local Concourse (web, containerd worker, PostgreSQL, registry, emulator): up, down, status, fly", runConcourse},
	"demo":         {"the pack's pipelines end to end on the local Concourse, with the external inputs as git repositories (make demo)", runDemo},
	"director":     {"director envs (bosh-director-env resource): break expired leases", runDirector},
	"e2e":          {"the end-to-end test's cloud-config, deployment manifest, errand list, errand vars and report", runE2E},
	"execute":      {"run a Concourse task on this machine as a worker would (fly execute without a cluster)", runExecute},
	"images":       {"render the images' Dockerfiles and build the images hermetically (OCI + base types)", runImages},
	"integration":  {"run the CPI's integration suite: raw image in OSS, CPI_* from metadata, credentials in its environment", runIntegration},
	"junit":        {"turn go test -json on stdin into a JUnit XML report", runJUnit},
	"redact":       {"run a command with the values of secret environment variables redacted from its output", runRedact},
	"release":      {"abort the unfinished uploads killed bosh-release puts left", runRelease},
	"sha256":       {"print files' SHA-256 as sha256sum does, with the CPU's SHA instructions", runSHA256},
	"sim":          {"run the Alibaba Cloud emulator (ECS, OSS, STS, instance metadata) as a server", runSim},
	"terraform":    {"the environment task's terraform helpers: init with retries, outputs to metadata and ssh.key", runTerraform},
	"stemcell":     {"prune unpublished light stemcell images and delete whole versions", runStemcell},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		_, _ = fmt.Fprint(s.err, usage()) // stderr is the last resort: nowhere to report its failure
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		_, _ = fmt.Fprintf(s.err, "error: unknown command %q\n\n%s", args[0], usage()) // the exit status tells it too
		return 1
	}
	if err := cmd.run(ctx, args[1:], s); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var code exitCode
		if errors.As(err, &code) {
			return int(code) // the command has said what it had to
		}
		_, _ = fmt.Fprintf(s.err, "error: %s\n", err) // the exit status tells it too
		return 1
	}
	return 0
}

func usage() string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: cpi-ci COMMAND [ARGS]\n\ncommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-14s %s\n", name, commands[name].summary)
	}
	return b.String()
}

// subcommand is one subcommand of a command that has several.
type subcommand func(ctx context.Context, args []string, s stdio) error

// dispatch runs the subcommand args[0] names, or says what is missing or unknown, with usage.
func dispatch(ctx context.Context, args []string, s stdio, usage string, subs map[string]subcommand) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", usage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		_, _ = fmt.Fprint(s.err, usage) // stderr is the last resort: nowhere to report its failure
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("unknown subcommand %q\n\n%s", args[0], usage)
	}
	return sub(ctx, args[1:], s)
}

// flags returns a flag set that reports errors instead of exiting, writing help to s.err.
func flags(name string, s stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("cpi-ci "+name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	return fs
}
