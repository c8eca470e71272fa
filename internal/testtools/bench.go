package testtools

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SimProcess starts `cpi-ci sim` (the binary at cli) as its own process on a free loopback port,
// with extra flags, and returns its URL and a function that stops it.
func SimProcess(t testing.TB, cli string, flags ...string) (string, func()) {
	t.Helper()
	args := append([]string{"sim", "--listen", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(cli, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fails only when it has already exited, which Wait reaps
		_ = cmd.Wait()                          // the exit status of a terminated emulator says nothing
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	const prefix = "sim listening on "
	if err != nil || !strings.HasPrefix(line, prefix) {
		stop()
		t.Fatalf("the emulator did not say where it listens: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // drains stdout so the emulator never blocks: ends when it exits
	return strings.TrimSpace(strings.TrimPrefix(line, prefix)), stop
}

// Measured is one command's wall time and peak resident memory.
type Measured struct {
	Wall   time.Duration
	RSSKiB int64
}

// Measure runs a command to completion (failing the test if it fails) and measures it.
func Measure(t testing.TB, env []string, name string, args ...string) Measured {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	m := Measured{Wall: time.Since(start)}
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.RSSKiB = usage.Maxrss
	}
	return m
}

// WriteRandomFile writes size incompressible bytes, so no layer can cheat on them.
func WriteRandomFile(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	buf := make([]byte, 1<<20)
	for written := int64(0); written < size; written += int64(len(buf)) {
		buf = buf[:min(int64(len(buf)), size-written)]
		_, _ = rng.Read(buf) // ChaCha8.Read always fills buf and returns nil
		if _, err := f.Write(buf); err != nil {
			_ = f.Close() // the write's error is the one to report
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
