package release

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/yamlnode"
)

// Dir is a release directory as `bosh create-release` sees it, read once by OpenDir.
type Dir struct {
	path      string
	name      string
	blobstore Blobstore
	secrets   []string
	blobs     []Blob

	final, dev             releaseIndex
	devBuilds, finalBuilds []IndexEntry
}

// Blobstore is the final blobstore of a release directory: config/final.yml's, with
// config/private.yml's options merged over it. Its options may hold secrets: never print them
// (String and GoString print the option keys only).
type Blobstore struct {
	Provider string
	Options  map[string]any
}

// Blob is an entry of config/blobs.yml.
type Blob struct {
	Path     string // under blobs/, e.g. "golang/go1.22.linux-amd64.tar.gz"
	Size     int64
	SHA      Digest
	ObjectID string // the blob's id in the final blobstore; "" until `bosh upload-blobs`
}

// IndexEntry is an entry of a job, package or license index in .dev_builds or .final_builds.
type IndexEntry struct {
	Kind        string // "job", "package" or "license"
	Name        string // the job's or package's name; "license" for the license
	Fingerprint string
	Version     string
	SHA1        Digest
	BlobstoreID string // final builds only
}

type releaseIndex struct {
	file     string
	versions []version.Version // ascending, bosh order
}

// OpenDir reads a release directory: config/final.yml (the release name — `name`, or the
// legacy `final_name` — and the blobstore), config/private.yml, config/blobs.yml, the release
// indices releases/<name>/index.yml and dev_releases/<name>/index.yml, and the job, package and
// license indices under .dev_builds and .final_builds. Every malformed file is an error naming
// the file and the key.
func OpenDir(dir string) (*Dir, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("release directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("release directory %s is not a directory", dir)
	}
	d := &Dir{path: dir}
	if err := d.readConfig(); err != nil {
		return nil, err
	}
	if err := d.readBlobs(); err != nil {
		return nil, err
	}
	if d.final, err = readReleaseIndex(filepath.Join(dir, "releases", d.name, "index.yml")); err != nil {
		return nil, err
	}
	if d.dev, err = readReleaseIndex(filepath.Join(dir, "dev_releases", d.name, "index.yml")); err != nil {
		return nil, err
	}
	if d.devBuilds, err = readBuilds(filepath.Join(dir, ".dev_builds")); err != nil {
		return nil, err
	}
	if d.finalBuilds, err = readBuilds(filepath.Join(dir, ".final_builds")); err != nil {
		return nil, err
	}
	return d, nil
}

