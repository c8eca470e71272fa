package tarsafe

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Limits bound what an archive may hold, so a small archive cannot cost hours or fill a disk
// when it is unpacked (a gzip bomb, a million empty files).
type Limits struct {
	Entries  int   // most entries, of any type
	Expanded int64 // most bytes of its uncompressed tar stream (headers and contents)
}

// maxLinkDepth bounds how many symbolic links one target may go through, as the kernel does.
const maxLinkDepth = 40

// Check reads the gzipped tarball r to its end, streaming, and refuses what would be unsafe to
// unpack: an entry with an absolute or '..' path, an entry under a symbolic link, a symbolic
// link whose target (followed through the archive's other links) leads outside the archive, a
// hard link, a device, a FIFO, any other special type, and an archive over limits. Regular
// files, directories and symbolic links that stay inside are accepted. Errors name the entry or
// the limit; the caller names the archive.
func Check(r io.Reader, limits Limits) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not gzipped: %w", err)
	}
	expanded := &limitedReader{r: gz, max: limits.Expanded}
	c := checker{links: map[string]string{}, raw: map[string]string{}, dirs: map[string]bool{".": true}}
	tr := tar.NewReader(expanded)
	for {
		hdr, err := tr.Next()
		if expanded.over {
			return expanded.err()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a readable tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // pax defaults for what follows: no file of its own
		}
		if c.count++; c.count > limits.Entries {
			return fmt.Errorf("more than %d entries (the limit)", limits.Entries)
		}
		if err := c.entry(hdr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	if _, err := io.Copy(io.Discard, expanded); err != nil || expanded.over {
		if expanded.over {
			return expanded.err()
		}
		return fmt.Errorf("reading after its last entry: %w", err)
	}
	return c.resolveLinks()
}

type checker struct {
	count int
	links map[string]string // symbolic links: name → target
	raw   map[string]string // symbolic links: name → the name as the archive spells it
	dirs  map[string]bool   // every directory an entry made or implied
}

func (c *checker) entry(hdr *tar.Header) error {
	name, err := MemberName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the archive's root is not a directory")
		}
		return nil
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if target, ok := c.links[dir]; ok {
			return fmt.Errorf("is under %s, a symbolic link (to %q): unpacking it would write through the link", dir, target)
		}
		c.dirs[dir] = true
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		if _, ok := c.links[name]; ok {
			return errors.New("replaces a symbolic link with a file: unpacking it could write through the link")
		}
	case tar.TypeDir:
		if _, ok := c.links[name]; ok {
			return errors.New("replaces a symbolic link with a directory")
		}
		c.dirs[name] = true
	case tar.TypeSymlink:
		if c.dirs[name] {
			return errors.New("is a symbolic link where the archive has a directory: what is under it would be written through the link")
		}
		if hdr.Linkname == "" || strings.HasPrefix(hdr.Linkname, "/") {
			return fmt.Errorf("symbolic link to %q leads outside the archive", hdr.Linkname)
		}
		c.links[name], c.raw[name] = hdr.Linkname, hdr.Name
	case tar.TypeLink:
		return fmt.Errorf("is a hard link (to %q)", hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return errors.New("is a device file")
	case tar.TypeFifo:
		return errors.New("is a FIFO")
	default:
		return fmt.Errorf("has unsupported tar type %q", hdr.Typeflag)
	}
	return nil
}

// resolveLinks follows every symbolic link through the others, once all are known (a link
// may point through one that comes later), and refuses one that leaves the archive.
func (c *checker) resolveLinks() error {
	names := make([]string, 0, len(c.links))
	for name := range c.links {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if target := c.links[name]; !c.staysInside(name, target) {
			return fmt.Errorf("entry %q: symbolic link to %q leads outside the archive", c.raw[name], target)
		}
	}
	return nil
}

// staysInside resolves target as the kernel would from the directory of the link name, with
// the archive's links as the only links, and reports whether it never climbs above the root.
func (c *checker) staysInside(name, target string) bool {
	var at []string // the directory reached, as components from the root
	if dir := path.Dir(name); dir != "." {
		at = strings.Split(dir, "/")
	}
	todo := strings.Split(target, "/")
	for depth := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return false
			}
			at = at[:len(at)-1]
			continue
		}
		at = append(at, part)
		next, isLink := c.links[strings.Join(at, "/")]
		if !isLink {
			continue
		}
		if depth++; depth > maxLinkDepth || strings.HasPrefix(next, "/") {
			return false
		}
		at = at[:len(at)-1]
		todo = append(strings.Split(next, "/"), todo...)
	}
	return true
}

// limitedReader counts what it passes and stops with an error past max.
type limitedReader struct {
	r    io.Reader
	n    int64
	max  int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, l.err()
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		l.over = true
		return n, l.err()
	}
	return n, err
}

func (l *limitedReader) err() error {
	return fmt.Errorf("expands to more than %d bytes (the limit)", l.max)
}
