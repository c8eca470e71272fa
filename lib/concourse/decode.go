package concourse

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

// Validator is implemented by Source and Params types that check values beyond their shape.
// Returning Problems (paths relative to the type) lets the kit name every bad key at once.
type Validator interface {
	Validate() error
}

// DecodeStrict decodes raw into the struct pointed to by into, refusing anything a pipeline
// author could not have meant: unknown keys (named by path, with a suggestion), values of the
// wrong type, and missing fields tagged `required:"true"` — all listed in one error. A null or
// absent raw counts as an empty object. Keys match json tags exactly (no case folding). After
// decoding, the problems of every Validator in the value are added under their paths: the
// value's own, and those of the blocks it holds (see validate).
func DecodeStrict(path string, raw json.RawMessage, into any) error {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("concourse.DecodeStrict: into must be a non-nil pointer")
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		trimmed = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return Problems{{Path: path, Message: "not valid JSON: " + err.Error()}}
	}
	var problems Problems
	checkShape(&problems, path, tree, rv.Elem().Type(), false)
	shapeOK := len(problems) == 0
	// Decode what can be decoded even when the shape is wrong, so the type's own validation can
	// report its problems in the same error: a user fixes everything in one push.
	if err := json.Unmarshal(trimmed, into); err != nil && shapeOK {
		// checkShape accepts everything json can decode; this is a safety net, not a path.
		return Problems{{Path: path, Message: err.Error()}}
	}
	problems = append(problems, notAlreadyReported(validate(path, rv.Elem()), problems)...)
	return problems.Err()
}

// validate collects the problems of every Validator in v, however deep: each struct field whose
// type has its own Validate reports at its key, an embedded block at the path of the struct that
// embeds it, a list's items at their index, and v itself last. So a Source that embeds the cloud block never merges the block's
// problems by hand, and a Validate promoted from an embedded block reports once, not twice.
func validate(path string, v reflect.Value) Problems {
	var found Problems
	seen := map[Problem]bool{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			for i := 0; i < v.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
			return
		}
		if v.Kind() == reflect.Struct {
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch {
				case name == "-" || !f.IsExported() && !f.Anonymous:
				case f.Anonymous && name == "":
					walk(path, v.Field(i))
				default:
					if name == "" {
						name = f.Name
					}
					walk(joinPath(path, name), v.Field(i))
				}
			}
		}
		if !v.CanAddr() {
			return
		}
		validator, ok := v.Addr().Interface().(Validator)
		if !ok {
			return
		}
		for _, p := range problems.From(path, validator.Validate()) {
			if !seen[p] {
				seen[p] = true
				found = append(found, p)
			}
		}
	}
	walk(path, v)
	return found
}

