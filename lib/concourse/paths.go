package concourse

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

// MaxParamFile is the most a file named by a param and read whole (a version file) may hold.
const MaxParamFile = 64 << 10

// The paths a put step's params name are relative to the build directory Concourse gives it,
// and must stay inside it: no absolute path, no '..', no symbolic link that leads out. The
// methods below are the one place that resolves them, for every param of every resource.

// File returns the one regular file that the glob pattern (the value of param, such as
// "params.file") matches inside the build directory. A pattern that leaves the directory, a
// match that leads out of it through a symbolic link, and a match that is not a regular file
// (a FIFO would block the step, a device never ends) are errors naming the param.
func (e Env) File(param, pattern string) (string, error) {
	if err := local(param, pattern); err != nil {
		return "", err
	}
	matches, err := filepath.Glob(filepath.Join(e.Dir, pattern))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", param, problems.Quote(pattern), err)
	}
	if len(matches) != 1 {
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i], _ = filepath.Rel(e.Dir, m) // a match of a local pattern is inside the directory
		}
		sort.Strings(names)
		return "", fmt.Errorf("%s %s matches %d files in %s, expected exactly one%s", param, problems.Quote(pattern), len(matches), e.Dir, listed(names))
	}
	rel, _ := filepath.Rel(e.Dir, matches[0]) // as above
	if _, err := e.regular(rel); err != nil {
		if filepath.ToSlash(rel) == pattern {
			return "", fmt.Errorf("%s %s %w", param, problems.Quote(pattern), err)
		}
		return "", fmt.Errorf("%s %s matches %s, which %w", param, problems.Quote(pattern), problems.Quote(rel), err)
	}
	return matches[0], nil
}

// ReadFile reads the regular file name (the value of param) inside the build directory, which
// may hold at most MaxParamFile bytes. An error for a file that does not exist wraps
// fs.ErrNotExist, so a param that is a value or a file holding it can tell the two apart.
func (e Env) ReadFile(param, name string) ([]byte, error) {
	if err := local(param, name); err != nil {
		return nil, err
	}
	real, err := e.regular(name)
	if err != nil {
		return nil, fmt.Errorf("%s %s %w", param, problems.Quote(name), err)
	}
	// O_NONBLOCK: should the file have been swapped for a FIFO since it was looked at, opening
	// it returns at once instead of waiting for a writer (and reading it then fails).
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", param, err)
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", param, problems.Quote(name))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxParamFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", param, problems.Quote(name), err)
	}
	if len(data) > MaxParamFile {
		return nil, fmt.Errorf("%s %s holds more than %d bytes", param, problems.Quote(name), MaxParamFile)
	}
	return data, nil
}

// Subdir returns the directory name (the value of param) inside the build directory.
func (e Env) Subdir(param, name string) (string, error) {
	if err := local(param, name); err != nil {
		return "", err
	}
	real, err := e.inside(name)
	if err != nil {
		return "", fmt.Errorf("%s %s %w", param, problems.Quote(name), err)
	}
	if info, err := os.Stat(real); err != nil || !info.IsDir() {
		return "", fmt.Errorf("%s %s is not a directory in the build directory", param, problems.Quote(name))
	}
	return filepath.Join(e.Dir, name), nil
}

// local refuses a path that is absolute or climbs out with '..'.
func local(param, name string) error {
	if !filepath.IsLocal(name) {
		return fmt.Errorf("%s %s is not a path inside the build directory: give one relative to it, without '..'", param, problems.Quote(name))
	}
	return nil
}

// regular resolves name inside the build directory and requires a regular file there; its
// error completes a sentence that starts with the param and the name.
func (e Env) regular(name string) (string, error) {
	real, err := e.inside(name)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("cannot be read: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("is not a regular file (it is %s)", kindOfFile(info.Mode()))
	}
	return real, nil
}

// inside resolves every symbolic link of name and requires the result to be inside the build
// directory (itself resolved, since Concourse may hand a path through a link).
func (e Env) inside(name string) (string, error) {
	dir, err := filepath.EvalSymlinks(e.Dir)
	if err != nil {
		return "", fmt.Errorf("cannot be looked up: the build directory: %w", err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("does not exist in the build directory: %w", fs.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("cannot be looked up: %w", err)
	}
	if rel, err := filepath.Rel(dir, real); err != nil || !filepath.IsLocal(rel) {
		return "", errors.New("leads outside the build directory through a symbolic link")
	}
	return real, nil
}

func kindOfFile(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

// listed names a few matches for an error.
func listed(names []string) string {
	if len(names) == 0 {
		return ""
	}
	const most = 10
	more := ""
	if len(names) > most {
		more = fmt.Sprintf(" and %d more", len(names)-most)
		names = names[:most]
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = problems.Quote(n)
	}
	return ": " + strings.Join(quoted, ", ") + more
}
