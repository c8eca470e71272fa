package version

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	semi "github.com/cppforlife/go-semi-semantic/version"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

// formatHint is appended to parse errors so that users see what is expected.
const formatHint = "want release[-pre][+post] with '.'-separated components of [0-9A-Za-z_] (pre/post may also contain '-'), e.g. 61.0.1, 1.484, 194+dev.1, 61.0.1-rc.3"

// Version is a parsed BOSH release or stemcell version. It is a small value
// type; copy it freely.
//
// The zero Version is not a valid version: it is what Parse returns on error.
// IsZero reports it, String returns "", it sorts below every parsed version,
// and MarshalText refuses it.
type Version struct {
	raw string
	v   semi.Version
}

// MaxLength is the longest version Parse accepts: far above any real one, and short enough for
// the object keys that hold versions (1,023 bytes at most).
const MaxLength = 255

// ParseError reports a string that is not a BOSH version.
type ParseError struct {
	// Input is the text that failed to parse.
	Input string
	// Err is go-semi-semantic's reason.
	Err error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid BOSH version %s: %s (%s)", problems.Quote(e.Input), e.reason(), formatHint)
}

func (e *ParseError) Unwrap() error { return e.Err }

// reason is go-semi-semantic's reason, which quotes the input whole (twice, for a bad
// segment): for a long input it is left out, the quoted prefix says enough.
func (e *ParseError) reason() string {
	if len(e.Input) > MaxLength {
		return e.Err.Error()
	}
	if len(e.Input) > problems.MaxQuoted {
		return "not of the form below"
	}
	return e.Err.Error()
}

// InvalidVersionsError reports every unparseable entry of a list handed to
// ParseAll or SortStrings, in input order.
type InvalidVersionsError struct {
	// Total is the number of entries in the list.
	Total int
	// Errors holds one ParseError per bad entry.
	Errors []*ParseError
}

func (e *InvalidVersionsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d versions are not BOSH versions:", len(e.Errors), e.Total)
	for i, pe := range e.Errors {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s (%s)", problems.Quote(pe.Input), pe.reason())
	}
	b.WriteString(" (" + formatHint + ")")
	return b.String()
}

// Unwrap exposes each ParseError to errors.Is / errors.As.
func (e *InvalidVersionsError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, pe := range e.Errors {
		errs[i] = pe
	}
	return errs
}

// Parse parses s exactly as the bosh CLI does (go-semi-semantic's
// NewVersionFromString). It does not trim spaces or accept anything bosh
// would reject, nor anything longer than MaxLength. A failure is a *ParseError naming s.
func Parse(s string) (Version, error) {
	if len(s) > MaxLength {
		return Version{}, &ParseError{Input: s, Err: fmt.Errorf("longer than %d bytes", MaxLength)}
	}
	v, err := semi.NewVersionFromString(s)
	if err != nil {
		return Version{}, &ParseError{Input: s, Err: err}
	}
	return Version{raw: s, v: v}, nil
}

// MustParse is Parse that panics on error; for constants and tests.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// fromSemi wraps a version built by go-semi-semantic (next-version helpers).
func fromSemi(v semi.Version) Version {
	return Version{raw: v.AsString(), v: v}
}

// ParseAll parses every entry of ss, keeping input order. If any entry is
// invalid it returns the valid ones (in input order) together with an
// *InvalidVersionsError listing every invalid entry, so callers may either
// fail or skip the bad entries knowingly.
func ParseAll(ss []string) ([]Version, error) {
	out := make([]Version, 0, len(ss))
	var bad []*ParseError
	for _, s := range ss {
		v, err := Parse(s)
		if err != nil {
			var pe *ParseError
			errors.As(err, &pe)
			bad = append(bad, pe)
			continue
		}
		out = append(out, v)
	}
	if len(bad) > 0 {
		return out, &InvalidVersionsError{Total: len(ss), Errors: bad}
	}
	return out, nil
}

