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
func (m *Manifest) Clone() *Manifest { return &Manifest{root: cloneNode(m.root)} }

func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Alias = cloneNode(n.Alias)
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = cloneNode(child)
	}
	return &c
}

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
func (m *Manifest) Name() string { return scalar(lookup(m.root, "name")) }

// Version is the stemcell version as written, e.g. "1.484" (never a float: 1.10 stays "1.10").
func (m *Manifest) Version() string { return scalar(lookup(m.root, "version")) }

// OperatingSystem is e.g. "ubuntu-noble".
func (m *Manifest) OperatingSystem() string { return scalar(lookup(m.root, "operating_system")) }

// SHA1 is the digest of the heavy stemcell's image member, as written.
func (m *Manifest) SHA1() string { return scalar(lookup(m.root, "sha1")) }

// StemcellFormats lists stemcell_formats; scalars only.
func (m *Manifest) StemcellFormats() []string {
	n := resolve(lookup(m.root, "stemcell_formats"))
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, item := range n.Content {
		if item = resolve(item); item.Kind == yaml.ScalarNode {
			out = append(out, item.Value)
		}
	}
	return out
}

// CloudProperties returns cloud_properties (zero values for what is missing).
func (m *Manifest) CloudProperties() CloudProperties {
	cp := m.cloudProperties()
	get := func(key string) string { return scalar(lookup(cp, key)) }
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
	n := resolve(lookup(m.root, "cloud_properties"))
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// ImageIDs returns cloud_properties.image_id, region → image id (nil for a heavy stemcell).
// Entries whose key or value is not a scalar are left out (Validate reports them).
func (m *Manifest) ImageIDs() map[string]string {
	n := resolve(lookup(m.cloudProperties(), "image_id"))
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil
	}
	ids := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
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
			remove(cp, "image_id")
		}
		return
	}
	if cp == nil {
		cp = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		set(m.root, "cloud_properties", cp)
	}
	regions := make([]string, 0, len(ids))
	for r := range ids {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	value := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, r := range regions {
		value.Content = append(value.Content, str(r), str(ids[r]))
	}
	set(cp, "image_id", value)
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

// Validate checks that the manifest describes a stemcell the Alibaba Cloud CPI can use, heavy
// or light, and reports every problem at once.
func (m *Manifest) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	wantScalar := func(parent *yaml.Node, where, key string) (string, bool) {
		n := resolve(lookup(parent, key))
		switch {
		case n == nil || isNull(n):
			add("%s is missing", where+key)
		case n.Kind != yaml.ScalarNode:
			add("%s must be a string, got %s", where+key, kindName(n))
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
	if formats := resolve(lookup(m.root, "stemcell_formats")); formats == nil {
		add("stemcell_formats is missing (want [%s])", FormatAlicloudRaw)
	} else if formats.Kind != yaml.SequenceNode {
		add("stemcell_formats must be a list, got %s", kindName(formats))
	} else if !contains(m.StemcellFormats(), FormatAlicloudRaw) {
		add("stemcell_formats %v does not contain %s", m.StemcellFormats(), FormatAlicloudRaw)
	}

	cpNode := resolve(lookup(m.root, "cloud_properties"))
	if cpNode == nil || isNull(cpNode) {
		add("cloud_properties is missing")
		return joinProblems(errs)
	}
	if cpNode.Kind != yaml.MappingNode {
		add("cloud_properties must be a mapping, got %s", kindName(cpNode))
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
	if ids := resolve(lookup(cpNode, "image_id")); ids != nil && !isNull(ids) {
		m.validateImageIDs(ids, add)
	} else if v, ok := wantScalar(cpNode, cp, "disk_format"); ok && v != "raw" {
		// A heavy stemcell's image is imported as it is; the CPI imports raw disks only.
		add("cloud_properties.disk_format is %q, want raw for a heavy stemcell", v)
	}
	return joinProblems(errs)
}

func (m *Manifest) validateImageIDs(ids *yaml.Node, add func(string, ...any)) {
	if ids.Kind != yaml.MappingNode {
		add("cloud_properties.image_id must be a mapping of region to image id, got %s", kindName(ids))
		return
	}
	if len(ids.Content) == 0 {
		add("cloud_properties.image_id has no region")
	}
	for i := 0; i+1 < len(ids.Content); i += 2 {
		k, v := resolve(ids.Content[i]), resolve(ids.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			add("cloud_properties.image_id has a key that is not a region name")
			continue
		}
		if v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
			add("cloud_properties.image_id.%s must be an image id, got %s", k.Value, kindName(v))
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

// YAML node helpers.

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return "a scalar (" + strings.TrimPrefix(n.Tag, "!!") + ")"
	}
	return "something else"
}

// lookup returns the value of key in mapping n (nil when n is not a mapping or has no key).
// ParseManifest refused duplicate keys.
func lookup(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar is a scalar's text as written, "" for anything else.
func scalar(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// set replaces the value of key in mapping n, or appends key last.
func set(n *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			n.Content[i+1] = value
			return
		}
	}
	n.Content = append(n.Content, str(key), value)
}

func remove(n *yaml.Node, key string) {
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			continue
		}
		kept = append(kept, n.Content[i], n.Content[i+1])
	}
	n.Content = kept
}
