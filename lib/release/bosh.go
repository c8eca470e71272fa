package release

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

// BoshCLI creates releases with the real bosh CLI found on PATH (the resource image ships it),
// its output redacted through the logger.
type BoshCLI struct {
	Log *concourse.Logger
}

// CreateRelease runs `bosh create-release --tarball` in releaseDir.
func (b BoshCLI) CreateRelease(ctx context.Context, releaseDir, tarball, version string, final bool) error {
	args := []string{"create-release", "--non-interactive", "--dir", releaseDir, "--tarball", tarball}
	if version != "" {
		args = append(args, "--version", version)
	}
	if final {
		args = append(args, "--final")
	}
	cmd := exec.CommandContext(ctx, "bosh", args...)
	stdout, stderr := b.Log.Pipe(), b.Log.Pipe()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	_ = stdout.Close()
	_ = stderr.Close()
	if err != nil {
		return fmt.Errorf("bosh create-release in %s: %w", releaseDir, err)
	}
	return nil
}
