// Package panics turns a panic into an error, so that a bug in a worker goroutine reaches the
// resource's one exit path (lib/concourse.Run: one message, exit code 1) instead of the Go
// runtime ending the process with exit code 2 halfway through a transfer or a build.
package panics

import (
	"fmt"
	"runtime/debug"
)

// Error is a recovered panic.
type Error struct {
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *Error) Error() string {
	return fmt.Sprintf("crashed: %v (this is a bug in concourse-pack; please report it with the trace below)\n%s", e.Value, e.Stack)
}

// Catch calls fn and returns its error, or an *Error when fn panics.
func Catch(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &Error{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}
