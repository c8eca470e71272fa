// Package tarsafe holds the checks every tarball reader of the pack applies to member names, so
// that no archive can write outside the directory it is unpacked into. It reads no archive.
package tarsafe

import (
	"errors"
	"path"
	"strings"
)

// MemberName normalises a tar member name ("./image" → "image", "./" → ".") and refuses names
// that could land outside the directory a tarball is unpacked into.
func MemberName(raw string) (string, error) {
	if strings.HasPrefix(raw, "/") {
		return "", errors.New("absolute path")
	}
	if strings.ContainsRune(raw, '\\') || strings.ContainsRune(raw, 0) {
		return "", errors.New(`path contains '\' or NUL`)
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", errors.New("path has a '..' component")
		}
	}
	name := raw
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" || name == "." {
		return ".", nil
	}
	if path.Clean(name) != name {
		return "", errors.New("path is not clean (empty or '.' components)")
	}
	return name, nil
}
