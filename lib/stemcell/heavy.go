package stemcell

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

// Limits on what ReadHeavy reads. Real stemcells are far below them; they bound the work and
// the memory a hostile tarball can cost.
const (
	MaxMembers      = 1000
	MaxMemberSize   = 64 << 30 // bytes, image and root.img included
	MaxManifestSize = 1 << 20  // bytes
	// MaxKeptMemberSize and MaxKeptSize bound the members other than stemcell.MF and image
	// (packages.txt, SBOMs…), which are kept in memory for the light stemcell.
	MaxKeptMemberSize = 16 << 20
	MaxKeptSize       = 64 << 20
)

// Member names with a meaning in a stemcell tarball.
const (
	ManifestMember = "stemcell.MF"
	ImageMember    = "image"
	RootImage      = "root.img" // inside image, a tgz
)

// Member is one member of a stemcell tarball.
type Member struct {
	Name string // as in the tarball without its "./" prefix: "packages.txt"
	Dir  bool
	// Data is the content. It is nil for stemcell.MF and image: ReadHeavy parses the first and
	// streams the second, and WriteLight writes both from its own arguments.
	Data []byte
}

// Heavy is what ReadHeavy learned from a heavy stemcell.
type Heavy struct {
	Manifest *Manifest
	// Members are all the members in tarball order, stemcell.MF and image included.
	Members []Member
	// ImageSize and ImageSHA1 describe the image member (the tgz that holds root.img);
	// ImageSHA1 matched the manifest's sha1.
	ImageSize int64
	ImageSHA1 string
	// RootImageSize is the size of root.img in bytes.
	RootImageSize int64
}

// RootImageFunc receives root.img as it streams out of a heavy stemcell, and its size in bytes.
// It may stop reading early (the rest is read and digested for it). What it received is only
// trustworthy once ReadHeavy has returned without error: the image's SHA-1 can only be checked
// at its end, so a failed ReadHeavy means whatever was made from root.img must be thrown away.
type RootImageFunc func(root io.Reader, size int64) error

// ReadHeavy reads a heavy stemcell tarball (a gzipped tar) once, start to end, in bounded
// memory: it parses and validates stemcell.MF, streams root.img out of the image member to
// rootImage (nil to only check it), checks the SHA-1 of the image member against the
// manifest's sha1, and keeps every other member in memory for WriteLight. Unsafe members
// (absolute path, '..', links, devices, too many, too large) are refused by name, as are a
// missing stemcell.MF, image or root.img, and a light stemcell.
func ReadHeavy(r io.Reader, rootImage RootImageFunc) (*Heavy, error) {
	rd := heavyReader{rootImage: rootImage, seen: map[string]bool{}, h: &Heavy{}}
	if err := tarsafe.Walk(bufio.NewReaderSize(r, 256<<10), "stemcell tarball", rd.member); err != nil {
		return nil, err
	}
	return rd.finish()
}

// ReadHeavyTo is ReadHeavy that also writes the image member (the tgz holding root.img), as it
// streams, to image: what a tool that wants the image on disk and root.img in a bucket reads in
// one pass. What image received is only trustworthy once ReadHeavyTo has returned without error.
func ReadHeavyTo(r io.Reader, image io.Writer, rootImage RootImageFunc) (*Heavy, error) {
	rd := heavyReader{rootImage: rootImage, imageOut: image, seen: map[string]bool{}, h: &Heavy{}}
	if err := tarsafe.Walk(bufio.NewReaderSize(r, 256<<10), "stemcell tarball", rd.member); err != nil {
		return nil, err
	}
	return rd.finish()
}

