package release

import (
	"fmt"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
	"gopkg.in/yaml.v3"
)

// Manifest is a release manifest: release.MF inside a release tarball, or
// releases/<name>/<name>-<version>.yml in a release directory (the same document).
type Manifest struct {
	Name               string         `yaml:"name"`
	Version            string         `yaml:"version"` // as written, even where YAML sees a number ("1.10")
	CommitHash         string         `yaml:"commit_hash"`
	UncommittedChanges bool           `yaml:"uncommitted_changes"`
	Jobs               []Item         `yaml:"jobs"`
	Packages           []Item         `yaml:"packages"`
	CompiledPackages   []CompiledItem `yaml:"compiled_packages"`
	License            *Item          `yaml:"license"`

	// Raw is the document as read.
	Raw []byte `yaml:"-"`
}

// Item is a job, a package or the license of a release.
type Item struct {
	Name        string `yaml:"name"` // "license" for the license, which has no name in YAML
	Version     string `yaml:"version"`
	Fingerprint string `yaml:"fingerprint"`
	// SHA1 is the digest of the item's archive as written: despite the name, a bare SHA-1, a
	// "sha256:<hex>" or a multi-digest (see Digest).
	SHA1 string `yaml:"sha1"`
	// Packages lists, for a job, the packages it uses.
	Packages []string `yaml:"packages,omitempty"`
	// Dependencies lists, for a package or compiled package, the packages it depends on.
	Dependencies []string `yaml:"dependencies,omitempty"`
}

// CompiledItem is a compiled package: an Item built for one stemcell.
type CompiledItem struct {
	Item `yaml:",inline"`
	// Stemcell is "<operating system>/<stemcell version>", e.g. "ubuntu-jammy/1.484".
	Stemcell string `yaml:"stemcell"`
}

// Digest parses the item's SHA1 field.
func (i Item) Digest() (Digest, error) { return ParseDigest(i.SHA1) }

// rubyBinaryTags fixes the tags the Ruby bosh CLI wrote into old manifests, as bosh-cli's
// release/manifest does before parsing.
var rubyBinaryTags = strings.NewReplacer(
	"sha1: !binary |-", "sha1: !!binary |-",
	"version: !binary |-", "version: !!binary |-",
	"fingerprint: !binary |-", "fingerprint: !!binary |-",
)

// ParseManifest parses and checks a release manifest: a name and a BOSH version; every job,
// package, compiled package and the license with a plain name (no '/'), a parseable digest and
// no duplicate; every package a job uses and every dependency present in the release. All
// problems are reported at once.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.Unmarshal([]byte(rubyBinaryTags.Replace(string(data))), &m); err != nil {
		return nil, fmt.Errorf("not a release manifest: %w", err)
	}
	m.Raw = append([]byte(nil), data...)
	if m.License != nil && m.License.Name == "" {
		m.License.Name = "license"
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if m.Name == "" {
		add("name is missing")
	} else if !plainName(m.Name) {
		add("name %q is not a plain name (no '/', not '.' or '..')", m.Name)
	}
	if m.Version == "" {
		add("version is missing")
	} else if _, err := version.Parse(m.Version); err != nil {
		add("version: %w", err)
	}

	checkItems := func(kind string, items []Item) map[string]bool {
		names := map[string]bool{}
		for _, it := range items {
			label := fmt.Sprintf("%s %q", kind, it.Name)
			switch {
			case it.Name == "":
				add("a %s has no name", kind)
				continue
			case !plainName(it.Name):
				add("%s: not a plain name (no '/', not '.' or '..')", label)
				continue
			case names[it.Name]:
				add("%s: listed twice", label)
			}
			names[it.Name] = true
			if _, err := it.Digest(); err != nil {
				add("%s: sha1: %w", label, err)
			}
		}
		return names
	}
	compiled := make([]Item, len(m.CompiledPackages))
	for i, c := range m.CompiledPackages {
		compiled[i] = c.Item
	}
	checkItems("job", m.Jobs)
	pkgs := checkItems("package", m.Packages)
	compiledPkgs := checkItems("compiled package", compiled)
	if m.License != nil {
		if _, err := m.License.Digest(); err != nil {
			add("license: sha1: %w", err)
		}
	}

	for _, j := range m.Jobs {
		for _, p := range j.Packages {
			if !pkgs[p] && !compiledPkgs[p] {
				add("job %q uses package %q, which the release does not have", j.Name, p)
			}
		}
	}
	for _, p := range m.Packages {
		for _, d := range p.Dependencies {
			if !pkgs[d] {
				add("package %q depends on package %q, which the release does not have", p.Name, d)
			}
		}
	}
	for _, c := range m.CompiledPackages {
		for _, d := range c.Dependencies {
			if !compiledPkgs[d] {
				add("compiled package %q depends on compiled package %q, which the release does not have", c.Name, d)
			}
		}
	}
	return joinProblems(problems)
}

// plainName reports whether a release, job or package name is safe in a file name.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && !strings.ContainsRune(name, 0)
}

// problems is several errors shown on one line (log friendly), each reachable by errors.As.
type problems []error

func (p problems) Error() string {
	text := make([]string, len(p))
	for i, err := range p {
		text[i] = err.Error()
	}
	return strings.Join(text, "; ")
}

func (p problems) Unwrap() []error { return p }

func joinProblems(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return problems(errs)
}
