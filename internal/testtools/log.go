package testtools

import (
	"fmt"
	"strings"
	"sync"
)

// Log records what code under test logs (alicloud.Log, stemcell's Log) and the secrets it
// registers (alicloud.Secrets). It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	lines   []string
	secrets []string
}

// Printf records a line.
func (l *Log) Printf(format string, args ...any) { l.add("", format, args...) }

// Warnf records a line marked WARN.
func (l *Log) Warnf(format string, args ...any) { l.add("WARN ", format, args...) }

// Register records secrets.
func (l *Log) Register(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, secrets...)
}

func (l *Log) add(prefix, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, prefix+fmt.Sprintf(format, args...))
}

// Lines returns the recorded lines.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// String returns the recorded lines joined by newlines.
func (l *Log) String() string { return strings.Join(l.Lines(), "\n") }

// Secrets returns the registered secrets.
func (l *Log) Secrets() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.secrets...)
}
