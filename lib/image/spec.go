package image

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"reflect"
	"regexp"
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
	// Inputs are toolchains of the build machine the pack does not build (Go, terraform).
	Inputs  []Input  `yaml:"inputs"`
	Links   []Link   `yaml:"links"`
	Env     []string `yaml:"env"`
	User    string   `yaml:"user"`
	WorkDir string   `yaml:"workdir"`
	// Entrypoint is empty for resource images: Concourse runs /opt/resource/* itself.
	Entrypoint []string `yaml:"entrypoint"`
	Cmd        []string `yaml:"cmd"`

	// Extends names another image.yaml (relative to this one) that this image is made of, plus
	// Layer: a variant such as a test image holding doubles. An extending spec gives only its
	// name, extends, files (the extra layer) and env (replacing the parent's variables of the same
	// names); the rest comes from the parent.
	Extends string `yaml:"extends"`
	// Layer is the extra layer of an extending image: its files, on top of the parent's layers.
	Layer []File `yaml:"-"`
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

// Input is a file or directory taken from the build machine rather than the repository: the
// hermetic build copies it (from From, or the path given with `cpi-ci images build --input
// NAME=PATH`) and records its version; the Dockerfile instead fetches the official release by the
// build arguments NAME_VERSION and NAME_SHA256 and checks its SHA-256.
type Input struct {
	// Name is lower-case with dashes; its build arguments are upper-case with underscores.
	Name string `yaml:"name"`
	// From is the default path on the build machine; empty for an input that must be given.
	From string `yaml:"from"`
	// To is the path in the image; one ending in "/" is a directory the input file goes into under
	// its own name (as a terraform filesystem mirror wants a provider's zip).
	To string `yaml:"to"`
	// Mode is a file input's mode in the image (default 0644); a directory keeps its files' modes.
	Mode string `yaml:"mode"`
	// Optional inputs that are not there are left out, and the build says so.
	Optional bool `yaml:"optional"`
	// MinVersion, when set, fails a build whose input is older.
	MinVersion string `yaml:"min_version"`
	Version    Probe  `yaml:"version"`
	Fetch      Fetch  `yaml:"fetch"`
}

// Probe is how the hermetic build reads an input's version: Match (a regular expression whose
// first group is the version) over the first lines of File (inside a directory input), over the
// standard output of the input run with Run, or else over the input's base name.
type Probe struct {
	File  string   `yaml:"file"`
	Run   []string `yaml:"run"`
	Match string   `yaml:"match"`
}

// Fetch is how the Dockerfile gets an input: URL, in which ${VERSION} is the version build
// argument, downloaded and checked against the SHA-256 build argument, then unpacked: "tar.gz" into
// the directory To (its first path component stripped), "zip" the one file Member to To, or ""
// (the download itself).
type Fetch struct {
	URL    string `yaml:"url"`
	Unpack string `yaml:"unpack"`
	Member string `yaml:"member"`
}

// Link is a symbolic link in the image (the argv0 entry points /opt/resource/check|in|out).
type Link struct {
	Path   string `yaml:"path"`
	Target string `yaml:"target"`
}

// PackagesRecord is where an image records the Debian packages it was built with.
const PackagesRecord = "/usr/share/concourse-pack/packages.txt"