// SortStrings returns a copy of ss sorted ascending in bosh order (stable:
// equal versions such as "1" and "1.0" keep their input order). If any entry
// is invalid it returns nil and an *InvalidVersionsError listing all of them.
func SortStrings(ss []string) ([]string, error) {
	vs, err := ParseAll(ss)
	if err != nil {
		return nil, err
	}
	Sort(vs)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out, nil
}

// Sort sorts vs ascending in bosh order, in place. It is stable, so versions
// that compare equal ("1", "1.0") keep their relative order.
func Sort(vs []Version) {
	slices.SortStableFunc(vs, Version.Compare)
}

// Latest returns the greatest version of vs (the last one after Sort, so the
// later entry wins among equal versions), or nil if vs is empty. It is what
// bosh-cli's FSReleaseIndex.LastVersion (releasedir/fs_release_index.go)
// computes from a final or dev release index, for use with NextDev and
// NextFinal.
func Latest(vs []Version) *Version {
	if len(vs) == 0 {
		return nil
	}
	best := vs[0]
	for _, v := range vs[1:] {
		if v.Compare(best) >= 0 {
			best = v
		}
	}
	return &best
}

// String returns the text the version was parsed from.
func (v Version) String() string { return v.raw }

// IsZero reports whether v is the zero (invalid) Version.
func (v Version) IsZero() bool { return v.v.Empty() }

// Compare returns -1, 0 or +1 as v sorts below, equal to or above other in
// bosh order (go-semi-semantic's Version.Compare). Equal does not mean
// identical text: "1" and "1.0" compare equal. The zero Version sorts below
// every parsed version.
func (v Version) Compare(other Version) int {
	switch vz, oz := v.IsZero(), other.IsZero(); {
	case vz && oz:
		return 0
	case vz:
		return -1
	case oz:
		return 1
	}
	return v.v.Compare(other.v)
}

// Less reports whether v sorts strictly below other.
func (v Version) Less(other Version) bool { return v.Compare(other) < 0 }

// Equal reports whether v and other compare equal (e.g. "1" and "1.0").
func (v Version) Equal(other Version) bool { return v.Compare(other) == 0 }

// Release returns the release part of v (the text before '-' or '+') as a
// final Version: Release of "61.0.1-rc.3+dev.2" is "61.0.1".
func (v Version) Release() Version {
	if v.IsZero() {
		return Version{}
	}
	r, err := semi.NewVersion(v.v.Release.Copy(), semi.VersionSegment{}, semi.VersionSegment{})
	if err != nil { // unreachable: a parsed version always has a release
		panic(fmt.Sprintf("version: release of %q: %s", v.raw, err))
	}
	return fromSemi(r)
}

// PreRelease returns the pre-release part (after '-', before '+'), or "".
func (v Version) PreRelease() string { return v.v.PreRelease.AsString() }

// PostRelease returns the post-release part (after '+'), or "". BOSH dev
// releases carry their dev number here, e.g. "dev.3".
func (v Version) PostRelease() string { return v.v.PostRelease.AsString() }

// IsPreRelease reports whether v has a pre-release part ("61.0.1-rc.3").
func (v Version) IsPreRelease() bool { return !v.v.PreRelease.Empty() }

// IsDev reports whether v has a post-release part, which is how BOSH marks
// dev releases ("194+dev.1").
func (v Version) IsDev() bool { return !v.v.PostRelease.Empty() }

// IsFinal reports whether v is neither a pre-release nor a dev version. The
// zero Version is not final.
func (v Version) IsFinal() bool { return !v.IsZero() && !v.IsPreRelease() && !v.IsDev() }

// MarshalText encodes v as its original text, so a Version is a JSON/YAML
// string. The zero Version is refused rather than written as "".
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, errors.New("version: cannot marshal the zero Version")
	}
	return []byte(v.raw), nil
}

// UnmarshalText parses text with Parse; "" is rejected like any other
// invalid version (use a *Version field for an optional version).
func (v *Version) UnmarshalText(text []byte) error {
	parsed, err := Parse(string(text))
	if err != nil {
		return err
	}
	*v = parsed
	return nil
}
