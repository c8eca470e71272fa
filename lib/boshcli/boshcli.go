// Package boshcli drives the real bosh CLI as a child process: the one home for running bosh,
// with its output streamed through the caller's redacting log.
//
// It runs whatever `bosh` is on PATH (the images ship it; tests put bin/ first) and knows nothing
// of Concourse.
package boshcli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
)

// Log is where bosh's output goes, line by line, redacted: the kit's logger is one.
type Log interface {
	Printf(format string, args ...any)
	Pipe() io.WriteCloser
}

// CLI is the bosh CLI found on PATH.
type CLI struct {
	Log Log
}

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
	return b.run(ctx, "create-release in "+releaseDir, args...)
}

// AddBlob runs `bosh add-blob` in releaseDir: file becomes the blob at blobPath (as
// config/blobs.yml names it, such as "golang/go.tgz").
func (b CLI) AddBlob(ctx context.Context, releaseDir, file, blobPath string) error {
	return b.run(ctx, "add-blob "+blobPath+" in "+releaseDir, "add-blob", "--non-interactive", "--dir", releaseDir, file, blobPath)
}

func (b CLI) run(ctx context.Context, what string, args ...string) error {
	cmd := exec.CommandContext(ctx, "bosh", args...)
	stdout, stderr := b.Log.Pipe(), b.Log.Pipe()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	_ = stdout.Close() // the pipes only flush a last partial line into the log:
	_ = stderr.Close() // closing them cannot fail the run
	if err != nil {
		return fmt.Errorf("bosh %s: %w", what, err)
	}
	return nil
}
