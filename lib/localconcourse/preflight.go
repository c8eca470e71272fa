package localconcourse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Runtime is the only worker runtime the local Concourse runs. Houdini runs containers' processes
// on the host: a failed container setup once bind-mounted the host's /dev into a volume that the
// sweeper then deleted.
const Runtime = "containerd"

// Host is what preflight looks at, so that refusals can be tested on any machine.
type Host struct {
	GOOS     string
	EUID     int
	LookPath func(string) (string, error)
}

// ThisHost is the machine the process runs on.
func ThisHost() Host { return Host{GOOS: runtime.GOOS, EUID: os.Geteuid(), LookPath: exec.LookPath} }

// Preflight refuses clearly where the local Concourse cannot run, naming everything missing.
func Preflight(h Host, workerRuntime string) error {
	var problems []string
	if workerRuntime != Runtime {
		problems = append(problems, fmt.Sprintf("runtime %q refused: only %s runs here (houdini runs containers on the host and can delete its /dev)", workerRuntime, Runtime))
	}
	if h.GOOS != "linux" {
		problems = append(problems, fmt.Sprintf("needs Linux (namespaces, containerd), this is %s", h.GOOS))
	}
	if h.EUID != 0 {
		problems = append(problems, "needs root (namespaces, mounts, containerd)")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip", "gcc", "initdb", "postgres"} {
		if _, err := h.LookPath(tool); err != nil {
			problems = append(problems, fmt.Sprintf("needs %s on PATH", tool))
		}
	}
	if len(problems) > 0 {
		return errors.New("cannot start the local Concourse: " + strings.Join(problems, "; "))
	}
	return nil
}

// Package is a Debian package the local Concourse needs and a file that shows it is installed.
type Package struct{ Name, File string }

// Packages are the Debian packages the worker needs (§5a of DESIGN.md).
var Packages = []Package{
	{"containerd", "/usr/bin/containerd"},
	{"runc", "/usr/sbin/runc"},
	{"containernetworking-plugins", "/usr/lib/cni/bridge"},
	{"iptables", "/usr/sbin/iptables"},
}

// EnsurePackages installs the missing Debian packages with apt-get, saying so. apt-get is only
// run when something is missing, and each run is bounded in time.
func EnsurePackages(ctx context.Context, log io.Writer) error {
	var missing []string
	for _, p := range Packages {
		if _, err := os.Stat(p.File); err != nil {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	say(log, "installing Debian packages the worker needs: %s (apt-get)\n", strings.Join(missing, " "))
	install := func() error {
		return runBounded(ctx, 10*time.Minute, log, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...)
	}
	if err := install(); err != nil {
		say(log, "apt-get install failed; updating the package lists once and retrying\n")
		if err := runBounded(ctx, 5*time.Minute, log, "apt-get", "update"); err != nil {
			return fmt.Errorf("apt-get update: %w", err)
		}
		if err := install(); err != nil {
			return fmt.Errorf("installing %s: %w", strings.Join(missing, " "), err)
		}
	}
	return nil
}

func runBounded(ctx context.Context, timeout time.Duration, log io.Writer, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}
