package localconcourse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
)

// Config is what `up` starts.
type Config struct {
	WorkDir string // absolute; logs, PostgreSQL, worker volumes, the registry's blobs, state
	Bin     Binaries
	// Images is `make images`' output: <name>.tar OCI archives (pushed to the registry) and
	// resource-types/<type>/ base-type dirs.
	Images string
	// ResourceTypes are more dirs of base types (e.g. ../shared/concourse-resource-types), merged
	// with the pack's into the one dir the worker is given.
	ResourceTypes []string
	Runtime       string
	// Self is this program (re-run inside the namespaces as `concourse supervise`).
	Self string
	// SuperviseArgs are passed to the supervisor after the work dir (the services' settings).
	SuperviseArgs []string
	Log           io.Writer
}

// Timeouts of up and down: every wait is bounded.
const (
	upTimeout     = 3 * time.Minute
	workerTimeout = 2 * time.Minute
	stopTimeout   = 45 * time.Second
)

// Up starts the local Concourse in new namespaces and returns once web answers and the worker
// is running, with fly logged in as target "local".
func Up(ctx context.Context, c Config) (State, error) {
	if err := Preflight(ThisHost(), c.Runtime); err != nil {
		return State{}, err
	}
	if !filepath.IsAbs(c.WorkDir) {
		return State{}, fmt.Errorf("work dir %q: expected an absolute path", c.WorkDir)
	}
	if s, err := ReadState(c.WorkDir); err == nil && ours(s.UnsharePID, c.WorkDir) {
		return s, fmt.Errorf("a local Concourse already runs from %s (pid %d): cpi-ci concourse down first", c.WorkDir, s.UnsharePID)
	}
	archives, err := filepath.Glob(filepath.Join(c.Images, "*.tar"))
	if err != nil || len(archives) == 0 {
		return State{}, fmt.Errorf("no images in %s: run make images first", c.Images)
	}
	// Every up starts empty: a database and volumes of an earlier run would name containers and
	// a worker that are gone (a stale "running" worker would even pass the wait below).
	for _, d := range []string{"postgres", "postgres-socket", "worker", "registry", "emulator", "fly-home"} {
		if err := os.RemoveAll(filepath.Join(c.WorkDir, d)); err != nil {
			return State{}, err
		}
	}
	for _, d := range []string{"logs", "fly-home"} {
		if err := os.MkdirAll(filepath.Join(c.WorkDir, d), 0o755); err != nil {
			return State{}, err
		}
	}
	if err := mergeTypes(filepath.Join(c.WorkDir, "resource-types"), append([]string{filepath.Join(c.Images, "resource-types")}, c.ResourceTypes...)); err != nil {
		return State{}, err
	}
	if _, err := os.Stat(filepath.Join(c.WorkDir, "resource-types", "registry-image", "resource_metadata.json")); err != nil {
		return State{}, errors.New("no registry-image base type: pipelines pull resource_types and task images with it; give --resource-types DIR (e.g. ../shared/concourse-resource-types)")
	}
	password, err := randomHex(12)
	if err != nil {
		return State{}, err
	}
	st := State{URL: "http://" + WebAddr, Password: password, Fly: c.Bin.Fly}
	if err := writeState(c.WorkDir, st); err != nil {
		return st, err
	}

	hostMnt, err := hostMountNamespaces()
	if err != nil {
		return st, err
	}
	logFile := filepath.Join(c.WorkDir, "logs", "supervisor.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		return st, err
	}
	defer func() { _ = logOut.Close() }() // the supervisor holds its own descriptor of it
	args := []string{"--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--net", "--propagation", "private", "--",
		c.Self, "concourse", "supervise", "--work-dir", c.WorkDir, "--host-mount-ns", hostMnt,
		"--concourse", c.Bin.Concourse, "--init", c.Bin.Init, "--images", c.Images}
	args = append(args, c.SuperviseArgs...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The password reaches the supervisor through its environment, never its command line.
	cmd.Env = append(os.Environ(), "CPI_CI_CONCOURSE_PASSWORD="+password)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return st, fmt.Errorf("starting unshare: %w", err)
	}
	st.UnsharePID = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := writeState(c.WorkDir, st); err != nil {
		return st, err
	}
	say(c.Log, "started the namespaces (unshare pid %d); logs in %s\n", st.UnsharePID, filepath.Join(c.WorkDir, "logs"))

	fail := func(err error) (State, error) {
		_ = Down(context.Background(), c.WorkDir, io.Discard)
		return st, fmt.Errorf("%w\nlast lines of %s:\n%s", err, logFile, image.Tail(logFile, 20))
	}
	deadline := time.Now().Add(upTimeout)
	for {
		s, err := ReadState(c.WorkDir)
		if err == nil && s.Ready {
			st = s
			break
		}
		select {
		case err := <-exited:
			return fail(fmt.Errorf("the supervisor exited before Concourse was up: %v", err))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the local Concourse was not up after %s", upTimeout))
		}
	}
	st.InnerPID = innerPID(st.UnsharePID)
	if st.InnerPID == 0 {
		return fail(errors.New("cannot find the supervisor inside the namespaces"))
	}
	if err := writeState(c.WorkDir, st); err != nil {
		return fail(err)
	}
	say(c.Log, "web up in %s\n", time.Since(start).Round(100*time.Millisecond))
	if out, err := Fly(ctx, c.WorkDir, "", "login", "-c", st.URL, "-u", User, "-p", st.Password); err != nil {
		return fail(fmt.Errorf("fly login: %w: %s", err, out))
	}
	wdeadline := time.Now().Add(workerTimeout)
	for {
		out, err := Fly(ctx, c.WorkDir, "", "workers")
		if err == nil && strings.Contains(out, "running") {
			break
		}
		if time.Now().After(wdeadline) {
			return fail(fmt.Errorf("no running worker after %s: %s", workerTimeout, out))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(time.Second):
		}
	}
	say(c.Log, "worker running in %s\n", time.Since(start).Round(100*time.Millisecond))
	return st, nil
}

