// Package problems lists everything wrong with a request or a configuration block, each at its
// path ("source.bucket"), so that one error can name them all.
//
// It is a leaf: it imports nothing of the pack, so the protocol kit, the cloud layer and the
// domain packages can all report problems without importing each other.
package problems

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong, at a path such as "source.bucket".
type Problem struct {
	Path    string
	Message string
}

// List collects everything wrong so that one error can name it all: a user fixing a pipeline
// should not have to push it once per typo.
type List []Problem

// Add records a problem at path.
func (l *List) Add(path, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, and the list as an error otherwise.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error lists one problem per line.
func (l List) Error() string {
	lines := make([]string, len(l))
	for i, p := range l {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  - %s", len(lines), strings.Join(lines, "\n  - "))
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Under returns the problems with prefix put in front of every path.
func (l List) Under(prefix string) List {
	out := make(List, len(l))
	for i, p := range l {
		out[i] = Problem{Path: Join(prefix, p.Path), Message: p.Message}
	}
	return out
}

// From turns an error into problems at path: a List keeps its own paths under path, any other
// error becomes one problem at path.
func From(path string, err error) List {
	if err == nil {
		return nil
	}
	var l List
	if errors.As(err, &l) {
		return l.Under(path)
	}
	return List{{Path: path, Message: err.Error()}}
}

// Join puts a key or an index after a path: Join("source", "bucket") is "source.bucket",
// Join("regions", "[2]") is "regions[2]".
func Join(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case prefix == "", strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}
