package concourse

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a request, at a path such as "source.bucket".
type Problem struct {
	Path    string
	Message string
}

// Problems collects everything wrong with a request so that one error can list it all: a user
// fixing a pipeline should not have to push it once per typo.
type Problems []Problem

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, and the problems as an error otherwise.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Error lists one problem per line.
func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, problem := range p {
		lines[i] = problem.String()
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

// under returns the problems with prefix put in front of every path.
func (p Problems) under(prefix string) Problems {
	out := make(Problems, len(p))
	for i, problem := range p {
		out[i] = Problem{Path: joinPath(prefix, problem.Path), Message: problem.Message}
	}
	return out
}

func joinPath(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case prefix == "", strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}
