package image

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec is one image.yaml: everything both the Dockerfile and the hermetic build are made from.
type Spec struct {
	// Name is the image's name (its folder under images/ and its repository in a registry).
	Name string `yaml:"name"`
	// ResourceType, when set, is the pipeline `type:` the image is also built as a base type for.
	ResourceType string `yaml:"resource_type"`
	Base         Base   `yaml:"base"`
	// Packages are Debian packages on top of the base, unpinned: the build records what it got.
	Packages []string `yaml:"packages"`
	Files    []File   `yaml:"files"`
	Links    []Link   `yaml:"links"`
	Env      []string `yaml:"env"`
	User     string   `yaml:"user"`
	WorkDir  string   `yaml:"workdir"`
	// Entrypoint is empty for resource images: Concourse runs /opt/resource/* itself.
	Entrypoint []string `yaml:"entrypoint"`
	Cmd        []string `yaml:"cmd"`
}

// Base is the Debian the image starts from: a Docker image for the Dockerfile, and the suite and
// variant debootstrap makes for the hermetic build.
type Base struct {
	Docker  string `yaml:"docker"`
	Suite   string `yaml:"suite"`
	Variant string `yaml:"variant"`
	Mirror  string `yaml:"mirror"`
}

// File is one file of the pack put into the image: From is a path relative to the repository,
// produced by `make build` or `make tools` (the Dockerfile runs the same make targets).
type File struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Mode string `yaml:"mode"`
}

// Link is a symbolic link in the image (the argv0 entry points /opt/resource/check|in|out).
type Link struct {
	Path   string `yaml:"path"`
	Target string `yaml:"target"`
}

// PackagesRecord is where an image records the Debian packages it was built with.
const PackagesRecord = "/usr/share/concourse-pack/packages.txt"

// ReadSpec reads and validates one image.yaml, strictly: an unknown key is an error.
func ReadSpec(file string) (Spec, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return Spec{}, err
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", file, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// Validate lists every problem of the description at once.
func (s Spec) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if s.Name == "" {
		add("name: required")
	}
	if s.Base.Docker == "" {
		add("base.docker: required (the Dockerfile's FROM)")
	}
	if s.Base.Suite == "" {
		add("base.suite: required (the Debian suite debootstrap makes, e.g. bookworm)")
	}
	if s.Base.Variant != "" && s.Base.Variant != "minbase" {
		add("base.variant: %q, expected minbase or empty", s.Base.Variant)
	}
	if s.Base.Mirror == "" {
		add("base.mirror: required (Debian's archive URL)")
	}
	for i, p := range s.Packages {
		if p == "" || strings.ContainsAny(p, " \t=,") {
			add("packages[%d]: %q is not a Debian package name", i, p)
		}
	}
	seen := map[string]bool{}
	for i, f := range s.Files {
		if f.From == "" || path.IsAbs(f.From) || strings.Contains(f.From, "..") {
			add("files[%d].from: %q, expected a path inside the repository", i, f.From)
		}
		if !path.IsAbs(f.To) || path.Clean(f.To) != f.To {
			add("files[%d].to: %q, expected a clean absolute path", i, f.To)
		}
		if _, err := f.FileMode(); err != nil {
			add("files[%d].mode: %v", i, err)
		}
		if seen[f.To] {
			add("files[%d].to: %s given twice", i, f.To)
		}
		seen[f.To] = true
	}
	for i, l := range s.Links {
		if !path.IsAbs(l.Path) || path.Clean(l.Path) != l.Path {
			add("links[%d].path: %q, expected a clean absolute path", i, l.Path)
		}
		if l.Target == "" {
			add("links[%d].target: required", i)
		}
		if seen[l.Path] {
			add("links[%d].path: %s given twice", i, l.Path)
		}
		seen[l.Path] = true
	}
	for i, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			add("env[%d]: %q, expected NAME=value", i, e)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// FileMode parses the octal mode (default 0644).
func (f File) FileMode() (os.FileMode, error) {
	if f.Mode == "" {
		return 0o644, nil
	}
	m, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("%q, expected an octal mode such as 0755", f.Mode)
	}
	return os.FileMode(m), nil
}

// sortedPackages returns the packages sorted and without duplicates: the rootfs cache key and the
// Dockerfile's install line do not depend on the order they are listed in.
func (s Spec) sortedPackages() []string {
	ps := append([]string(nil), s.Packages...)
	sort.Strings(ps)
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}