// InputsRecord is where an image records its inputs: name, version, origin and SHA-256.
const InputsRecord = "/usr/share/concourse-pack/inputs.txt"

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
	if s.Extends != "" {
		var err error
		if s, err = extend(file, s); err != nil {
			return Spec{}, fmt.Errorf("%s: %w", file, err)
		}
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// extend makes the image child describes: its parent with child's files as an extra layer and
// child's env on top.
func extend(file string, child Spec) (Spec, error) {
	extra := child
	extra.Name, extra.Extends, extra.Files, extra.Env = "", "", nil, nil
	if !reflect.DeepEqual(extra, Spec{}) {
		return Spec{}, errors.New("an image that extends another gives only name, extends, files and env")
	}
	parentFile := path.Join(path.Dir(file), child.Extends)
	parent, err := ReadSpec(parentFile)
	if err != nil {
		return Spec{}, fmt.Errorf("extends: %w", err)
	}
	if parent.Extends != "" {
		return Spec{}, fmt.Errorf("extends %s, which extends another image: one level only", child.Extends)
	}
	out := parent
	out.Name, out.Extends, out.ResourceType = child.Name, child.Extends, ""
	out.Layer = child.Files
	out.Env = nil
	replaced := map[string]bool{}
	for _, kv := range child.Env {
		name, _, _ := strings.Cut(kv, "=")
		replaced[name] = true
	}
	for _, kv := range parent.Env {
		if name, _, _ := strings.Cut(kv, "="); !replaced[name] {
			out.Env = append(out.Env, kv)
		}
	}
	out.Env = append(out.Env, child.Env...)
	return out, nil
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
	checkFiles := func(key string, files []File) {
		for i, f := range files {
			if f.From == "" || path.IsAbs(f.From) || strings.Contains(f.From, "..") {
				add("%s[%d].from: %q, expected a path inside the repository", key, i, f.From)
			}
			if !path.IsAbs(f.To) || path.Clean(f.To) != f.To {
				add("%s[%d].to: %q, expected a clean absolute path", key, i, f.To)
			}
			if _, err := f.FileMode(); err != nil {
				add("%s[%d].mode: %v", key, i, err)
			}
			if seen[f.To] && key == "files" {
				add("%s[%d].to: %s given twice", key, i, f.To)
			}
			seen[f.To] = true
		}
	}
	checkFiles("files", s.Files)
	checkFiles("files of the extra layer", s.Layer)
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
	names := map[string]bool{}
	for i, in := range s.Inputs {
		if !inputName.MatchString(in.Name) {
			add("inputs[%d].name: %q, expected lower-case letters, digits and dashes", i, in.Name)
		}
		if names[in.Name] {
			add("inputs[%d].name: %s given twice", i, in.Name)
		}
		names[in.Name] = true
		if in.From != "" && !path.IsAbs(in.From) {
			add("inputs[%d].from: %q, expected an absolute path on the build machine", i, in.From)
		}
		to := strings.TrimSuffix(in.To, "/")
		if !path.IsAbs(in.To) || path.Clean(to) != to || to == "/" {
			add("inputs[%d].to: %q, expected a clean absolute path", i, in.To)
		}
		if seen[to] {
			add("inputs[%d].to: %s given twice", i, to)
		}
		seen[to] = true
		if _, err := (File{Mode: in.Mode}).FileMode(); err != nil {
			add("inputs[%d].mode: %v", i, err)
		}
		if in.MinVersion != "" && !versionLike.MatchString(in.MinVersion) {
			add("inputs[%d].min_version: %q, expected a dotted version such as 1.26.1", i, in.MinVersion)
		}
		if in.Version.File != "" && len(in.Version.Run) > 0 {
			add("inputs[%d].version: file and run both given, expected one", i)
		}
		if re, err := regexp.Compile(in.Version.Match); err != nil || re.NumSubexp() < 1 || in.Version.Match == "" {
			add("inputs[%d].version.match: %q, expected a regular expression with one group (the version)", i, in.Version.Match)
		}
		if !strings.HasPrefix(in.Fetch.URL, "https://") || !strings.Contains(in.Fetch.URL, "${VERSION}") {
			add("inputs[%d].fetch.url: %q, expected an https URL with ${VERSION} in it", i, in.Fetch.URL)
		}
		switch in.Fetch.Unpack {
		case "", "tar.gz":
			if in.Fetch.Member != "" {
				add("inputs[%d].fetch.member: only for unpack: zip", i)
			}
		case "zip":
			if in.Fetch.Member == "" || strings.HasSuffix(in.To, "/") {
				add("inputs[%d].fetch: unpack zip takes member, the one file put at to", i)
			}
		default:
			add("inputs[%d].fetch.unpack: %q, expected tar.gz, zip or empty", i, in.Fetch.Unpack)
		}
		if in.Fetch.Unpack == "tar.gz" && strings.HasSuffix(in.To, "/") {
			add("inputs[%d].to: %q: a tar.gz input is a directory, its to names it without a trailing /", i, in.To)
		}
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

var (
	inputName   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	versionLike = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
)

// ArgPrefix is the input's build-argument prefix: go → GO, alicloud-provider → ALICLOUD_PROVIDER.
func (in Input) ArgPrefix() string {
	return strings.ToUpper(strings.ReplaceAll(in.Name, "-", "_"))
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