// readConfig reads config/final.yml and config/private.yml as bosh-cli's releasedir.FSConfig
// does, except that private options are merged deeply (a nested map in private.yml adds to the
// public one instead of replacing it).
func (d *Dir) readConfig() error {
	finalPath := filepath.Join(d.path, "config", "final.yml")
	doc, err := readYAML(finalPath, true)
	if err != nil {
		return err
	}
	if doc == nil {
		return fmt.Errorf("%s is missing: it names the release (bosh init-release writes it)", finalPath)
	}
	fields, err := doc.mapping("", doc.root)
	if err != nil {
		return err
	}
	var name, finalName string
	for _, f := range fields {
		switch f.key {
		case "name":
			name, err = doc.str("name", f.value)
		case "final_name":
			finalName, err = doc.str("final_name", f.value)
		case "blobstore":
			d.blobstore, err = readBlobstore(doc, f.value, false)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case name != "" && finalName != "":
		return fmt.Errorf("%s: set name or the legacy final_name, not both", finalPath)
	case name == "" && finalName == "":
		return fmt.Errorf("%s: name is missing (the legacy final_name is not set either)", finalPath)
	case name == "":
		name = finalName
	}
	key := "name"
	if name == finalName {
		key = "final_name"
	}
	if !plainName(name) {
		return fmt.Errorf("%s: %s: %q is not a plain name (no '/', not '.' or '..')", finalPath, key, name)
	}
	d.name = name

	private, err := readYAML(filepath.Join(d.path, "config", "private.yml"), true)
	if err != nil || private == nil {
		return err
	}
	fields, err = private.mapping("", private.root)
	if err != nil {
		return err
	}
	for _, f := range fields {
		if f.key != "blobstore" {
			continue
		}
		p, err := readBlobstore(private, f.value, true)
		if err != nil {
			return err
		}
		if d.blobstore.Options == nil && len(p.Options) > 0 {
			d.blobstore.Options = map[string]any{}
		}
		mergeOptions(d.blobstore.Options, p.Options)
	}
	d.secrets = scalars(private.root, "")
	return nil
}

// readBlobstore reads a blobstore: {provider, options} block. bosh takes the provider from
// final.yml only; private.yml's is ignored as bosh ignores it.
func readBlobstore(doc *yamlDoc, n *yaml.Node, private bool) (Blobstore, error) {
	fields, err := doc.mapping("blobstore", n)
	if err != nil {
		return Blobstore{}, err
	}
	var b Blobstore
	for _, f := range fields {
		switch f.key {
		case "provider":
			if !private {
				b.Provider, err = doc.str("blobstore.provider", f.value)
			}
		case "options":
			if _, err = doc.mapping("blobstore.options", f.value); err == nil && !yamlnode.IsNull(f.value) {
				err = doc.decode("blobstore.options", f.value, "a mapping", &b.Options)
			}
		}
		if err != nil {
			return Blobstore{}, err
		}
	}
	return b, nil
}

// mergeOptions merges src over dst, recursing into maps present on both sides.
func mergeOptions(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if base, ok := dst[k].(map[string]any); ok {
				mergeOptions(base, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// scalars collects the values of a private.yml: every string or number, at any depth, except
// blobstore.provider. Booleans and nulls are no secrets, and redacting "true" garbles logs.
func scalars(n *yaml.Node, key string) []string {
	n = yamlnode.Resolve(n)
	if n == nil {
		return nil
	}
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, scalars(n.Content[i+1], join(key, n.Content[i].Value))...)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, scalars(c, key)...)
		}
	case yaml.ScalarNode:
		if key != "blobstore.provider" && n.Tag != "!!bool" && n.Tag != "!!null" && n.Value != "" {
			out = append(out, n.Value)
		}
	}
	return out
}

func (d *Dir) readBlobs() error {
	doc, err := readYAML(filepath.Join(d.path, "config", "blobs.yml"), true)
	if err != nil || doc == nil {
		return err
	}
	fields, err := doc.mapping("", doc.root)
	if err != nil {
		return err
	}
	for _, f := range fields {
		label := fmt.Sprintf("blob %q", f.key)
		if strings.HasPrefix(f.key, "/") || path.Clean(f.key) != f.key || f.key == "." || strings.HasPrefix(f.key, "../") || f.key == ".." {
			return doc.errorf(label, f.keyAt, "not a clean path under blobs/")
		}
		entry, err := doc.mapping(label, f.value)
		if err != nil {
			return err
		}
		b := Blob{Path: f.key, Size: -1}
		var sha string
		for _, e := range entry {
			k := label + ": " + e.key
			switch e.key {
			case "size":
				err = doc.decode(k, e.value, "a size in bytes", &b.Size)
				if err == nil && b.Size < 0 {
					err = doc.errorf(k, e.value, "negative size")
				}
			case "sha":
				sha, err = doc.str(k, e.value)
				if err == nil {
					if b.SHA, err = ParseDigest(sha); err != nil {
						err = doc.errorf(k, e.value, "%s", err)
					}
				}
			case "object_id":
				b.ObjectID, err = doc.str(k, e.value)
			}
			if err != nil {
				return err
			}
		}
		switch {
		case b.Size < 0:
			return doc.errorf(label, f.keyAt, "size is missing")
		case sha == "":
			return doc.errorf(label, f.keyAt, "sha is missing")
		}
		d.blobs = append(d.blobs, b)
	}
	sort.Slice(d.blobs, func(i, j int) bool { return d.blobs[i].Path < d.blobs[j].Path })
	return nil
}

