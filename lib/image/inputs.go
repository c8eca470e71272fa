package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// inputsFormat changes when the way a cached inputs layer is made changes.
const inputsFormat = "inputs-v1"

// probeTimeout bounds running an input to read its version.
const probeTimeout = 30 * time.Second

// Inputs is the layer of a spec's inputs, taken from the build machine.
type Inputs struct {
	// Layer is the gzipped layer tar; "" when the spec has no inputs.
	Layer string
	// Files is the sha256 of every regular file of the layer by its path in the image (no leading
	// slash): Build checks the written image holds exactly these bytes.
	Files   map[string]string
	Records []InputRecord
	Cached  bool // the layer came from the cache
}

// InputRecord is what the build took for one input.
type InputRecord struct {
	Name    string
	Version string
	From    string
	// SHA256 is the file's, or for a directory that of its manifest (every path, mode, link
	// target and file sha256, in order): equal trees have equal sums.
	SHA256 string
	Absent bool // an optional input that was not there
}

func (r InputRecord) String() string {
	if r.Absent {
		return r.Name + " absent (optional, left out)"
	}
	return fmt.Sprintf("%s %s from %s sha256:%s", r.Name, r.Version, r.From, r.SHA256)
}

// layerEntry is one file, directory or link of a layer made from the build machine's files.
type layerEntry struct {
	name string // in the image, no leading slash
	typ  byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode int64
	size int64
	sum  string // regular files
	link string // symbolic links
	src  string // the file on the build machine, for regular files without data
	data []byte // a file the build writes itself
}

// EnsureInputs takes every input of s from the build machine (paths overrides their From, by
// name), checks each version and returns the layer holding them all and the inputs record, from
// cacheDir/inputs/<hash of their contents> or made there now. A required input that is missing
// fails the build naming it; an optional one is left out and logged.
func EnsureInputs(ctx context.Context, s Spec, paths map[string]string, cacheDir string, o Options, log io.Writer) (Inputs, error) {
	res := Inputs{Files: map[string]string{}}
	known := map[string]bool{}
	for _, in := range s.Inputs {
		known[in.Name] = true
	}
	var unknown []string
	for name := range paths {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return res, fmt.Errorf("--input %s: image %s has no such input", strings.Join(unknown, ", "), s.Name)
	}
	if len(s.Inputs) == 0 {
		return res, nil
	}
	dirs := map[string]bool{}
	var entries []layerEntry
	for _, in := range s.Inputs {
		from, given := paths[in.Name]
		if !given {
			from = in.From
		}
		if from == "" || !exists(from) {
			if !in.Optional {
				return res, fmt.Errorf("input %s: %s not found on this machine (give it with --input %s=PATH)", in.Name, orNone(from), in.Name)
			}
			if given {
				return res, fmt.Errorf("input %s: %s not found", in.Name, from)
			}
			res.Records = append(res.Records, InputRecord{Name: in.Name, Absent: true})
			_, _ = fmt.Fprintf(log, "input %s: not given (--input %s=PATH): left out of image %s\n", in.Name, in.Name, s.Name) // progress only
			continue
		}
		from = filepath.Clean(from)
		version, err := probeVersion(ctx, in, from)
		if err != nil {
			return res, fmt.Errorf("input %s: %w", in.Name, err)
		}
		if in.MinVersion != "" && compareVersions(version, in.MinVersion) < 0 {
			return res, fmt.Errorf("input %s: %s is version %s, image %s needs %s or newer", in.Name, from, version, s.Name, in.MinVersion)
		}
		es, sum, err := collectInput(in, from)
		if err != nil {
			return res, fmt.Errorf("input %s: %w", in.Name, err)
		}
		for _, e := range es {
			addParents(dirs, "/"+e.name)
		}
		entries = append(entries, es...)
		res.Records = append(res.Records, InputRecord{Name: in.Name, Version: version, From: from, SHA256: sum})
	}
	var record strings.Builder
	for _, r := range res.Records {
		record.WriteString(r.String() + "\n")
	}
	data := []byte(record.String())
	rec := strings.TrimPrefix(InputsRecord, "/")
	entries = append(entries, layerEntry{name: rec, typ: tar.TypeReg, mode: 0o644, size: int64(len(data)), sum: sha256Hex(data), data: data})
	addParents(dirs, InputsRecord)
	for _, e := range entries {
		if e.typ == tar.TypeDir {
			delete(dirs, e.name)
		}
	}
	for d := range dirs {
		entries = append(entries, layerEntry{name: d, typ: tar.TypeDir, mode: 0o755})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s level %d\n", inputsFormat, o.level()) // a hash.Hash never fails a write
	for _, e := range entries {
		_, _ = fmt.Fprintf(h, "%c %s %o %d %s %s\n", e.typ, e.name, e.mode, e.size, e.sum, e.link)
		if e.typ == tar.TypeReg {
			res.Files[e.name] = e.sum
		}
	}
	dir := filepath.Join(cacheDir, "inputs", hex.EncodeToString(h.Sum(nil))[:16])
	res.Layer = filepath.Join(dir, "layer.tar.gz")
	if _, err := os.Stat(res.Layer); err == nil {
		res.Cached = true
		return res, nil
	}
	_, _ = fmt.Fprintf(log, "inputs layer of image %s: cache miss, making it\n", s.Name) // progress only
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := writeAtomically(res.Layer, func(f *os.File) error { return writeEntries(f, entries, o.level()) }); err != nil {
		return res, fmt.Errorf("writing the inputs layer: %w", err)
	}
	return res, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func orNone(p string) string {
	if p == "" {
		return "no default path"
	}
	return p
}

// probeVersion reads an input's version as its Probe says.
func probeVersion(ctx context.Context, in Input, from string) (string, error) {
	re, err := regexp.Compile(in.Version.Match)
	if err != nil {
		return "", err
	}
	var text, what string
	switch {
	case in.Version.File != "":
		what = filepath.Join(from, in.Version.File)
		raw, err := os.ReadFile(what)
		if err != nil {
			return "", fmt.Errorf("reading its version: %w", err)
		}
		text = string(raw)
	case len(in.Version.Run) > 0:
		what = from + " " + strings.Join(in.Version.Run, " ")
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, from, in.Version.Run...)
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		text = string(out)
	default:
		what = "the name " + filepath.Base(from)
		text = filepath.Base(from)
	}
	m := re.FindStringSubmatch(text)
	if m == nil || m[1] == "" {
		return "", fmt.Errorf("no version in %s (expected a match of %s)", what, in.Version.Match)
	}
	return m[1], nil
}

// compareVersions compares dotted numeric versions (1.26.8 against 1.26.1); a part that is not a
// number counts as its leading digits.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = leadingInt(pa[i])
		}
		if i < len(pb) {
			y = leadingInt(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func leadingInt(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end]) // digits only; "" is 0
	return n
}