// hostMountNamespaces are the mount namespaces the supervisor must not run in: this process's
// (the host's, as far as up can see) and PID 1's when it may be read (not in every container).
func hostMountNamespaces() (string, error) {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return "", fmt.Errorf("reading this process's mount namespace: %w", err)
	}
	ns := []string{self}
	if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && init != self {
		ns = append(ns, init)
	}
	return strings.Join(ns, ","), nil
}

// mergeTypes makes dst hold one entry per base type found in srcs (symbolic links to them):
// the worker takes one dir, and the shared types must not be copied.
func mergeTypes(dst string, srcs []string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, src := range srcs {
		entries, err := os.ReadDir(src)
		if err != nil {
			return fmt.Errorf("resource types: %w", err)
		}
		for _, e := range entries {
			dir := filepath.Join(src, e.Name())
			if _, err := os.Stat(filepath.Join(dir, "resource_metadata.json")); err != nil {
				continue
			}
			link := filepath.Join(dst, e.Name())
			if _, err := os.Lstat(link); err == nil {
				return fmt.Errorf("resource type %s is given twice (%s)", e.Name(), dir)
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if err := os.Symlink(abs, link); err != nil {
				return err
			}
		}
	}
	return nil
}

// Types lists the base types in the merged dir.
func Types(workDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(workDir, "resource-types"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Down stops what Up started: it signals only the unshare process recorded in the work dir (when
// it is still that process), waits for it, and fails if mounts remain under the work dir.
func Down(ctx context.Context, workDir string, log io.Writer) error {
	st, err := ReadState(workDir)
	if err != nil {
		return err
	}
	if ours(st.UnsharePID, workDir) {
		say(log, "stopping the local Concourse (unshare pid %d)\n", st.UnsharePID)
		// SIGTERM reaches unshare, which forwards nothing: signal the supervisor inside for a
		// clean stop, then unshare; --kill-child ends whatever is left.
		if inner := innerPID(st.UnsharePID); inner > 0 {
			_ = syscall.Kill(inner, syscall.SIGTERM)
		}
		if !waitGone(ctx, st.UnsharePID, stopTimeout) {
			_ = syscall.Kill(st.UnsharePID, syscall.SIGKILL)
			if !waitGone(ctx, st.UnsharePID, 10*time.Second) {
				return fmt.Errorf("unshare pid %d did not stop", st.UnsharePID)
			}
		}
	} else {
		say(log, "the local Concourse in %s is not running\n", workDir)
	}
	st.Ready, st.UnsharePID, st.InnerPID = false, 0, 0
	if err := writeState(workDir, st); err != nil {
		return err
	}
	mounts, err := MountsUnder(workDir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("mounts left under %s: %s", workDir, strings.Join(mounts, ", "))
	}
	return nil
}

func waitGone(ctx context.Context, pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// Fly runs the built fly inside the namespace's network (where web listens), in dir (default the
// current one), with its own HOME so the user's ~/.flyrc is not touched, and returns its output.
func Fly(ctx context.Context, workDir, dir string, args ...string) (string, error) {
	var out bytes.Buffer
	err := FlyTo(ctx, workDir, dir, nil, &out, &out, args...)
	return out.String(), err
}

// FlyTo is Fly with the streams given; "-t local" is added unless args start with a -t.
func FlyTo(ctx context.Context, workDir, dir string, stdin io.Reader, stdout, stderr io.Writer, args ...string) error {
	st, err := ReadState(workDir)
	if err != nil {
		return err
	}
	if !ours(st.UnsharePID, workDir) || st.InnerPID == 0 {
		return fmt.Errorf("the local Concourse in %s is not running (cpi-ci concourse up)", workDir)
	}
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	nargs := []string{"--target", fmt.Sprint(st.InnerPID), "--net", "--", st.Fly}
	if len(args) == 0 || args[0] != "-t" {
		nargs = append(nargs, "-t", Target)
	}
	nargs = append(nargs, args...)
	cmd := exec.CommandContext(ctx, "nsenter", nargs...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(workDir, "fly-home"))
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// Exec runs any command in the namespace's network (to reach the emulator or the registry).
func Exec(ctx context.Context, workDir string, stdout, stderr io.Writer, name string, args ...string) error {
	cmd, err := Command(ctx, workDir, name, args...)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// Command is the command Exec runs, not started: for a service the caller runs in the
// namespace's network for a while (the demo's git daemon) and stops itself.
func Command(ctx context.Context, workDir, name string, args ...string) (*exec.Cmd, error) {
	st, err := ReadState(workDir)
	if err != nil {
		return nil, err
	}
	if !ours(st.UnsharePID, workDir) || st.InnerPID == 0 {
		return nil, fmt.Errorf("the local Concourse in %s is not running (cpi-ci concourse up)", workDir)
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", fmt.Sprint(st.InnerPID), "--net", "--", name}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	return cmd, nil
}

// Running reports whether the work dir's Concourse is up.
func Running(workDir string) (State, bool) {
	st, err := ReadState(workDir)
	return st, err == nil && st.Ready && ours(st.UnsharePID, workDir)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
