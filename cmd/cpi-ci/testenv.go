package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

// envMetadata is the environment task's metadata: a flat JSON object of terraform outputs
// (DESIGN.md §2), every value read as text.
type envMetadata map[string]string

// readEnvMetadata reads the metadata file; numbers and booleans are kept as written.
func readEnvMetadata(path string) (envMetadata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the environment's metadata: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("the environment's metadata %s is not a JSON object: %w", path, err)
	}
	meta := envMetadata{}
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			meta[k] = v
		case json.Number:
			meta[k] = v.String()
		case bool:
			meta[k] = strconv.FormatBool(v)
		case nil:
		default:
			return nil, fmt.Errorf("the environment's metadata %s: %s is not flat (a %T)", path, k, v)
		}
	}
	return meta, nil
}

// need fails listing every key of keys the metadata lacks (or has empty), in one error.
func (m envMetadata) need(path string, keys ...string) error {
	var missing []string
	for _, k := range keys {
		if strings.TrimSpace(m[k]) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the environment's metadata %s lacks %s", path, strings.Join(missing, ", "))
	}
	return nil
}

// stemcellDir is a stemcell input (the alicloud-light-stemcell resource's get, or a directory
// holding one stemcell tarball).
type stemcellDir struct {
	Tarball  string
	Manifest *stemcell.Manifest
}

// readStemcellDir finds the tarball (stemcell.tgz, else the one *.tgz) and its stemcell.MF (the
// get's stemcell.MF beside it, else the tarball's own).
func readStemcellDir(dir string) (stemcellDir, error) {
	tarball := filepath.Join(dir, "stemcell.tgz")
	if _, err := os.Stat(tarball); err != nil {
		found, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
		sort.Strings(found)
		if len(found) != 1 {
			return stemcellDir{}, fmt.Errorf("the stemcell input %s: want stemcell.tgz or exactly one *.tgz, found %d", dir, len(found))
		}
		tarball = found[0]
	}
	var m *stemcell.Manifest
	if data, err := os.ReadFile(filepath.Join(dir, stemcell.ManifestMember)); err == nil {
		if m, err = stemcell.ParseManifest(data); err != nil {
			return stemcellDir{}, fmt.Errorf("the stemcell input %s: %w", dir, err)
		}
	} else {
		if m, err = tarballManifest(tarball); err != nil {
			return stemcellDir{}, fmt.Errorf("the stemcell input %s: %w", tarball, err)
		}
	}
	if m.Name() == "" || m.Version() == "" {
		return stemcellDir{}, fmt.Errorf("the stemcell input %s: stemcell.MF has no name or version", dir)
	}
	abs, err := filepath.Abs(tarball)
	if err != nil {
		return stemcellDir{}, err
	}
	return stemcellDir{Tarball: abs, Manifest: m}, nil
}

// writePrivate writes data to path 0600 from its first byte, through a temporary file beside it,
// so a reader never sees half of it.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // gone already after the rename
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// errFound ends a tarball walk once the member looked for is read.
var errFound = errors.New("found")

// tarballManifest reads stemcell.MF out of a stemcell tarball, heavy or light, without reading
// further than it (real stemcells list it after the image).
func tarballManifest(path string) (*stemcell.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: its close has nothing to report
	var m *stemcell.Manifest
	err = tarsafe.Walk(f, "stemcell tarball", func(hdr *tar.Header, content io.Reader) error {
		name, err := tarsafe.MemberName(hdr.Name)
		if err != nil || name != stemcell.ManifestMember || hdr.Typeflag != tar.TypeReg {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(content, 1<<20))
		if err != nil {
			return err
		}
		if m, err = stemcell.ParseManifest(data); err != nil {
			return err
		}
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return m, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("no %s in the tarball", stemcell.ManifestMember)
}
