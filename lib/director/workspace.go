package director

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
	"gopkg.in/yaml.v3"
)

// The files of an env in a workspace (and in what `in` writes).
const (
	ManifestFile = "director.yml"
	StateFile    = "director-state.json"
	CredsFile    = "creds.yml"
)

// workspace is one run's private directory: the manifest with its files, the state and vars
// store, bosh's HOME, and the secret vars files (never stored).
type workspace struct {
	dir string
}

func newWorkspace(parent, env string) (workspace, error) {
	dir, err := os.MkdirTemp(parent, env+"-")
	if err != nil {
		return workspace{}, err
	}
	for _, sub := range []string{"files", "home", ".secret"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return workspace{}, err
		}
	}
	return workspace{dir: dir}, nil
}

func (w workspace) path(name string) string { return filepath.Join(w.dir, name) }
func (w workspace) home() string            { return w.path("home") }
func (w workspace) remove() error           { return os.RemoveAll(w.dir) }

// writeSecret writes a vars file only bosh reads: 0600, in a 0700 directory, removed with the
// workspace, never stored.
func (w workspace) writeSecret(name string, vars map[string]any) (string, error) {
	body, err := json.Marshal(vars) // JSON is YAML: no quoting to get wrong
	if err != nil {
		return "", err
	}
	p := w.path(filepath.Join(".secret", name))
	return p, os.WriteFile(p, body, 0o600)
}

func (w workspace) exists(name string) bool {
	_, err := os.Stat(w.path(name))
	return err == nil
}

// copyFile copies src to dst (0600 for secrets, 0644 otherwise).
func copyFile(src, dst string, secret bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read-only: its close has nothing to report
	mode := os.FileMode(0o644)
	if secret {
		mode = 0o600
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // the copy's error is the one to report
		return err
	}
	return out.Close()
}

// putFilePart stores a file as a content-addressed part, streamed (a CPI release is large).
func (s Store) putFilePart(ctx context.Context, env, path string) (Part, error) {
	f, err := os.Open(path)
	if err != nil {
		return Part{}, err
	}
	defer func() { _ = f.Close() }() // read-only: its close has nothing to report
	digest, size, err := sha256File(f)
	if err != nil {
		return Part{}, err
	}
	p := Part{Object: env + "/parts/" + digest, SHA256: digest, Size: size}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Part{}, err
	}
	// Content-addressed: overwriting an existing part writes the same bytes.
	if _, err := s.Objects.Upload(ctx, p.Object, f, alicloud.UploadOptions{PutOptions: alicloud.PutOptions{Private: true}}); err != nil {
		return Part{}, err
	}
	return p, nil
}

// fetchFilePart downloads a part into path, verified against its digest.
func (s Store) fetchFilePart(ctx context.Context, p Part, path string, secret bool) error {
	info, err := s.Objects.DownloadFile(ctx, p.Object, path, alicloud.TransferOptions{})
	if err != nil {
		return err
	}
	if info.SHA256 != p.SHA256 {
		_ = os.Remove(path) // a corrupt download must not be used; the error says why
		return fmt.Errorf("part %s has sha256 %s, its revision records %s", p.Object, info.SHA256, p.SHA256)
	}
	if secret {
		return os.Chmod(path, 0o600)
	}
	return nil
}

// restore lays out a revision in the workspace: manifest, files, state, creds.
func (s Store) restore(ctx context.Context, r Revision, w workspace) error {
	for name, p := range r.Parts {
		var target string
		secret := p.Secret
		switch {
		case name == PartManifest:
			target, secret = ManifestFile, false
		case name == PartState:
			target, secret = StateFile, true
		case name == PartCreds:
			target, secret = CredsFile, true
		case strings.HasPrefix(name, "files/") && !strings.Contains(name, ".."):
			target = name
		default:
			continue
		}
		if err := s.fetchFilePart(ctx, p, w.path(target), secret); err != nil {
			return fmt.Errorf("restoring %s of env %s revision %d: %w", target, r.Env, r.Number, err)
		}
	}
	return nil
}

// cacheMembers are what bosh's installation cache keeps that is worth keeping: compiled
// packages only. Rendered jobs hold the resolved CPI config (the cloud credentials).
func cacheMember(rel string) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) < 2 {
		return false
	}
	switch parts[1] {
	case "packages", "compiled_packages.json", "blobs":
		return true
	}
	return false
}

// packCache tars the compiled packages of every installation under home/.bosh/installations;
// ok is false when there are none.
func packCache(home string) ([]byte, bool, error) {
	root := filepath.Join(home, ".bosh", "installations")
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	count := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return fs.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(root, p) // p is below root
		if p == root || (!d.IsDir() && !d.Type().IsRegular()) {
			return nil
		}
		if !cacheMember(rel) {
			if d.IsDir() && strings.Count(rel, string(filepath.Separator)) >= 1 {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			count++
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			_ = f.Close() // read-only: its close has nothing to report
			return err
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("packing bosh's compiled packages: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, false, err
	}
	if err := gz.Close(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), count > 0, nil
}

// unpackCache restores packCache's tarball under home/.bosh/installations.
func unpackCache(data []byte, home string) error {
	root := filepath.Join(home, ".bosh", "installations")
	return tarsafe.Walk(bytes.NewReader(data), "compiled packages cache", func(hdr *tar.Header, content io.Reader) error {
		name, err := tarsafe.MemberName(hdr.Name)
		if err != nil {
			return fmt.Errorf("compiled packages cache member %q: %w", hdr.Name, err)
		}
		if !cacheMember(name) {
			return fmt.Errorf("compiled packages cache member %q is not a compiled package", hdr.Name)
		}
		target := filepath.Join(root, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			return os.MkdirAll(target, 0o700)
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, content); err != nil {
				_ = f.Close() // the copy's error is the one to report
				return err
			}
			return f.Close()
		}
		return nil
	})
}

// credsSecrets lists every secret value in a creds.yml (passwords, private keys, CA keys);
// certificates and public keys are not secrets.
func credsSecrets(data []byte) []string {
	var doc any
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(k, child)
			}
		case []any:
			for _, child := range v {
				walk(key, child)
			}
		case string:
			switch key {
			case "certificate", "ca", "public_key", "public_key_fingerprint":
				return
			}
			out = append(out, v)
		}
	}
	walk("", doc)
	return out
}
