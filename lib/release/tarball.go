package release

import (
	"archive/tar"
	"bufio"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

// Limits on what Inspect reads. Real release tarballs are far below them; they bound the work
// and memory a hostile tarball can cost.
const (
	MaxMembers      = 10_000
	MaxMemberSize   = 16 << 30 // bytes
	MaxManifestSize = 16 << 20 // bytes
	// Every job, package, compiled package and license archive is inspected as it streams by:
	// at most this many entries, expanding to at most this many bytes (its tar stream).
	MaxArchiveEntries  = 200_000
	MaxArchiveExpanded = 32 << 30 // bytes
)

// archiveLimits are what tarsafe.Check allows an archive inside a release tarball.
var archiveLimits = tarsafe.Limits{Entries: MaxArchiveEntries, Expanded: MaxArchiveExpanded}

// Tarball is what Inspect learned from a release tarball.
type Tarball struct {
	Manifest Manifest
	// SHA1 and SHA256 are the hex digests of the whole tarball file, Size its length in bytes.
	SHA1, SHA256 string
	Size         int64
}

// InspectFile inspects the release tarball at path (see Inspect); it stops, failing, when ctx
// is done.
func InspectFile(ctx context.Context, path string) (*Tarball, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	t, err := Inspect(contextReader{ctx: ctx, r: f})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Inspect reads a release tarball (a gzipped tar) once, start to end, in bounded memory: it
// digests the whole stream (SHA-1, SHA-256, size), parses release.MF, digests every job,
// package, compiled package and license archive wherever it sits relative to release.MF, and
// then verifies each item of release.MF against its archive with the strongest algorithm of
// the item's digest, as bosh does. A missing archive, an archive release.MF does not list, any
// other unexpected member, and every unsafe member (absolute path, '..', link, device, too many
// members, too large) are errors that name the item or member. Each archive is inspected
// inside too, as it streams by (tarsafe.Check within MaxArchiveEntries and
// MaxArchiveExpanded), so that what is published is safe for a director to unpack and compile.
func Inspect(r io.Reader) (*Tarball, error) {
	sha1sum, sha256sum := sha1.New(), sha256.New()
	raw := &countingReader{r: io.TeeReader(bufio.NewReaderSize(r, 256<<10), io.MultiWriter(sha1sum, sha256sum))}

	in := inspection{archives: map[string]*archive{}, seen: map[string]bool{}}
	if err := tarsafe.Walk(raw, "release tarball", in.member); err != nil {
		return nil, err
	}
	// The gzip reader reads on to the end of the input (more gzip members, or an error for
	// anything else); draining raw too keeps the digests whole should that ever change.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return nil, fmt.Errorf("reading release tarball: %w", err)
	}
	if in.manifest == nil {
		return nil, errors.New("release tarball has no release.MF")
	}
	if err := in.verify(); err != nil {
		return nil, fmt.Errorf("release %s/%s: %w", in.manifest.Name, in.manifest.Version, err)
	}
	return &Tarball{
		Manifest: *in.manifest,
		SHA1:     hex.EncodeToString(sha1sum.Sum(nil)),
		SHA256:   hex.EncodeToString(sha256sum.Sum(nil)),
		Size:     raw.n,
	}, nil
}

// contextReader fails its reads once ctx is done, so reading a large file stops on SIGTERM.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// archive is a job, package, compiled package or license archive seen in the tarball.
type archive struct {
	sums   map[Algorithm]string // hex
	unsafe error                // why tarsafe.Check refused its content, if it did
}

// errorReader keeps the error of the outer tarball's reads, so that a failure to read the
// release tarball is never reported as a refusal of the archive being read.
type errorReader struct {
	r   io.Reader
	err error
}

func (e *errorReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// expected is an item of release.MF and the member that must hold it.
type expected struct {
	label  string // `job "hello"`
	member string // "jobs/hello.tgz"
	digest Digest
}

type inspection struct {
	count    int
	seen     map[string]bool     // member names, normalised
	archives map[string]*archive // by member name
	notices  []string            // top-level LICENSE*/NOTICE* files
	manifest *Manifest
	items    []expected          // in release.MF order, once the manifest is read
	byMember map[string]expected // the same, by member
}

// member checks one tar entry and digests it if it is an archive.
func (in *inspection) member(hdr *tar.Header, r io.Reader) error {
	in.count++
	if in.count > MaxMembers {
		return fmt.Errorf("release tarball refused: more than %d members", MaxMembers)
	}
	name, err := tarsafe.MemberName(hdr.Name)
	if err != nil {
		return fmt.Errorf("release tarball refused: member %q: %s", hdr.Name, err)
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("release tarball refused: member %q: %s", hdr.Name, fmt.Sprintf(format, args...))
	}
	switch hdr.Typeflag {
	case tar.TypeReg: // archive/tar reports the old TypeRegA as TypeReg or TypeDir
	case tar.TypeDir:
		switch name {
		case ".", "jobs", "packages", "compiled_packages":
			return nil
		}
		return refuse("unexpected directory (a release tarball has only jobs/, packages/ and compiled_packages/)")
	case tar.TypeSymlink:
		return refuse("is a symbolic link (to %q); release tarballs have none", hdr.Linkname)
	case tar.TypeLink:
		return refuse("is a hard link (to %q); release tarballs have none", hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return refuse("is a device file")
	case tar.TypeFifo:
		return refuse("is a FIFO")
	default:
		return refuse("has unsupported tar type %q", hdr.Typeflag)
	}
	if hdr.Size > MaxMemberSize {
		return refuse("is %d bytes, more than the %d a release tarball member may have", hdr.Size, int64(MaxMemberSize))
	}
	if in.seen[name] {
		return refuse("appears twice")
	}
	in.seen[name] = true

	switch {
	case name == "release.MF":
		return in.readManifest(hdr, r)
	case isArchive(name):
		return in.digest(name, r)
	case !strings.Contains(name, "/") && (strings.HasPrefix(name, "LICENSE") || strings.HasPrefix(name, "NOTICE")):
		// bosh unpacks license.tgz's LICENSE and NOTICE files next to it; checked in verify.
		in.notices = append(in.notices, name)
		return nil
	}
	return refuse("unexpected in a release tarball (it holds release.MF, jobs/*.tgz, packages/*.tgz, compiled_packages/*.tgz, license.tgz and LICENSE/NOTICE files)")
}

// isArchive reports whether a member is where release.MF items live.
func isArchive(name string) bool {
	if name == "license.tgz" {
		return true
	}
	dir, file, ok := strings.Cut(name, "/")
	if !ok || strings.Contains(file, "/") || !strings.HasSuffix(file, ".tgz") || !plainName(strings.TrimSuffix(file, ".tgz")) {
		return false
	}
	return dir == "jobs" || dir == "packages" || dir == "compiled_packages"
}

func (in *inspection) readManifest(hdr *tar.Header, r io.Reader) error {
	if hdr.Size > MaxManifestSize {
		return fmt.Errorf("release tarball refused: release.MF is %d bytes, more than %d", hdr.Size, MaxManifestSize)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return fmt.Errorf("reading release.MF: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return fmt.Errorf("release.MF: %w", err)
	}
	in.manifest = m
	in.byMember = map[string]expected{}
	add := func(kind, dir string, it Item) {
		d, _ := it.Digest() // ParseManifest checked it
		e := expected{label: fmt.Sprintf("%s %q", kind, it.Name), member: dir + it.Name + ".tgz", digest: d}
		in.items = append(in.items, e)
		in.byMember[e.member] = e
	}
	for _, it := range m.Jobs {
		add("job", "jobs/", it)
	}
	for _, it := range m.Packages {
		add("package", "packages/", it)
	}
	for _, it := range m.CompiledPackages {
		add("compiled package", "compiled_packages/", it.Item)
	}
	if m.License != nil {
		d, _ := m.License.Digest() // ParseManifest refused the manifest if this digest did not parse
		e := expected{label: "license", member: "license.tgz", digest: d}
		in.items = append(in.items, e)
		in.byMember[e.member] = e
	}
	// Archives that came before release.MF must be in it too; fail now rather than at the end.
	for name := range in.archives {
		if _, ok := in.byMember[name]; !ok {
			return fmt.Errorf("release tarball member %q is not in release.MF", name)
		}
	}
	return nil
}

// digest hashes an archive member: with the one algorithm release.MF asks for when it has been
// read (bosh writes it first), with every algorithm bosh knows otherwise.
func (in *inspection) digest(name string, r io.Reader) error {
	algos := []Algorithm{SHA1, SHA256, SHA512}
	if in.manifest != nil {
		e, ok := in.byMember[name]
		if !ok {
			return fmt.Errorf("release tarball member %q is not in release.MF", name)
		}
		algos = []Algorithm{e.digest.Strongest().Algorithm}
	}
	hashes := make([]hash.Hash, len(algos))
	writers := make([]io.Writer, len(algos))
	for i, a := range algos {
		hashes[i] = a.New()
		writers[i] = hashes[i]
	}
	// The archive is checked from the bytes being hashed; what Check leaves unread (the rest of
	// an archive it refused) is hashed too. Its verdict waits for verify: an archive that does
	// not match its digest is named as such first, a refusal of its content would mislead.
	reading := &errorReader{r: r}
	tee := io.TeeReader(reading, io.MultiWriter(writers...))
	unsafe := tarsafe.Check(tee, archiveLimits)
	if _, err := io.Copy(io.Discard, tee); err != nil || reading.err != nil {
		return fmt.Errorf("reading release tarball member %q: %w", name, cmp.Or(reading.err, err))
	}
	a := &archive{sums: map[Algorithm]string{}, unsafe: unsafe}
	for i, algo := range algos {
		a.sums[algo] = hex.EncodeToString(hashes[i].Sum(nil))
	}
	in.archives[name] = a
	return nil
}

// verify checks every item of release.MF against its archive and reports every problem.
func (in *inspection) verify() error {
	var errs []error
	for _, e := range in.items {
		a, ok := in.archives[e.member]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: release.MF lists it but the tarball has no %s", e.label, e.member))
			continue
		}
		want := e.digest.Strongest()
		if got := a.sums[want.Algorithm]; !want.Matches(got) {
			errs = append(errs, fmt.Errorf("%s: %w", e.label, &ArchiveMismatchError{
				Member:        e.member,
				MismatchError: MismatchError{Algorithm: want.Algorithm, Want: want.Hex, Got: got},
			}))
		} else if a.unsafe != nil {
			errs = append(errs, fmt.Errorf("%s (%s) refused: %w", e.label, e.member, a.unsafe))
		}
	}
	if in.manifest.License == nil {
		for _, n := range in.notices {
			errs = append(errs, fmt.Errorf("release tarball member %q is not in release.MF (it has no license)", n))
		}
	}
	return joinProblems(errs)
}

// ArchiveMismatchError is an archive in a release tarball whose content does not match the
// digest release.MF gives it.
type ArchiveMismatchError struct {
	Member string // "jobs/hello.tgz"
	MismatchError
}

func (e *ArchiveMismatchError) Error() string {
	return fmt.Sprintf("%s mismatch: release.MF says %s, the archive has %s", e.Algorithm, e.Want, e.Got)
}

// Unwrap exposes the plain mismatch.
func (e *ArchiveMismatchError) Unwrap() error { return &e.MismatchError }