// ReadManifest reads a heavy stemcell tarball up to its stemcell.MF, with ReadHeavy's checks of
// every member on the way and of the manifest, without reading the image member: what a
// caller needs to decide whether to build at all (the version, and the image's sha1 the
// manifest claims; only ReadHeavy verifies it). Real stemcells list stemcell.MF after image, so
// the tarball is decompressed up to there.
func ReadManifest(r io.Reader) (*Manifest, error) {
	rd := heavyReader{manifestOnly: true, seen: map[string]bool{}, h: &Heavy{}}
	err := tarsafe.Walk(bufio.NewReaderSize(r, 256<<10), "stemcell tarball", rd.member)
	switch {
	case errors.Is(err, errManifestRead):
		return rd.h.Manifest, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("stemcell tarball has no %s", ManifestMember)
}

// errManifestRead ends ReadManifest's walk once stemcell.MF is read.
var errManifestRead = errors.New("stemcell.MF read")

type heavyReader struct {
	manifestOnly bool // ReadManifest: stop at stemcell.MF, skip the image
	rootImage    RootImageFunc
	imageOut     io.Writer // ReadHeavyTo: where the image member goes too
	h            *Heavy
	count        int
	kept         int64
	seen         map[string]bool
	sawImage     bool
	sawRoot      bool
}

func (rd *heavyReader) member(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX metadata for the whole archive (git archive writes one); no file
	}
	rd.count++
	if rd.count > MaxMembers {
		return fmt.Errorf("stemcell tarball refused: more than %d members", MaxMembers)
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("stemcell tarball refused: member %q: %s", hdr.Name, fmt.Sprintf(format, args...))
	}
	name, err := tarsafe.MemberName(hdr.Name)
	if err != nil {
		return refuse("%s", err)
	}
	isDir, err := memberType(hdr)
	if err != nil {
		return refuse("%s", err)
	}
	if isDir {
		if name != "." {
			rd.h.Members = append(rd.h.Members, Member{Name: name, Dir: true})
		}
		return nil
	}
	if hdr.Size < 0 || hdr.Size > MaxMemberSize {
		return refuse("is %d bytes, more than the %d a stemcell member may have", hdr.Size, int64(MaxMemberSize))
	}
	if rd.seen[name] {
		return refuse("appears twice")
	}
	rd.seen[name] = true
	rd.h.Members = append(rd.h.Members, Member{Name: name})

	switch name {
	case ManifestMember:
		if hdr.Size > MaxManifestSize {
			return refuse("is %d bytes, more than the %d stemcell.MF may have", hdr.Size, MaxManifestSize)
		}
		data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
		if err != nil {
			return fmt.Errorf("reading stemcell.MF: %w", err)
		}
		m, err := ParseManifest(data)
		if err != nil {
			return err
		}
		if err := m.Validate(); err != nil {
			return err
		}
		if m.IsLight() {
			return fmt.Errorf("stemcell %s/%s is a light stemcell (it has cloud_properties.image_id), not a heavy one", m.Name(), m.Version())
		}
		rd.h.Manifest = m
		if rd.manifestOnly {
			return errManifestRead
		}
		return nil
	case ImageMember:
		rd.sawImage = true
		if rd.manifestOnly {
			return nil // the tar reader skips it
		}
		return rd.image(hdr, r)
	}
	if hdr.Size > MaxKeptMemberSize {
		return refuse("is %d bytes, more than the %d a stemcell member other than image may have", hdr.Size, MaxKeptMemberSize)
	}
	if rd.kept+hdr.Size > MaxKeptSize {
		return refuse("makes the members other than image larger than %d bytes in all", MaxKeptSize)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading stemcell member %q: %w", name, err)
	}
	rd.kept += int64(len(data))
	rd.h.Members[len(rd.h.Members)-1].Data = data
	return nil
}

// image digests the image member while streaming root.img out of it.
func (rd *heavyReader) image(hdr *tar.Header, r io.Reader) error {
	sum := sha1.New()
	raw := io.TeeReader(r, sum)
	if rd.imageOut != nil {
		raw = io.TeeReader(raw, rd.imageOut)
	}
	if hdr.Size > 0 {
		if err := rd.rootImg(raw); err != nil {
			return err
		}
	}
	// Whatever the image tgz holds after its end still counts in its digest.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fmt.Errorf("reading stemcell member image: %w", err)
	}
	rd.h.ImageSize = hdr.Size
	rd.h.ImageSHA1 = hex.EncodeToString(sum.Sum(nil))
	return nil
}

