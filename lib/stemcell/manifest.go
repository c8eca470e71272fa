package stemcell

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/yamlnode"
)

// FormatAlicloudRaw is the stemcell format the Alibaba Cloud CPI accepts, heavy or light.
const FormatAlicloudRaw = "alicloud-raw"

// Manifest is a stemcell.MF kept as its YAML node tree, so that writing it back keeps every key
// this package does not know about, in the order it was read. Read it with the accessors; they
// return the text as written ("1.10" stays "1.10").
type Manifest struct {
	root *yaml.Node // a mapping
}

// CloudProperties is stemcell.MF's cloud_properties as the Alibaba Cloud CPI reads them.
type CloudProperties struct {
	Name            string
	Version         string
	Infrastructure  string // "alicloud"
	Hypervisor      string // "kvm"
	Disk            int    // MB; 0 when missing or not a whole number
	DiskFormat      string // "raw"
	ContainerFormat string // "bare"
	OSType          string // "linux"
	OSDistro        string // "ubuntu"
	Architecture    string // "x86_64"
	RootDeviceName  string // "/dev/vda1"
	NVMeSupport     string // as written ("" when missing)
}

// ParseManifest parses a stemcell.MF. It fails only when the document is not a YAML mapping;
// call Validate to check that it is a usable Alibaba Cloud stemcell.
func ParseManifest(data []byte) (*Manifest, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("stemcell.MF is not YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("stemcell.MF is not a YAML mapping")
	}
	if err := noDuplicateKeys("", doc.Content[0]); err != nil {
		return nil, fmt.Errorf("stemcell.MF: %w", err)
	}
	return &Manifest{root: doc.Content[0]}, nil
}

// noDuplicateKeys refuses a key written twice in any mapping: which one a reader takes differs
// between YAML libraries, and the CPI must see the image ids this package wrote.
func noDuplicateKeys(where string, n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				if seen[k.Value] {
					return fmt.Errorf("key %s appears twice (line %d)", where+k.Value, k.Line)
				}
				seen[k.Value] = true
			}
			if err := noDuplicateKeys(where+k.Value+".", n.Content[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, child := range n.Content {
		if err := noDuplicateKeys(where, child); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a deep copy: changing it leaves m alone.
func (m *Manifest) Clone() *Manifest { return &Manifest{root: yamlnode.Clone(m.root)} }

// Marshal writes the manifest back: known and unknown keys in their order, scalars in their
// style (a quoted '1.484' stays quoted, a plain 1.10 stays 1.10), two-space indentation.
func (m *Manifest) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m.root); err != nil {
		return nil, fmt.Errorf("writing stemcell.MF: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing stemcell.MF: %w", err)
	}
	return buf.Bytes(), nil
}

// Name is the stemcell name, e.g. "bosh-alicloud-kvm-ubuntu-noble".
func (m *Manifest) Name() string { return yamlnode.Scalar(yamlnode.Lookup(m.root, "name")) }

// Version is the stemcell version as written, e.g. "1.484" (never a float: 1.10 stays "1.10").
func (m *Manifest) Version() string { return yamlnode.Scalar(yamlnode.Lookup(m.root, "version")) }

// OperatingSystem is e.g. "ubuntu-noble".
func (m *Manifest) OperatingSystem() string {
	return yamlnode.Scalar(yamlnode.Lookup(m.root, "operating_system"))
}

// SHA1 is the digest of the heavy stemcell's image member, as written.
func (m *Manifest) SHA1() string { return yamlnode.Scalar(yamlnode.Lookup(m.root, "sha1")) }

// StemcellFormats lists stemcell_formats; scalars only.
func (m *Manifest) StemcellFormats() []string {
	n := yamlnode.Resolve(yamlnode.Lookup(m.root, "stemcell_formats"))
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, item := range n.Content {
		if item = yamlnode.Resolve(item); item.Kind == yaml.ScalarNode {
			out = append(out, item.Value)
		}
	}
	return out
}

// CloudProperties returns cloud_properties (zero values for what is missing).
func (m *Manifest) CloudProperties() CloudProperties {
	cp := m.cloudProperties()
	get := func(key string) string { return yamlnode.Scalar(yamlnode.Lookup(cp, key)) }
	disk, _ := strconv.Atoi(get("disk")) // not a number: zero, "missing" (Validate names it)
	return CloudProperties{
		Name:            get("name"),
		Version:         get("version"),
		Infrastructure:  get("infrastructure"),
		Hypervisor:      get("hypervisor"),
		Disk:            disk,
		DiskFormat:      get("disk_format"),
		ContainerFormat: get("container_format"),
		OSType:          get("os_type"),
		OSDistro:        get("os_distro"),
		Architecture:    get("architecture"),
		RootDeviceName:  get("root_device_name"),
		NVMeSupport:     get("nvme_support"),
	}
}

func (m *Manifest) cloudProperties() *yaml.Node {
	n := yamlnode.Resolve(yamlnode.Lookup(m.root, "cloud_properties"))
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// ImageIDs returns cloud_properties.image_id, region → image id (nil for a heavy stemcell).
// Entries whose key or value is not a scalar are left out (Validate reports them).
func (m *Manifest) ImageIDs() map[string]string {
	n := yamlnode.Resolve(yamlnode.Lookup(m.cloudProperties(), "image_id"))
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil
	}
	ids := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode {
			ids[k.Value] = v.Value
		}
	}
	return ids
}