// readReleaseIndex reads releases/<name>/index.yml or dev_releases/<name>/index.yml
// (`builds: {<uuid>: {version}}`); a missing one is empty.
func readReleaseIndex(file string) (releaseIndex, error) {
	idx := releaseIndex{file: file}
	doc, err := readYAML(file, true)
	if err != nil || doc == nil {
		return idx, err
	}
	builds, err := indexBuilds(doc)
	if err != nil {
		return idx, err
	}
	for _, b := range builds {
		key := "builds." + b.key
		entry, err := doc.mapping(key, b.value)
		if err != nil {
			return idx, err
		}
		var text string
		for _, e := range entry {
			if e.key == "version" {
				if text, err = doc.str(key+".version", e.value); err != nil {
					return idx, err
				}
			}
		}
		if text == "" {
			return idx, doc.errorf(key, b.keyAt, "version is missing")
		}
		v, err := version.Parse(text)
		if err != nil {
			return idx, doc.errorf(key+".version", b.value, "%s", err)
		}
		idx.versions = append(idx.versions, v)
	}
	version.Sort(idx.versions)
	return idx, nil
}

// indexBuilds returns the entries under `builds`, sorted by key so that equal versions ("1",
// "1.0") come out in a stable order.
func indexBuilds(doc *yamlDoc) ([]field, error) {
	fields, err := doc.mapping("", doc.root)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if f.key == "builds" {
			builds, err := doc.mapping("builds", f.value)
			sort.Slice(builds, func(i, j int) bool { return builds[i].key < builds[j].key })
			return builds, err
		}
	}
	return nil, nil
}

// readBuilds reads the job, package and license indices of .dev_builds or .final_builds.
func readBuilds(root string) ([]IndexEntry, error) {
	var files []struct{ kind, name, file string }
	for _, kind := range []string{"jobs", "packages"} {
		entries, err := os.ReadDir(filepath.Join(root, kind))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				files = append(files, struct{ kind, name, file string }{
					strings.TrimSuffix(kind, "s"), e.Name(), filepath.Join(root, kind, e.Name(), "index.yml"),
				})
			}
		}
	}
	files = append(files, struct{ kind, name, file string }{"license", "license", filepath.Join(root, "license", "index.yml")})

	var out []IndexEntry
	for _, f := range files {
		doc, err := readYAML(f.file, true)
		if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		builds, err := indexBuilds(doc)
		if err != nil {
			return nil, err
		}
		for _, b := range builds {
			key := "builds." + b.key
			entry, err := doc.mapping(key, b.value)
			if err != nil {
				return nil, err
			}
			build := IndexEntry{Kind: f.kind, Name: f.name, Fingerprint: b.key}
			var sha string
			for _, e := range entry {
				switch e.key {
				case "version":
					build.Version, err = doc.str(key+".version", e.value)
				case "blobstore_id":
					build.BlobstoreID, err = doc.str(key+".blobstore_id", e.value)
				case "sha1":
					if sha, err = doc.str(key+".sha1", e.value); err == nil {
						if build.SHA1, err = ParseDigest(sha); err != nil {
							err = doc.errorf(key+".sha1", e.value, "%s", err)
						}
					}
				}
				if err != nil {
					return nil, err
				}
			}
			if sha == "" {
				return nil, doc.errorf(key, b.keyAt, "sha1 is missing")
			}
			out = append(out, build)
		}
	}
	return out, nil
}

// Path returns the directory OpenDir read.
func (d *Dir) Path() string { return d.path }

// Name returns the release name from config/final.yml.
func (d *Dir) Name() string { return d.name }

