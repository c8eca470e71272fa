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
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// rootfsFormat changes when the way a cached rootfs is made changes, so old entries are not reused.
const rootfsFormat = "rootfs-v1"

// debootstrapTimeout bounds one debootstrap run (a cold minbase with git takes 2–4 minutes).
const debootstrapTimeout = 20 * time.Minute

// Rootfs is a cached Debian root filesystem: one gzipped layer tar and the packages it holds.
type Rootfs struct {
	Layer    string // layer.tar.gz
	Packages string // packages.txt: "name version" per line, as recorded in the image
	Cached   bool   // found in the cache rather than made now
}

// RootfsKey is the cache key of a spec's rootfs: its base and sorted packages, nothing else.
func (s Spec) RootfsKey() string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n", rootfsFormat, s.Base.Suite, s.Base.Variant, s.Base.Mirror, strings.Join(s.sortedPackages(), ",")) // a hash.Hash never fails a write
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// EnsureRootfs returns the spec's rootfs from cacheDir, making it with debootstrap from Debian's
// packages when it is not there yet. debootstrap runs in a private mount namespace, so the mounts
// it makes in the target (proc, sys) never reach the host, even when it is killed.
func EnsureRootfs(ctx context.Context, s Spec, cacheDir string, log io.Writer) (Rootfs, error) {
	dir := filepath.Join(cacheDir, "rootfs", s.RootfsKey())
	r := Rootfs{Layer: filepath.Join(dir, "layer.tar.gz"), Packages: filepath.Join(dir, "packages.txt")}
	if _, err := os.Stat(r.Layer); err == nil {
		r.Cached = true
		return r, nil
	}
	for _, tool := range []string{"debootstrap", "unshare", "chroot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return r, fmt.Errorf("making the %s rootfs needs %s (apt-get install debootstrap util-linux coreutils): %w", s.Base.Suite, tool, err)
		}
	}
	if os.Geteuid() != 0 {
		return r, errors.New("making the rootfs with debootstrap needs root")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return r, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "tmp-")
	if err != nil {
		return r, err
	}
	// After the rename tmp is gone; before it, tmp is removed after another error, the one
	// returned. A leftover tree (hundreds of MiB in the cache) is worth a line in the log.
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			_, _ = fmt.Fprintf(log, "leaving %s behind: %v\n", tmp, err) // progress only
		}
	}()
	root := filepath.Join(tmp, "root")

	args := []string{"--mount", "--propagation", "private", "debootstrap"}
	if s.Base.Variant != "" {
		args = append(args, "--variant="+s.Base.Variant)
	}
	if ps := s.sortedPackages(); len(ps) > 0 {
		args = append(args, "--include="+strings.Join(ps, ","))
	}
	args = append(args, s.Base.Suite, root, s.Base.Mirror)
	_, _ = fmt.Fprintf(log, "debootstrap %s %s (%s) with %s: cache miss, making it\n", variantName(s.Base.Variant), s.Base.Suite, s.Base.Mirror, strings.Join(s.sortedPackages(), ", ")) // progress only
	logFile := filepath.Join(tmp, "debootstrap.log")
	start := time.Now()
	if err := runLogged(ctx, debootstrapTimeout, logFile, "unshare", args...); err != nil {
		return r, fmt.Errorf("debootstrap %s: %w\n%s", s.Base.Suite, err, Tail(logFile, 15))
	}
	_, _ = fmt.Fprintf(log, "debootstrap done in %s\n", time.Since(start).Round(time.Second)) // progress only

	pkgs, err := exec.CommandContext(ctx, "chroot", root, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n").Output()
	if err != nil {
		return r, fmt.Errorf("listing the packages of the rootfs: %w", err)
	}
	if err := checkIncluded(s.sortedPackages(), string(pkgs)); err != nil {
		return r, err
	}
	record := filepath.Join(root, PackagesRecord)
	if err := os.MkdirAll(filepath.Dir(record), 0o755); err != nil {
		return r, err
	}
	if err := os.WriteFile(record, pkgs, 0o644); err != nil {
		return r, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "packages.txt"), pkgs, 0o644); err != nil {
		return r, err
	}
	// What an image must not carry: downloaded .debs and lists, the build host's resolver; and
	// what a resource never reads (documentation, manual pages, translations), as Debian's slim
	// images leave out the same.
	for _, junk := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "var/log", "tmp",
		"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"} {
		if err := emptyDir(filepath.Join(root, junk)); err != nil {
			return r, err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/resolv.conf"), nil, 0o644); err != nil {
		return r, err
	}
	if err := writeLayer(filepath.Join(tmp, "layer.tar.gz"), root); err != nil {
		return r, fmt.Errorf("packing the rootfs: %w", err)
	}
	if err := os.RemoveAll(root); err != nil {
		return r, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return r, err
	}
	return r, nil
}

// checkIncluded fails when a requested package did not make it into the rootfs.
func checkIncluded(want []string, got string) error {
	have := map[string]bool{}
	for _, line := range strings.Split(got, "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			have[name] = true
		}
	}
	var missing []string
	for _, p := range want {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("packages missing from the rootfs: %s", strings.Join(missing, ", "))
	}
	return nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "partial" || e.Name() == "lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// writeLayer packs root into a gzipped tar in a fixed order with numeric owners. Device nodes,
// sockets and the contents of proc, sys and dev are left out: the runtime provides them.
func writeLayer(file, root string) (err error) {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	// The layer is written: its Close error counts unless an earlier error is already returned.
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	links := map[[2]uint64]string{}
	err = walkSorted(root, func(p string, info fs.FileInfo) error {
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if parent, _, _ := strings.Cut(rel, "/"); (parent == "proc" || parent == "sys" || parent == "dev") && rel != parent {
			return nil
		}
		mode := info.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket|fs.ModeNamedPipe) != 0 {
			return nil
		}
		var target string
		if mode&fs.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			target = t
		}
		hdr, err := tar.FileInfoHeader(info, target)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		st, ok := info.Sys().(*syscall.Stat_t)
		if ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if mode.IsRegular() && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if first, seen := links[key]; seen {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
					return tw.WriteHeader(hdr)
				}
				links[key] = rel
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !mode.IsRegular() {
			return nil
		}
		return copyInto(tw, p)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// walkSorted walks root depth-first in lexical order without following symbolic links.
func walkSorted(p string, fn func(string, fs.FileInfo) error) error {
	info, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if err := fn(p, info); err != nil {
		return err
	}
	if !info.IsDir() {
		return nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		if err := walkSorted(filepath.Join(p, n), fn); err != nil {
			return err
		}
	}
	return nil
}

// runLogged runs a command with its output in logFile, bounded by timeout.
func runLogged(ctx context.Context, timeout time.Duration, logFile, name string, args ...string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := os.Create(logFile)
	if err != nil {
		return err
	}
	// The command wrote the log: its Close error counts unless the command's error is returned.
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", logFile, cerr)
		}
	}()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w after %s", name, ctx.Err(), timeout)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Tail returns the last n lines of a log file, for error messages; "" when it cannot be read.
func Tail(file string, n int) string {
	raw, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
