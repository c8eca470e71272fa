// Package boshcli drives the real bosh CLI as a child process: the one home for running bosh,
// with its output streamed through the caller's redacting log.
//
// It runs whatever `bosh` is on PATH (the images ship it; tests put bin/ first), or the CLI at
// Path, and knows nothing of Concourse.
package boshcli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Log is where bosh's output goes, line by line, redacted: the kit's logger is one.
type Log interface {
	Printf(format string, args ...any)
	Pipe() io.WriteCloser
}

// CLI is the bosh CLI found on PATH, or at Path.
type CLI struct {
	Log  Log
	Path string // empty: `bosh` from PATH
}

// stopGrace is how long bosh gets to finish after SIGTERM (its context ended) before it is
// killed: create-env writes its state file on the way out.
const stopGrace = 2 * time.Second

// CreateRelease runs `bosh create-release --tarball` in releaseDir; an empty version lets bosh
// pick the next one.
func (b CLI) CreateRelease(ctx context.Context, releaseDir, tarball, version string, final bool) error {
	args := []string{"create-release", "--non-interactive", "--dir", releaseDir, "--tarball", tarball}
	if version != "" {
		args = append(args, "--version", version)
	}
	if final {
		args = append(args, "--final")
	}
	return b.run(ctx, "create-release in "+releaseDir, runOptions{}, args...)
}

// AddBlob runs `bosh add-blob` in releaseDir: file becomes the blob at blobPath (as
// config/blobs.yml names it, such as "golang/go.tgz").
func (b CLI) AddBlob(ctx context.Context, releaseDir, file, blobPath string) error {
	return b.run(ctx, "add-blob "+blobPath+" in "+releaseDir, runOptions{}, "add-blob", "--non-interactive", "--dir", releaseDir, file, blobPath)
}

// runOptions are what some runs set besides the arguments.
type runOptions struct {
	dir    string    // working directory; empty: the caller's
	env    []string  // added to the caller's environment
	stdout io.Writer // instead of the log (interpolate's result)
	watch  func()    // called before each write of bosh's output to the log
}

// watched calls watch before every write to w.
type watched struct {
	w     io.Writer
	watch func()
}

func (w watched) Write(p []byte) (int, error) {
	w.watch()
	return w.w.Write(p)
}

func (b CLI) run(ctx context.Context, what string, opts runOptions, args ...string) error {
	path := b.Path
	if path == "" {
		path = "bosh"
	}
	cmd := exec.CommandContext(ctx, path, args...)
	// When ctx ends (SIGTERM to the resource), bosh is asked to stop, not killed: it gets to
	// write what it has (create-env's state) and is killed only after stopGrace.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	cmd.Dir = opts.dir
	if len(opts.env) > 0 {
		cmd.Env = append(os.Environ(), opts.env...)
	}
	stdout, stderr := b.Log.Pipe(), b.Log.Pipe()
	cmd.Stdout, cmd.Stderr = io.Writer(stdout), io.Writer(stderr)
	if opts.watch != nil {
		cmd.Stdout, cmd.Stderr = watched{stdout, opts.watch}, watched{stderr, opts.watch}
	}
	if opts.stdout != nil {
		cmd.Stdout = opts.stdout
	}
	err := cmd.Run()
	_ = stdout.Close() // the pipes only flush a last partial line into the log:
	_ = stderr.Close() // closing them cannot fail the run
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("bosh %s: stopped (%v): %w", what, context.Cause(ctx), err)
		}
		return fmt.Errorf("bosh %s: %w", what, err)
	}
	return nil
}
