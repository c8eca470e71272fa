// Package yamlnode reads and edits YAML documents as yaml.v3 nodes, so that a file is changed
// without losing its keys' order, its scalars' style or the line numbers errors name.
//
// It is a leaf (only yaml.v3): the release and stemcell models share it. Helpers never fail: a
// node of the wrong kind reads as absent.
package yamlnode

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Resolve follows aliases to the node they name.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent, empty or null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// KindName names n's kind for an error: "a mapping", "a list", "a scalar (int)", "nothing".
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	switch {
	case IsNull(n):
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

// Lookup returns the value of key in mapping n: nil when n is not a mapping or has no such key,
// the first value when the key appears twice.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := Resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar is a scalar's text as written ("1.10" stays "1.10"), "" for anything else.
func Scalar(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || IsNull(n) {
		return ""
	}
	return n.Value
}

// String is a node holding s as a string.
func String(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// Set replaces the value of key in mapping n, or appends key last.
func Set(n *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := Resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			n.Content[i+1] = value
			return
		}
	}
	n.Content = append(n.Content, String(key), value)
}

// Remove deletes key from mapping n.
func Remove(n *yaml.Node, key string) {
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := Resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			continue
		}
		kept = append(kept, n.Content[i], n.Content[i+1])
	}
	n.Content = kept
}

// Clone is a deep copy of n: changing it leaves n alone.
func Clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Alias = Clone(n.Alias)
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = Clone(child)
	}
	return &c
}