// collectInput lists the layer entries of one input and returns its sha256: the file's, or the
// manifest's for a directory.
func collectInput(in Input, from string) ([]layerEntry, string, error) {
	info, err := os.Stat(from)
	if err != nil {
		return nil, "", err
	}
	to := strings.TrimPrefix(in.To, "/")
	if !info.IsDir() {
		if strings.HasSuffix(to, "/") {
			to += filepath.Base(from)
		}
		m, _ := (File{Mode: in.Mode}).FileMode() // validated with the spec; 0644 by default, as in the Dockerfile
		mode := int64(m)
		sum, err := sha256File(from)
		if err != nil {
			return nil, "", err
		}
		return []layerEntry{{name: to, typ: tar.TypeReg, mode: mode, size: info.Size(), sum: sum, src: from}}, sum, nil
	}
	if strings.HasSuffix(to, "/") || in.Fetch.Unpack != "tar.gz" {
		return nil, "", fmt.Errorf("%s is a directory: expected a file (its to is %s)", from, in.To)
	}
	var entries []layerEntry
	manifest := sha256.New()
	err = walkSorted(from, func(p string, fi fs.FileInfo) error {
		rel, _ := filepath.Rel(from, p)
		name := path.Join(to, filepath.ToSlash(rel))
		e := layerEntry{name: name, mode: int64(fi.Mode().Perm())}
		switch m := fi.Mode(); {
		case m.IsDir():
			e.typ = tar.TypeDir
		case m.IsRegular():
			sum, err := sha256File(p)
			if err != nil {
				return err
			}
			e.typ, e.size, e.sum, e.src = tar.TypeReg, fi.Size(), sum, p
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.typ, e.link = tar.TypeSymlink, target
		default:
			return fmt.Errorf("%s: %s is neither a file, a directory nor a link", from, p)
		}
		_, _ = fmt.Fprintf(manifest, "%c %s %o %d %s %s\n", e.typ, filepath.ToSlash(rel), e.mode, e.size, e.sum, e.link) // a hash.Hash never fails a write
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return entries, hex.EncodeToString(manifest.Sum(nil)), nil
}

// writeEntries writes a gzipped layer tar of entries, owned by root, time stamps at the epoch, and
// fails when a file on the build machine changed since it was hashed.
func writeEntries(f *os.File, entries []layerEntry, level int) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	gz, err := gzip.NewWriterLevel(bw, level)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		name := e.name
		if e.typ == tar.TypeDir {
			name += "/"
		}
		hdr := &tar.Header{Typeflag: e.typ, Name: name, Mode: e.mode, Size: e.size, Linkname: e.link, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if e.typ != tar.TypeReg {
			continue
		}
		h := sha256.New()
		if e.data != nil {
			_, err = io.MultiWriter(tw, h).Write(e.data)
		} else {
			err = copyHashed(io.MultiWriter(tw, h), e.src)
		}
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.sum {
			return fmt.Errorf("%s changed while the image was built (sha256 %s, then %s)", e.src, e.sum, got)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func copyHashed(w io.Writer, file string) error {
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = fh.Close() }() // only read: the copy's error says whether it was read whole
	n, err := io.Copy(w, fh)
	if err != nil {
		return err
	}
	if info, err := fh.Stat(); err == nil && info.Size() != n {
		return errors.New(file + " changed size while the image was built")
	}
	return nil
}

func sha256File(file string) (string, error) {
	h := sha256.New()
	if err := copyHashed(h, file); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