func (rd *heavyReader) rootImg(r io.Reader) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("stemcell member image is not a gzipped tar: %w", err)
	}
	tr := tar.NewReader(gz)
	count := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading stemcell member image: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		refuse := func(format string, args ...any) error {
			return fmt.Errorf("stemcell image refused: member %q: %s", hdr.Name, fmt.Sprintf(format, args...))
		}
		if count++; count > MaxMembers {
			return fmt.Errorf("stemcell image refused: more than %d members", MaxMembers)
		}
		name, err := tarsafe.MemberName(hdr.Name)
		if err != nil {
			return refuse("%s", err)
		}
		isDir, err := memberType(hdr)
		if err != nil {
			return refuse("%s", err)
		}
		if isDir || name != RootImage {
			continue // nothing but root.img is used; its safety is all that matters
		}
		if rd.sawRoot {
			return refuse("appears twice")
		}
		if hdr.Size < 0 || hdr.Size > MaxMemberSize {
			return refuse("is %d bytes, more than the %d a stemcell member may have", hdr.Size, int64(MaxMemberSize))
		}
		rd.sawRoot = true
		rd.h.RootImageSize = hdr.Size
		if rd.rootImage != nil {
			// Hide the tar reader's type: the callback gets a plain stream of root.img.
			if err := rd.rootImage(struct{ io.Reader }{tr}, hdr.Size); err != nil {
				return fmt.Errorf("streaming root.img: %w", err)
			}
		}
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return fmt.Errorf("reading stemcell member image after its last member: %w", err)
	}
	return nil
}

func (rd *heavyReader) finish() (*Heavy, error) {
	var missing []string
	if rd.h.Manifest == nil {
		missing = append(missing, ManifestMember)
	}
	if !rd.sawImage {
		missing = append(missing, ImageMember)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("stemcell tarball has no %s", strings.Join(missing, " and no "))
	}
	m := rd.h.Manifest
	if rd.h.ImageSize == 0 {
		return nil, fmt.Errorf("stemcell %s/%s: image is empty (a light stemcell's image), not a heavy stemcell's disk image", m.Name(), m.Version())
	}
	if !rd.sawRoot {
		return nil, fmt.Errorf("stemcell %s/%s: image holds no %s", m.Name(), m.Version(), RootImage)
	}
	if want := strings.ToLower(m.SHA1()); want != rd.h.ImageSHA1 {
		return nil, &ImageMismatchError{Want: want, Got: rd.h.ImageSHA1}
	}
	return rd.h, nil
}

// ImageMismatchError is a heavy stemcell whose image does not have the SHA-1 stemcell.MF gives.
type ImageMismatchError struct {
	Want, Got string // hex
}

func (e *ImageMismatchError) Error() string {
	return fmt.Sprintf("stemcell image SHA-1 mismatch: stemcell.MF says %s, the image member has %s", e.Want, e.Got)
}

// memberType reports whether a tar entry is a directory, refusing everything that is neither
// a directory nor a regular file: a stemcell has no links, devices or FIFOs.
func memberType(hdr *tar.Header) (dir bool, err error) {
	switch hdr.Typeflag {
	case tar.TypeReg: // archive/tar reports the old TypeRegA as TypeReg or TypeDir
		return false, nil
	case tar.TypeDir:
		return true, nil
	case tar.TypeSymlink:
		return false, fmt.Errorf("is a symbolic link (to %q); stemcells have none", hdr.Linkname)
	case tar.TypeLink:
		return false, fmt.Errorf("is a hard link (to %q); stemcells have none", hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return false, errors.New("is a device file")
	case tar.TypeFifo:
		return false, errors.New("is a FIFO")
	}
	return false, fmt.Errorf("has unsupported tar type %q", hdr.Typeflag)
}
