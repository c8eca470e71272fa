package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time stamp of every file the build writes itself, so rebuilds are identical.
var epoch = time.Unix(0, 0).UTC()

// Options tune a build.
type Options struct {
	// Stored writes the layers and rootfs.tgz gzip-framed but uncompressed: the same files, for
	// tests that must not spend minutes compressing under the race detector.
	Stored bool
}

func (o Options) level() int {
	if o.Stored {
		return gzip.NoCompression
	}
	return gzip.DefaultCompression
}

// Result is what one hermetic build made.
type Result struct {
	Name     string
	Tarball  string // the OCI image archive (an OCI image layout in one tar)
	Digest   string // the image manifest's digest
	Size     int64  // bytes of the image tarball
	TypeDir  string // the base-type dir (rootfs.tgz + resource_metadata.json), when a resource type
	TypeSize int64  // bytes of rootfs.tgz
	// Binaries are the files taken from the repository, with the sha256 found in the image.
	Binaries []Binary
	// Packages are the resolved Debian packages, "name version".
	Packages []string
	// Inputs are what was taken from the build machine (Spec.Inputs), in order.
	Inputs       []InputRecord
	Cached       bool // the rootfs came from the cache
	InputsCached bool // the inputs layer came from the cache
}

// Binary is one file of the pack in the image and its sha256 there.
type Binary struct {
	Path   string
	SHA256 string
}

// ResourceMetadata is a base type's resource_metadata.json.
type ResourceMetadata struct {
	Type                 string `json:"type"`
	Version              string `json:"version"`
	Privileged           bool   `json:"privileged"`
	UniqueVersionHistory bool   `json:"unique_version_history"`
}

// Build assembles the image of spec on the given rootfs: the rootfs is one layer, the inputs taken
// from the build machine (EnsureInputs; none when the spec has none) the next, the pack's files
// and links the last. It writes <outDir>/<name>.tar and, for a resource type, the base-type dir
// <outDir>/resource-types/<type>/; then it reads both back and fails unless every file taken
// from the repository or the build machine is byte-identical there.
func Build(s Spec, rootfs Rootfs, inputs Inputs, repoDir, outDir string, o Options) (Result, error) {
	res := Result{Name: s.Name, Cached: rootfs.Cached, Inputs: inputs.Records, InputsCached: inputs.Cached}
	if len(s.Inputs) > 0 && inputs.Layer == "" {
		return res, fmt.Errorf("image %s has inputs: EnsureInputs makes their layer", s.Name)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return res, err
	}
	base, err := tarball.LayerFromFile(rootfs.Layer, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return res, fmt.Errorf("reading the rootfs layer: %w", err)
	}
	appFile := filepath.Join(outDir, s.Name+".layer.tar.gz")
	// The app layer is an intermediate file: its bytes are in the archive (or the build failed), and
	// a leftover only costs disk.
	defer func() { _ = os.Remove(appFile) }()
	want, err := writeAppLayer(appFile, s, repoDir, o.level())
	if err != nil {
		return res, err
	}
	app, err := tarball.LayerFromFile(appFile, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return res, err
	}
	layers := []v1.Layer{base}
	if inputs.Layer != "" {
		in, err := tarball.LayerFromFile(inputs.Layer, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return res, fmt.Errorf("reading the inputs layer: %w", err)
		}
		layers = append(layers, in)
	}
	layers = append(layers, app)
	if len(s.Layer) > 0 {
		extraFile := filepath.Join(outDir, s.Name+".extra.tar.gz")
		defer func() { _ = os.Remove(extraFile) }()
		extraWant, err := writeAppLayer(extraFile, Spec{Files: s.Layer}, repoDir, o.level())
		if err != nil {
			return res, err
		}
		extra, err := tarball.LayerFromFile(extraFile, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return res, err
		}
		layers = append(layers, extra)
		maps.Copy(want, extraWant) // the extra layer's files win: they are on top
	}
	// Every file checked below: the repository's and the build machine's.
	for p, sum := range inputs.Files {
		if _, ok := want[p]; !ok {
			want[p] = sum
		}
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return res, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return res, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		Env:        s.Env,
		User:       s.User,
		WorkingDir: s.WorkDir,
		Entrypoint: s.Entrypoint,
		Cmd:        s.Cmd,
		Labels:     map[string]string{"org.opencontainers.image.title": s.Name},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return res, err
	}
	digest, err := img.Digest()
	if err != nil {
		return res, err
	}
	res.Digest = digest.String()
	res.Tarball = filepath.Join(outDir, s.Name+".tar")
	if err := WriteArchive(res.Tarball, img, "latest"); err != nil {
		return res, fmt.Errorf("writing %s: %w", res.Tarball, err)
	}
	if res.Size, err = fileSize(res.Tarball); err != nil {
		return res, err
	}

	// Read back what was written, not what was meant to be.
	back, cleanup, err := ReadArchive(res.Tarball)
	if err != nil {
		return res, err
	}
	defer cleanup()
	if d, err := back.Digest(); err != nil || d != digest {
		return res, fmt.Errorf("%s reads back as %v, not %s (%v)", res.Tarball, d, digest, err)
	}
	rc := mutate.Extract(back)
	got, err := hashFiles(rc, want)
	_ = rc.Close() // the read side of a pipe: closing only stops the extraction, it never fails
	if err != nil {
		return res, fmt.Errorf("reading %s back: %w", res.Tarball, err)
	}
	if err := sameFiles(res.Tarball, want, got); err != nil {
		return res, err
	}

	if s.ResourceType != "" {
		res.TypeDir = filepath.Join(outDir, "resource-types", s.ResourceType)
		if res.TypeSize, err = writeBaseType(res.TypeDir, s.ResourceType, back, want, o.level()); err != nil {
			return res, fmt.Errorf("writing the base type %s: %w", s.ResourceType, err)
		}
	}
	for _, f := range append(append([]File(nil), s.Files...), s.Layer...) {
		res.Binaries = append(res.Binaries, Binary{Path: f.To, SHA256: got[strings.TrimPrefix(f.To, "/")]})
	}
	if raw, err := os.ReadFile(rootfs.Packages); err == nil {
		res.Packages = strings.Split(strings.TrimSpace(string(raw)), "\n")
	}
	return res, nil
}

