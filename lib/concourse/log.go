package concourse

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// maxHeldBytes bounds what a pipe keeps while waiting for the end of a line, so a child that
// prints megabytes without a newline cannot grow memory without limit.
const maxHeldBytes = 64 << 10

// Logger writes human-readable progress to stderr with every registered secret redacted.
// It is safe for concurrent use; lines from different goroutines and pipes never interleave.
type Logger struct {
	mu      sync.Mutex
	out     io.Writer
	secrets *Redactor
	colour  bool
}

// NewLogger returns a Logger writing to out. Colour (which Concourse renders) is used when
// colour is true.
func NewLogger(out io.Writer, secrets *Redactor, colour bool) *Logger {
	return &Logger{out: out, secrets: secrets, colour: colour}
}

// Secrets returns the redactor, for registering secrets learned at run time.
func (l *Logger) Secrets() *Redactor { return l.secrets }

// Printf logs one message.
func (l *Logger) Printf(format string, args ...any) {
	l.emit(fmt.Sprintf(format, args...) + "\n")
}

// Warnf logs a message that needs a user's attention without failing the step.
func (l *Logger) Warnf(format string, args ...any) {
	l.emit(l.paint("33", "warning:") + " " + fmt.Sprintf(format, args...) + "\n")
}

// Errorf logs a failure; the kit uses it for the error that ends a run.
func (l *Logger) Errorf(format string, args ...any) {
	l.emit(l.paint("31", "error:") + " " + fmt.Sprintf(format, args...) + "\n")
}

func (l *Logger) paint(code, text string) string {
	if !l.colour {
		return text
	}
	return "\x1b[1;" + code + "m" + text + "\x1b[0m"
}

func (l *Logger) emit(text string) {
	redacted := l.secrets.Redact(text)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.out, redacted) // stderr gone: there is nobody left to tell
}

// Pipe returns a writer for a child process's stdout or stderr. Output is redacted a line at a
// time (a secret split across writes is still caught) and written through the logger. Close it
// after the child exits to flush a last line without a newline.
func (l *Logger) Pipe() io.WriteCloser {
	return &pipe{logger: l}
}

type pipe struct {
	mu     sync.Mutex
	logger *Logger
	held   []byte
	closed bool
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, io.ErrClosedPipe
	}
	p.held = append(p.held, b...)
	if end := bytes.LastIndexAny(p.held, "\r\n"); end >= 0 {
		p.logger.emit(string(p.held[:end+1]))
		p.held = append(p.held[:0], p.held[end+1:]...)
	}
	if len(p.held) > maxHeldBytes {
		// Write all but a tail that could still be the start of a secret.
		redacted := p.logger.secrets.Redact(string(p.held))
		keep := min(len(redacted), max(p.logger.secrets.maxSecretLen()-1, 0))
		p.logger.emitRaw(redacted[:len(redacted)-keep])
		p.held = append(p.held[:0], redacted[len(redacted)-keep:]...)
	}
	return len(b), nil
}

func (p *pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed && len(p.held) > 0 {
		p.logger.emit(string(p.held) + "\n")
	}
	p.closed, p.held = true, nil
	return nil
}

// emitRaw writes text that has already been redacted.
func (l *Logger) emitRaw(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.out, text) // stderr gone: there is nobody left to tell
}
