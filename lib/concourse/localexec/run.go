package localexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/concourse/concourse/atc"
)

// Run is one execution of a task on this machine.
type Run struct {
	Config  atc.TaskConfig
	Inputs  map[string]string // input name → directory on the host, copied in
	Outputs map[string]string // output name → directory on the host the output is copied into
	Params  map[string]string // step params: override the task's params
	Env     []string          // the environment the task's params are added to (the host's, for cpi-ci execute)
	Stdout  io.Writer
	Stderr  io.Writer
	// ScratchDir holds the task's working directory while it runs; "" is the system temp dir.
	ScratchDir string
}

// Execute checks the inputs and outputs against the task's, runs it and copies its outputs back,
// whatever its exit code (as a worker keeps them for the next steps). It returns the task's exit
// code; an error means the task could not be run or its outputs not copied.
func (r Run) Execute(ctx context.Context) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	work, err := os.MkdirTemp(r.ScratchDir, "localexec-")
	if err != nil {
		return 0, fmt.Errorf("making the working directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }() // scratch: nothing of it is the caller's
	for _, in := range r.Config.Inputs {
		src, given := r.Inputs[in.Name]
		if !given {
			continue // an optional input left out: a worker does not create its directory either
		}
		if err := copyTree(src, filepath.Join(work, pathOr(in.Path, in.Name))); err != nil {
			return 0, fmt.Errorf("input %s: %w", in.Name, err)
		}
	}
	dirs := []string{}
	for _, out := range r.Config.Outputs {
		dirs = append(dirs, pathOr(out.Path, out.Name))
	}
	for _, c := range r.Config.Caches {
		dirs = append(dirs, c.Path)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return 0, err
		}
	}
	code, runErr := r.start(ctx, work)
	if runErr != nil {
		return 0, runErr
	}
	for _, out := range r.Config.Outputs {
		dst, wanted := r.Outputs[out.Name]
		if !wanted {
			continue
		}
		if err := moveTree(filepath.Join(work, pathOr(out.Path, out.Name)), dst); err != nil {
			return code, fmt.Errorf("output %s: %w", out.Name, err)
		}
	}
	return code, nil
}

// check refuses missing and unknown inputs and unknown outputs, all named in one error.
func (r Run) check() error {
	var problems []string
	known := map[string]bool{}
	var names []string
	for _, in := range r.Config.Inputs {
		known[in.Name] = true
		names = append(names, in.Name)
		src, given := r.Inputs[in.Name]
		switch {
		case !given && !in.Optional:
			problems = append(problems, fmt.Sprintf("missing input %q", in.Name))
		case given:
			if info, err := os.Stat(src); err != nil || !info.IsDir() {
				problems = append(problems, fmt.Sprintf("input %q: %s is not a directory", in.Name, src))
			}
		}
	}
	for _, name := range sortedKeys(r.Inputs) {
		if !known[name] {
			problems = append(problems, fmt.Sprintf("unknown input %q (the task's inputs: %s)", name, strings.Join(names, ", ")))
		}
	}
	outputs := map[string]bool{}
	names = nil
	for _, out := range r.Config.Outputs {
		outputs[out.Name] = true
		names = append(names, out.Name)
	}
	for _, name := range sortedKeys(r.Outputs) {
		if !outputs[name] {
			problems = append(problems, fmt.Sprintf("unknown output %q (the task's outputs: %s)", name, strings.Join(names, ", ")))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// start runs the task's command in its working directory and returns its exit code; a command
// killed by a signal exits 128+signal, as a shell reports it.
func (r Run) start(ctx context.Context, work string) (int, error) {
	cmd := exec.CommandContext(ctx, r.Config.Run.Path, r.Config.Run.Args...)
	cmd.Dir = filepath.Join(work, r.Config.Run.Dir)
	if strings.Contains(r.Config.Run.Path, "/") && !filepath.IsAbs(r.Config.Run.Path) {
		cmd.Path = filepath.Join(cmd.Dir, r.Config.Run.Path) // relative to run.dir, as a worker resolves it; a bare name is looked up on PATH
	}
	env := append([]string{}, r.Env...)
	for _, k := range sortedKeys(r.Config.Params) {
		if _, override := r.Params[k]; !override {
			env = append(env, k+"="+r.Config.Params[k])
		}
	}
	for _, k := range sortedKeys(r.Params) {
		env = append(env, k+"="+r.Params[k])
	}
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	default:
		return 0, fmt.Errorf("running %s: %w", r.Config.Run.Path, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// moveTree puts directory src at dst: renamed when dst is missing or an empty directory on the
// same filesystem (the scratch directory is removed anyway, so a large output costs nothing),
// copied into dst otherwise.
func moveTree(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	return copyTree(src, dst)
}

// copyTree copies directory src into dst (created if missing): regular files with their modes and
// times, symlinks as symlinks. Anything else (a socket, a device) is refused by name.
func copyTree(src, dst string) error {
	type dir struct {
		path string
		mode fs.FileMode
		mod  time.Time
	}
	var dirs []dir
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			dirs = append(dirs, dir{target, mode.Perm(), info.ModTime()})
			return os.MkdirAll(target, 0o755) // writable until its files are in: modes are set last
		case mode.IsRegular():
			return copyFile(path, target, mode.Perm(), info.ModTime())
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return fmt.Errorf("%s: cannot copy a %s", path, mode.Type())
		}
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first, so a parent's time is not touched again
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return err
		}
		if err := os.Chtimes(dirs[i].path, dirs[i].mod, dirs[i].mod); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode, mod time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read-only: its close has nothing to report
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // the copy's error is the one to report
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(dst, perm); err != nil { // the umask may have narrowed it
		return err
	}
	return os.Chtimes(dst, mod, mod)
}
