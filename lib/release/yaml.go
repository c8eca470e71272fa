package release

import (
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/yamlnode"
)

// yamlDoc is a YAML file read for its keys, so that every error names the file and the key.
type yamlDoc struct {
	path string
	root *yaml.Node // nil for an empty document
}

// readYAML reads a YAML file; a missing file is (nil, nil) when optional.
func readYAML(path string, optional bool) (*yamlDoc, error) {
	data, err := os.ReadFile(path)
	if optional && errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: malformed YAML: %w", path, err)
	}
	d := &yamlDoc{path: path}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		d.root = doc.Content[0]
	}
	return d, nil
}

// errorf makes an error naming the file and the key path ("blobstore.options").
func (d *yamlDoc) errorf(key string, n *yaml.Node, format string, args ...any) error {
	where := d.path
	if key != "" {
		where += ": " + key
	}
	if n != nil && n.Line > 0 {
		where += fmt.Sprintf(" (line %d)", n.Line)
	}
	return fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))
}

// field is one key of a mapping, in file order.
type field struct {
	key   string
	keyAt *yaml.Node
	value *yaml.Node
}

// mapping returns the fields of n, which must be a mapping or null (no fields). key names n in
// errors ("" for the document itself).
func (d *yamlDoc) mapping(key string, n *yaml.Node) ([]field, error) {
	if yamlnode.IsNull(n) {
		return nil, nil
	}
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		what := key
		if what == "" {
			what = "the document"
		}
		return nil, d.errorf(key, n, "want %s to be a mapping, got %s", what, yamlnode.KindName(n))
	}
	fields := make([]field, 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := yamlnode.Resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, d.errorf(key, k, "a key is %s, want a string", yamlnode.KindName(k))
		}
		if seen[k.Value] {
			return nil, d.errorf(join(key, k.Value), k, "key appears twice")
		}
		seen[k.Value] = true
		fields = append(fields, field{key: k.Value, keyAt: k, value: n.Content[i+1]})
	}
	return fields, nil
}

// str returns a scalar's text as written ("" for null): versions and names stay strings even
// where YAML would see a number.
func (d *yamlDoc) str(key string, n *yaml.Node) (string, error) {
	if yamlnode.IsNull(n) {
		return "", nil
	}
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", d.errorf(key, n, "want a string, got %s", yamlnode.KindName(n))
	}
	return n.Value, nil
}

// decode decodes n into out, naming the key on failure.
func (d *yamlDoc) decode(key string, n *yaml.Node, want string, out any) error {
	if err := yamlnode.Resolve(n).Decode(out); err != nil {
		return d.errorf(key, n, "want %s, got %s", want, yamlnode.KindName(n))
	}
	return nil
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