// Blobstore returns the final blobstore (a copy). Its options may hold private.yml's secrets.
func (d *Dir) Blobstore() Blobstore {
	return Blobstore{Provider: d.blobstore.Provider, Options: copyOptions(d.blobstore.Options)}
}

func copyOptions(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = copyOptions(sub)
		}
		out[k] = v
	}
	return out
}

// Secrets returns every value config/private.yml sets (strings and numbers at any depth, not
// blobstore.provider), deduplicated and sorted, for the caller to register with its redactor.
func (d *Dir) Secrets() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range d.secrets {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Blobs returns config/blobs.yml's entries sorted by path.
func (d *Dir) Blobs() []Blob { return append([]Blob(nil), d.blobs...) }

// DevIndex returns the entries of the .dev_builds job, package and license indices.
func (d *Dir) DevIndex() []IndexEntry { return append([]IndexEntry(nil), d.devBuilds...) }

// FinalIndex returns the entries of the .final_builds job, package and license indices.
func (d *Dir) FinalIndex() []IndexEntry { return append([]IndexEntry(nil), d.finalBuilds...) }

// FinalVersions returns the versions in releases/<name>/index.yml, ascending in bosh order.
func (d *Dir) FinalVersions() []version.Version {
	return append([]version.Version(nil), d.final.versions...)
}

// DevVersions returns the versions in dev_releases/<name>/index.yml, ascending in bosh order.
func (d *Dir) DevVersions() []version.Version {
	return append([]version.Version(nil), d.dev.versions...)
}

// LatestFinal returns the greatest final version, or nil when there is none.
func (d *Dir) LatestFinal() *version.Version { return version.Latest(d.final.versions) }

// LatestDev returns the greatest dev version, or nil when there is none.
func (d *Dir) LatestDev() *version.Version { return version.Latest(d.dev.versions) }

// NextDevVersion returns the version `bosh create-release` (no --version, no
// --timestamp-version) gives the next dev release of this directory; it is also the dev build
// `create-release --final` makes on its way.
func (d *Dir) NextDevVersion() (version.Version, error) {
	return version.NextDev(d.LatestFinal(), d.LatestDev())
}

// NextFinalVersion returns the version `bosh create-release --final` (no --version) gives the
// next final release of this directory.
func (d *Dir) NextFinalVersion() (version.Version, error) {
	return version.NextFinal(d.LatestFinal())
}

// FinalManifest reads the manifest of final release v (releases/<name>/<name>-<v>.yml).
func (d *Dir) FinalManifest(v version.Version) (*Manifest, error) {
	return d.manifest(d.final, "releases", v)
}

// DevManifest reads the manifest of dev release v (dev_releases/<name>/<name>-<v>.yml).
func (d *Dir) DevManifest(v version.Version) (*Manifest, error) {
	return d.manifest(d.dev, "dev_releases", v)
}

func (d *Dir) manifest(idx releaseIndex, kind string, v version.Version) (*Manifest, error) {
	var text string
	for _, have := range idx.versions {
		if have.Equal(v) {
			text = have.String() // the file is named after the version as indexed ("1" vs "1.0")
		}
	}
	if text == "" {
		return nil, fmt.Errorf("%s has no version %s", idx.file, v)
	}
	file := filepath.Join(d.path, kind, d.name, d.name+"-"+text+".yml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// String describes the directory without private.yml's values.
func (d *Dir) String() string {
	return fmt.Sprintf("release directory %s (release %s, blobstore %s)", d.path, d.name, d.blobstore)
}

// GoString keeps %#v from printing private.yml's values.
func (d *Dir) GoString() string { return "&release.Dir{" + d.String() + "}" }

// String prints the provider and the option keys, never the values.
func (b Blobstore) String() string {
	keys := make([]string, 0, len(b.Options))
	for k := range b.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s {options: %s}", b.Provider, strings.Join(keys, ", "))
}

// GoString keeps %#v from printing option values.
func (b Blobstore) GoString() string { return "release.Blobstore{" + b.String() + "}" }