// SetImageIDs sets cloud_properties.image_id to ids, regions sorted, keeping its place when it
// is already there and adding it last otherwise. An empty ids removes image_id (a heavy
// stemcell again).
func (m *Manifest) SetImageIDs(ids map[string]string) {
	cp := m.cloudProperties()
	if len(ids) == 0 {
		if cp != nil {
			yamlnode.Remove(cp, "image_id")
		}
		return
	}
	if cp == nil {
		cp = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		yamlnode.Set(m.root, "cloud_properties", cp)
	}
	regions := make([]string, 0, len(ids))
	for r := range ids {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	value := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, r := range regions {
		value.Content = append(value.Content, yamlnode.String(r), yamlnode.String(ids[r]))
	}
	yamlnode.Set(cp, "image_id", value)
}

// IsLight reports whether the manifest names an image in at least one region.
func (m *Manifest) IsLight() bool { return len(m.ImageIDs()) > 0 }

// ImageFor returns the image of region, failing as the CPI's create_stemcell does when the
// light stemcell has none there, and naming the regions it has.
func (m *Manifest) ImageFor(region string) (string, error) {
	ids := m.ImageIDs()
	if id, ok := ids[region]; ok && id != "" {
		return id, nil
	}
	if len(ids) == 0 {
		return "", &NoImageError{Region: region, Detail: fmt.Sprintf("stemcell %s/%s has no cloud_properties.image_id: it is not a light stemcell", m.Name(), m.Version())}
	}
	regions := make([]string, 0, len(ids))
	for r := range ids {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	return "", &NoImageError{Region: region, Detail: fmt.Sprintf("light stemcell %s/%s has images in %s", m.Name(), m.Version(), strings.Join(regions, ", "))}
}

// NoImageError says a stemcell has no image for a region. Its text starts with the CPI's own
// words, so a user who has met the CPI's failure recognises it.
type NoImageError struct {
	Region string
	Detail string // what the stemcell has instead
}

func (e *NoImageError) Error() string {
	return "Can't find stemcell for Region: " + e.Region + " (" + e.Detail + ")"
}

var (
	hexSHA1    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	plainToken = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
)

// IsName reports whether s can be a stemcell's name (and so a line's): at most 255 letters,
// digits, '.', '_', '+' and '-', starting with a letter or digit, as Validate requires of
// stemcell.MF (which does not bound the length; object keys, which hold the name, do).
func IsName(s string) bool { return len(s) <= 255 && plainToken.MatchString(s) }

// Validate checks that the manifest describes a stemcell the Alibaba Cloud CPI can use, heavy
// or light, and reports every problem at once.
func (m *Manifest) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	wantScalar := func(parent *yaml.Node, where, key string) (string, bool) {
		n := yamlnode.Resolve(yamlnode.Lookup(parent, key))
		switch {
		case n == nil || yamlnode.IsNull(n):
			add("%s is missing", where+key)
		case n.Kind != yaml.ScalarNode:
			add("%s must be a string, got %s", where+key, yamlnode.KindName(n))
		case n.Value == "":
			add("%s is empty", where+key)
		default:
			return n.Value, true
		}
		return "", false
	}

	if name, ok := wantScalar(m.root, "", "name"); ok && !plainToken.MatchString(name) {
		add("name %q is not a plain name (letters, digits, '.', '_', '+', '-')", name)
	}
	if v, ok := wantScalar(m.root, "", "version"); ok && !plainToken.MatchString(v) {
		add("version %q is not a plain version", v)
	}
	if sum, ok := wantScalar(m.root, "", "sha1"); ok && !hexSHA1.MatchString(sum) {
		add("sha1 %q is not a SHA-1 (40 lowercase hex digits)", sum)
	}
	if formats := yamlnode.Resolve(yamlnode.Lookup(m.root, "stemcell_formats")); formats == nil {
		add("stemcell_formats is missing (want [%s])", FormatAlicloudRaw)
	} else if formats.Kind != yaml.SequenceNode {
		add("stemcell_formats must be a list, got %s", yamlnode.KindName(formats))
	} else if !contains(m.StemcellFormats(), FormatAlicloudRaw) {
		add("stemcell_formats %v does not contain %s", m.StemcellFormats(), FormatAlicloudRaw)
	}

	cpNode := yamlnode.Resolve(yamlnode.Lookup(m.root, "cloud_properties"))
	if cpNode == nil || yamlnode.IsNull(cpNode) {
		add("cloud_properties is missing")
		return joinProblems(errs)
	}
	if cpNode.Kind != yaml.MappingNode {
		add("cloud_properties must be a mapping, got %s", yamlnode.KindName(cpNode))
		return joinProblems(errs)
	}
	const cp = "cloud_properties."
	if v, ok := wantScalar(cpNode, cp, "infrastructure"); ok && v != "alicloud" {
		add("cloud_properties.infrastructure is %q, want alicloud", v)
	}
	if v, ok := wantScalar(cpNode, cp, "disk"); ok {
		if mb, err := strconv.Atoi(v); err != nil || mb <= 0 {
			add("cloud_properties.disk is %q, want a positive whole number of MB", v)
		}
	}
	if ids := yamlnode.Resolve(yamlnode.Lookup(cpNode, "image_id")); ids != nil && !yamlnode.IsNull(ids) {
		m.validateImageIDs(ids, add)
	} else if v, ok := wantScalar(cpNode, cp, "disk_format"); ok && v != "raw" {
		// A heavy stemcell's image is imported as it is; the CPI imports raw disks only.
		add("cloud_properties.disk_format is %q, want raw for a heavy stemcell", v)
	}
	return joinProblems(errs)
}

func (m *Manifest) validateImageIDs(ids *yaml.Node, add func(string, ...any)) {
	if ids.Kind != yaml.MappingNode {
		add("cloud_properties.image_id must be a mapping of region to image id, got %s", yamlnode.KindName(ids))
		return
	}
	if len(ids.Content) == 0 {
		add("cloud_properties.image_id has no region")
	}
	for i := 0; i+1 < len(ids.Content); i += 2 {
		k, v := yamlnode.Resolve(ids.Content[i]), yamlnode.Resolve(ids.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			add("cloud_properties.image_id has a key that is not a region name")
			continue
		}
		if v.Kind != yaml.ScalarNode || yamlnode.IsNull(v) || v.Value == "" {
			add("cloud_properties.image_id.%s must be an image id, got %s", k.Value, yamlnode.KindName(v))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// problems is several errors on one line (log friendly), each reachable by errors.As.
type problems []error

func (p problems) Error() string {
	text := make([]string, len(p))
	for i, err := range p {
		text[i] = err.Error()
	}
	return "stemcell.MF: " + strings.Join(text, "; ")
}

func (p problems) Unwrap() []error { return p }

func joinProblems(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return problems(errs)
}
