package localconcourse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Version is the Concourse release tools/concourse and tools/fly pin.
const Version = "7.14.2"

// buildFormat changes when the way the binaries are built changes.
const buildFormat = "concourse-build-v1"

// buildTimeout bounds one cold build (about 4 minutes on 2 cores).
const buildTimeout = 20 * time.Minute

// Binaries are the built concourse (with its init next to it, where the worker looks) and fly.
type Binaries struct {
	Concourse, Init, Fly string
}

// EnsureBinaries returns concourse, init and fly from cacheDir, building them from the pinned
// tools modules of repoDir when the cache has no build for these inputs (go.mod, go.sum, the Go
// version). init is Concourse's C init, built static from the pinned module's source.
func EnsureBinaries(ctx context.Context, repoDir, cacheDir string, log io.Writer) (Binaries, error) {
	goVersion, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("building concourse needs go on PATH: %w", err)
	}
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n%s\n", buildFormat, strings.TrimSpace(string(goVersion))) // a hash never fails a write
	for _, f := range []string{"tools/concourse/go.mod", "tools/concourse/go.sum", "tools/fly/go.mod", "tools/fly/go.sum"} {
		raw, err := os.ReadFile(filepath.Join(repoDir, f))
		if err != nil {
			return Binaries{}, fmt.Errorf("reading the pin: %w", err)
		}
		_, _ = fmt.Fprintf(h, "%s %d\n", f, len(raw)) // a hash never fails a write
		h.Write(raw)
	}
	dir := filepath.Join(cacheDir, "concourse", hex.EncodeToString(h.Sum(nil))[:16])
	bin := Binaries{
		Concourse: filepath.Join(dir, "bin", "concourse"),
		Init:      filepath.Join(dir, "bin", "init"),
		Fly:       filepath.Join(dir, "bin", "fly"),
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return bin, nil
	}
	say(log, "building concourse %s, init and fly into %s (cache miss)\n", Version, dir)
	start := time.Now()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return bin, err
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	ldflags := "-s -w -X github.com/concourse/concourse.Version=" + Version
	builds := []struct{ module, pkg, out string }{
		{"tools/concourse", "github.com/concourse/concourse/cmd/concourse", bin.Concourse},
		{"tools/fly", "github.com/concourse/concourse/fly", bin.Fly},
	}
	for _, b := range builds {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", b.out, b.pkg)
		cmd.Dir = filepath.Join(repoDir, b.module)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = log, log
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Run(); err != nil {
			return bin, fmt.Errorf("building %s: %w", b.pkg, err)
		}
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/concourse/concourse")
	cmd.Dir = filepath.Join(repoDir, "tools/concourse")
	src, err := cmd.Output()
	if err != nil {
		return bin, fmt.Errorf("finding concourse's source: %w", err)
	}
	initC := filepath.Join(strings.TrimSpace(string(src)), "cmd", "init", "init.c")
	gcc := exec.CommandContext(ctx, "gcc", "-O2", "-static", "-o", bin.Init, initC)
	gcc.Stdout, gcc.Stderr = log, log
	if err := gcc.Run(); err != nil {
		return bin, fmt.Errorf("building init from %s: %w", initC, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), []byte(time.Since(start).Round(time.Second).String()+"\n"), 0o644); err != nil {
		return bin, err
	}
	say(log, "built concourse, init and fly in %s\n", time.Since(start).Round(time.Second))
	return bin, nil
}