// notAlreadyReported drops validation problems at paths the shape check already named.
func notAlreadyReported(found, reported Problems) Problems {
	seen := map[string]bool{}
	for _, p := range reported {
		seen[p.Path] = true
	}
	var out Problems
	for _, p := range found {
		if !seen[p.Path] {
			out = append(out, p)
		}
	}
	return out
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkShape walks a decoded JSON tree against the Go type it will be decoded into. Under a
// secret field, messages describe a wrong value without quoting it.
func checkShape(problems *Problems, path string, node any, t reflect.Type, secret bool) {
	kindOf := func(node any) string {
		if secret {
			return kindOfSecret(node)
		}
		return describe(node)
	}
	if node == nil {
		return // null leaves the zero value; required fields are checked by their parent
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) && !reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		s, ok := node.(string)
		if !ok {
			problems.Add(path, "expected a string, got %s", kindOf(node))
			return
		}
		// t implements TextUnmarshaler through its pointer (checked above): the assertion holds.
		unmarshaler, _ := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := unmarshaler.UnmarshalText([]byte(s)); err != nil {
			if secret {
				err = errors.New("invalid value")
			}
			problems.Add(path, "%v", err)
		}
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// node came out of the JSON decoder, so it encodes again; and *t is a json.Unmarshaler.
		raw, _ := json.Marshal(node)
		unmarshaler, _ := reflect.New(t).Interface().(json.Unmarshaler)
		if err := unmarshaler.UnmarshalJSON(raw); err != nil {
			problems.Add(path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(problems, path, node, t.Elem(), secret)
	case reflect.Interface:
	case reflect.Struct:
		object, ok := node.(map[string]any)
		if !ok {
			problems.Add(path, "expected an object, got %s", kindOf(node))
			return
		}
		checkStruct(problems, path, object, t, secret)
	case reflect.Map:
		object, ok := node.(map[string]any)
		if !ok {
			problems.Add(path, "expected an object, got %s", kindOf(node))
			return
		}
		for _, key := range sortedKeys(object) {
			checkShape(problems, joinPath(path, key), object[key], t.Elem(), secret)
		}
	case reflect.Slice, reflect.Array:
		list, ok := node.([]any)
		if !ok {
			problems.Add(path, "expected a list, got %s", kindOf(node))
			return
		}
		for i, item := range list {
			checkShape(problems, fmt.Sprintf("%s[%d]", path, i), item, t.Elem(), secret)
		}
	case reflect.String:
		if _, ok := node.(string); !ok {
			problems.Add(path, "expected a string, got %s", kindOf(node))
		}
	case reflect.Bool:
		if _, ok := node.(bool); !ok {
			problems.Add(path, "expected true or false, got %s", kindOf(node))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := node.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); !ok || err != nil {
			problems.Add(path, "expected a whole number, got %s", kindOf(node))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := node.(json.Number)
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); !ok || err != nil {
			problems.Add(path, "expected a whole number of 0 or more, got %s", kindOf(node))
		}
	case reflect.Float32, reflect.Float64:
		n, ok := node.(json.Number)
		f, err := strconv.ParseFloat(string(n), 64)
		if !ok || err != nil || math.IsInf(f, 0) {
			problems.Add(path, "expected a number, got %s", kindOf(node))
		}
	default:
		panic("concourse.DecodeStrict: unsupported field type " + t.String())
	}
}

func checkStruct(problems *Problems, path string, object map[string]any, t reflect.Type, secret bool) {
	fields := fieldsOf(t)
	byName := make(map[string]fieldInfo, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		byName[f.name] = f
		names = append(names, f.name)
	}
	for _, key := range sortedKeys(object) {
		f, known := byName[key]
		if !known && len(key) > problemsMaxQuoted {
			problems.Add(path, "unknown key %s", quote(key))
			continue
		}
		if !known {
			message := "unknown key"
			if guess := closest(key, names); guess != "" {
				message += fmt.Sprintf(" (did you mean %q?)", guess)
			}
			problems.Add(joinPath(path, key), "%s", message)
			continue
		}
		checkShape(problems, joinPath(path, key), object[key], f.field.Type, secret || f.secret)
	}
	for _, f := range fields {
		if f.required && isBlank(object[f.name]) {
			problems.Add(joinPath(path, f.name), "missing required key")
		}
	}
}

func isBlank(node any) bool {
	switch v := node.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	}
	return false
}

// fieldInfo describes one decodable struct field.
type fieldInfo struct {
	name     string
	index    []int
	field    reflect.StructField
	required bool
	secret   bool
}

// fieldsOf lists a struct's JSON fields, with the fields of untagged embedded structs inlined.
func fieldsOf(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, inner := range fieldsOf(f.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{
			name:     name,
			index:    []int{i},
			field:    f,
			required: f.Tag.Get("required") == "true",
			secret:   f.Tag.Get("secret") == "true",
		})
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describe names a JSON value's kind and, for scalars, quotes it.
func describe(node any) string {
	switch v := node.(type) {
	case nil:
		return "null"
	case string:
		return "the string " + quote(v)
	case json.Number:
		if len(v) > problemsMaxQuoted {
			return "the number " + quote(string(v))
		}
		return "the number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", node)
}

// kindOfSecret names a JSON value's kind without its value.
func kindOfSecret(node any) string {
	switch node.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return describe(node)
}

func jsonKind(raw []byte) string {
	if len(raw) > 0 && raw[0] == '[' {
		return "a list"
	}
	return "an object"
}

// closest returns the candidate within a small edit distance of key, or "".
func closest(key string, candidates []string) string {
	best, bestDistance := "", len(key)/3+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(key), strings.ToLower(c)); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance, so a swapped pair of letters counts once.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Duration is a time.Duration written in pipelines as text ("90s", "2h").
type Duration time.Duration

// UnmarshalText parses Go duration syntax and refuses negative durations.
func (d *Duration) UnmarshalText(text []byte) error {
	parsed, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("expected a duration such as 90s or 2h, got %s", quote(string(text)))
	}
	if parsed < 0 {
		return fmt.Errorf("expected a positive duration, got %s", quote(string(text)))
	}
	*d = Duration(parsed)
	return nil
}

// MarshalText writes the duration back in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// secretsIn returns every string held in a field tagged `secret:"true"`, however deep.
func secretsIn(v reflect.Value) []string {
	var out []string
	var walk func(v reflect.Value, secret bool)
	walk = func(v reflect.Value, secret bool) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), secret)
			}
		case reflect.Struct:
			for _, f := range fieldsOf(v.Type()) {
				walk(v.FieldByIndex(f.index), secret || f.secret)
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value(), secret)
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), secret)
			}
		case reflect.String:
			if secret && v.String() != "" {
				out = append(out, v.String())
			}
		}
	}
	walk(v, false)
	return out
}