// writeAppLayer writes the pack's files and links, with their parent directories, and returns the
// sha256 of each file from the repository keyed by its path in the image (no leading slash).
func writeAppLayer(file string, s Spec, repoDir string, level int) (map[string]string, error) {
	want := map[string]string{}
	dirs := map[string]bool{}
	for _, f := range s.Files {
		addParents(dirs, f.To)
	}
	for _, l := range s.Links {
		addParents(dirs, l.Path)
	}
	err := writeAtomically(file, func(out *os.File) error {
		bw := bufio.NewWriterSize(out, 1<<20)
		gz, err := gzip.NewWriterLevel(bw, level)
		if err != nil {
			return err
		}
		tw := tar.NewWriter(gz)
		var names []string
		for d := range dirs {
			names = append(names, d)
		}
		sort.Strings(names)
		for _, d := range names {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return err
			}
		}
		for _, f := range s.Files {
			mode, _ := f.FileMode()
			src := filepath.Join(repoDir, filepath.FromSlash(f.From))
			fh, err := os.Open(src)
			if err != nil {
				return fmt.Errorf("%s (from %s: run make build tools first): %w", f.To, f.From, err)
			}
			info, err := fh.Stat()
			if err != nil {
				_ = fh.Close() // only read, and the Stat error is the one to report
				return err
			}
			rel := strings.TrimPrefix(f.To, "/")
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(mode), Size: info.Size(), ModTime: epoch, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				_ = fh.Close() // only read, and the write error is the one to report
				return err
			}
			h := sha256.New()
			_, err = io.Copy(io.MultiWriter(tw, h), fh)
			_ = fh.Close() // only read: the copy's error says whether its bytes made it
			if err != nil {
				return err
			}
			want[rel] = hex.EncodeToString(h.Sum(nil))
		}
		for _, l := range s.Links {
			hdr := &tar.Header{Typeflag: tar.TypeSymlink, Name: strings.TrimPrefix(l.Path, "/"), Linkname: l.Target, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	return want, err
}

func addParents(dirs map[string]bool, p string) {
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		dirs[strings.TrimPrefix(d, "/")] = true
	}
}

// writeBaseType writes rootfs.tgz (the image flattened) and resource_metadata.json whose version
// is the rootfs digest, so that a worker never serves a rebuilt type from its cache.
func writeBaseType(dir, typ string, img v1.Image, want map[string]string, level int) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	rootfs := filepath.Join(dir, "rootfs.tgz")
	h := sha256.New()
	err := writeAtomically(rootfs, func(f *os.File) error {
		rc := mutate.Extract(img)
		defer func() { _ = rc.Close() }() // the read side of a pipe: closing only stops the extraction
		bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
		gz, err := gzip.NewWriterLevel(bw, level)
		if err != nil {
			return err
		}
		if _, err := io.Copy(gz, rc); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return 0, err
	}
	f, err := os.Open(rootfs)
	if err != nil {
		return 0, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		_ = f.Close() // only read, and the gzip error is the one to report
		return 0, err
	}
	got, err := hashFiles(gz, want)
	_ = f.Close() // only read: hashFiles' error says whether it was read whole
	if err != nil {
		return 0, err
	}
	if err := sameFiles(rootfs, want, got); err != nil {
		return 0, err
	}
	meta := ResourceMetadata{Type: typ, Version: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	raw, _ := json.Marshal(meta)
	if err := writeAtomically(filepath.Join(dir, "resource_metadata.json"), func(f *os.File) error {
		_, err := f.Write(append(raw, '\n'))
		return err
	}); err != nil {
		return 0, err
	}
	return fileSize(rootfs)
}

// hashFiles reads a tar stream and returns the sha256 of each wanted regular file in it.
func hashFiles(r io.Reader, want map[string]string) (map[string]string, error) {
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if _, ok := want[name]; !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return nil, err
		}
		got[name] = hex.EncodeToString(h.Sum(nil))
	}
}

// sameFiles fails naming every file whose bytes in the image differ from those taken (from the
// repository or the build machine).
func sameFiles(where string, want, got map[string]string) error {
	var bad []string
	for p, sum := range want {
		if got[p] != sum {
			bad = append(bad, fmt.Sprintf("/%s: %s taken, %q in the image", p, sum, got[p]))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return fmt.Errorf("%s: files differ from the repository's or the build machine's: %s", where, strings.Join(bad, "; "))
	}
	return nil
}

func writeAtomically(file string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-")
	if err != nil {
		return err
	}
	// Once renamed there is nothing left to remove (the error is then ENOENT); before that the
	// temporary file is removed after another error, which is the one to report.
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := write(tmp); err != nil {
		_ = tmp.Close() // the write failed: that error is reported and the file removed
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close() // the chmod failed: that error is reported and the file removed
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func fileSize(file string) (int64, error) {
	info, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
