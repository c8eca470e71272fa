// Package tarsafe is how every tarball reader of the pack walks a gzipped tarball and checks its
// member names, and how an archive someone else will unpack is checked whole (Check), so that no
// archive can write outside the directory it is unpacked into.
//
// It is a leaf: it imports nothing of the pack and keeps nothing it reads.
package tarsafe

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
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

// Walk reads the gzipped tarball r member by member, calling each with the member's header and
// content, then reads the tar padding and the gzip trailer, whose CRC is checked there. what
// names the tarball in errors ("release tarball"). An error of each ends the walk and is
// returned as it is; checking each member's name and type is each's work (MemberName helps).
func Walk(r io.Reader, what string, each func(hdr *tar.Header, content io.Reader) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzipped %s: %w", what, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", what, err)
		}
		if err := each(hdr, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return fmt.Errorf("reading %s after its last member: %w", what, err)
	}
	return nil
}
