package image

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteArchive writes img as an OCI image layout packed in one tar (an "oci-archive", which
// skopeo, podman and `docker load` read), the index entry tagged with ref. Unlike a docker-save
// tarball it keeps the OCI manifest, so the image has the same digest wherever it is loaded.
func WriteArchive(file string, img v1.Image, ref string) error {
	dir, err := os.MkdirTemp(filepath.Dir(file), ".oci-layout-")
	if err != nil {
		return err
	}
	// The layout is scratch: once the archive is written (or failed) it is not read again, and a
	// leftover only costs disk, so failing to remove it does not fail the write.
	defer func() { _ = os.RemoveAll(dir) }()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	return writeAtomically(file, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		tw := tar.NewWriter(bw)
		err := walkSorted(dir, func(p string, info fs.FileInfo) error {
			rel, _ := filepath.Rel(dir, p)
			if rel == "." {
				return nil
			}
			hdr, err := tar.FileInfoHeader(info, "")
			if err != nil {
				return err
			}
			hdr.Name = filepath.ToSlash(rel)
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
			hdr.ModTime = epoch
			if info.IsDir() {
				hdr.Name += "/"
				return tw.WriteHeader(hdr)
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			return copyInto(tw, p)
		})
		if err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// ReadArchive unpacks an archive written by WriteArchive next to it and returns its one image;
// cleanup removes the unpacked layout once the image is no longer read.
func ReadArchive(file string) (v1.Image, func(), error) {
	dir, err := os.MkdirTemp(filepath.Dir(file), ".oci-read-")
	if err != nil {
		return nil, nil, err
	}
	// Removing the unpacked scratch layout is best effort: the image was read, and a leftover only
	// costs disk.
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := untar(file, dir); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("unpacking %s: %w", file, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if len(m.Manifests) != 1 {
		cleanup()
		return nil, nil, fmt.Errorf("%s holds %d images, expected 1", file, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return img, cleanup, nil
}

// untar unpacks regular files and directories only, refusing paths that leave dir.
func untar(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // only read: every entry was unpacked or an error returned
	tr := tar.NewReader(bufio.NewReaderSize(f, 1<<20))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%q leaves the archive", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q: unexpected entry type %c in an OCI archive", hdr.Name, hdr.Typeflag)
		}
	}
}

// copyInto writes the file at p into the tar member whose header was just written.
func copyInto(tw *tar.Writer, p string) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }() // only read: its bytes are in tw or the copy failed
	_, err = io.Copy(tw, src)
	return err
}
