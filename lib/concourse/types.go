package concourse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Version is a resource version as Concourse stores it: a flat map of strings.
type Version map[string]string

// UnmarshalJSON decodes a version leniently, so versions saved by an older or newer pack keep
// working: scalar values of any JSON type become their text, null values are dropped. Only a
// nested object or array is refused, because Concourse can never have produced it.
func (v *Version) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("expected an object of strings: %w", err)
	}
	if raw == nil {
		*v = nil
		return nil
	}
	out := make(Version, len(raw))
	for key, value := range raw {
		text, ok, err := scalarText(value)
		if err != nil {
			return fmt.Errorf("key %s: %w", quote(key), err)
		}
		if ok {
			out[key] = text
		}
	}
	*v = out
	return nil
}

func scalarText(raw json.RawMessage) (string, bool, error) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(trimmed, []byte("null")):
		return "", false, nil
	case len(trimmed) > 0 && trimmed[0] == '"':
		var s string
		err := json.Unmarshal(trimmed, &s)
		return s, err == nil, err
	case len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['):
		return "", false, fmt.Errorf("expected a string, got %s", jsonKind(trimmed))
	default:
		return string(trimmed), true, nil
	}
}

// String renders a version as sorted key=value pairs, for logs and error messages.
func (v Version) String() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v[k]
	}
	return strings.Join(parts, ",")
}

// DecodeVersion copies a version into a struct of string fields (matched by json tag), ignoring
// keys the struct does not know; fields tagged `required:"true"` must be present and non-empty.
// A struct with a Validate method then checks its values, reporting under "version".
func DecodeVersion(v Version, into any) error {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("concourse.DecodeVersion: into must point to a struct")
	}
	var problems Problems
	for _, f := range fieldsOf(rv.Elem().Type()) {
		if f.field.Type.Kind() != reflect.String {
			panic("concourse.DecodeVersion: field " + f.field.Name + " is not a string")
		}
		value, ok := v[f.name]
		if f.required && (!ok || value == "") {
			problems.Add("version."+f.name, "missing required key")
			continue
		}
		rv.Elem().FieldByIndex(f.index).SetString(value)
	}
	if v, ok := into.(interface{ Validate() error }); ok && len(problems) == 0 {
		collect(&problems, problemsFrom("version", v.Validate()))
	}
	return problems.Err()
}

// EncodeVersion turns a struct of string fields into a Version, leaving out empty fields.
func EncodeVersion(from any) Version {
	rv := reflect.Indirect(reflect.ValueOf(from))
	out := Version{}
	for _, f := range fieldsOf(rv.Type()) {
		if s := rv.FieldByIndex(f.index).String(); s != "" {
			out[f.name] = s
		}
	}
	return out
}

// Get returns the value of key in the version; "" when v is nil (the first check) or lacks it.
func (v *Version) Get(key string) string {
	if v == nil {
		return ""
	}
	return (*v)[key]
}

// EncodeVersions turns check's answer, oldest first, into versions with encode (which returns a
// struct for EncodeVersion); never nil, so Concourse is told [] rather than null.
func EncodeVersions[T any](items []T, encode func(T) any) []Version {
	out := make([]Version, 0, len(items))
	for _, item := range items {
		out = append(out, EncodeVersion(encode(item)))
	}
	return out
}

// MetadataField is one name/value pair shown on a version in the Concourse UI. Metadata is
// public: never put secrets or presigned URLs in it.
type MetadataField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metadata is an ordered list of metadata fields.
type Metadata []MetadataField

// Add appends a field; empty values are skipped so the UI shows no blank rows.
func (m *Metadata) Add(name, value string) {
	if value != "" {
		*m = append(*m, MetadataField{Name: name, Value: value})
	}
}

// CheckRequest is what Concourse sends to check. Version is nil on the first check.
type CheckRequest[S any] struct {
	Source  S        `json:"source"`
	Version *Version `json:"version"`
}

// InRequest is what Concourse sends to in (a get step).
type InRequest[S, P any] struct {
	Source  S       `json:"source"`
	Version Version `json:"version"`
	Params  P       `json:"params"`
}

// OutRequest is what Concourse sends to out (a put step).
type OutRequest[S, P any] struct {
	Source S `json:"source"`
	Params P `json:"params"`
}

// Response is what in and out print: the version fetched or created and its metadata.
type Response struct {
	Version  Version  `json:"version"`
	Metadata Metadata `json:"metadata"`
}
