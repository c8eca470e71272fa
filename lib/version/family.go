package version

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	semi "github.com/cppforlife/go-semi-semantic/version"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

const latestKeyword = "latest"

// acceptedFamilies is listed in every ParseFamily error.
const acceptedFamilies = `accepted forms: "" or "latest" (every version); ` +
	`"N.latest" with numeric N, e.g. "1.latest", "61.0.latest" (releases starting with N); ` +
	`a semver constraint without pre-release/build parts, e.g. "~1.484", ">=61 <62", "61.x", "3262"`

// constraintPreOrBuild finds a pre-release ("1.2-rc") or build ("1.2+b")
// part in a constraint; hyphen ranges ("1 - 2") have spaces around '-'.
var constraintPreOrBuild = regexp.MustCompile(`[0-9A-Za-z*]-|\+`)

type familyKind int

const (
	familyAll familyKind = iota
	familyPrefix
	familyConstraint
)

// Family is a parsed `version_family`: a filter over versions, evaluated on
// their RELEASE part only (the text before '-' or '+').
//
//   - "" or "latest" (and the zero Family) match every version.
//   - "N.latest" ("1.latest", "61.0.latest") matches versions whose leading
//     release components equal N's numeric components; a release shorter than
//     N counts its missing components as 0, as bosh's ordering does ("61"
//     matches "61.0.latest"); a string component never equals a number.
//   - Any other text is a github.com/Masterminds/semver/v3 constraint
//     ("~1.484", ">=61 <62", "61.x", "3262" == "3262.x"). The release part
//     is coerced to semver by padding 1–3 numeric components with ".0"
//     ("1.484" → 1.484.0); a release with a non-numeric component ("1.a",
//     "01") or more than 3 components ("1.2.3.4") never matches. Constraints
//     with a pre-release or build part are rejected, since only releases are
//     compared.
//
// Consequently pre-release and dev versions belong to the family of their
// release: "61.0.1-rc.3" is in "~61.0" and in ">=61.0.1", but not in
// "<61.0.1" even though it sorts below 61.0.1, because a family names release
// lines rather than an interval of the bosh order; this is what keeps
// ">=61 <62" from picking up "62-rc.1". Whether pre-release or dev versions
// are emitted at all is the resource's policy (Version.IsFinal, IsDev).
type Family struct {
	raw         string
	kind        familyKind
	prefix      []int
	constraints *semver.Constraints
}

// FamilyError reports an unusable version family.
type FamilyError struct {
	// Input is the family text as given.
	Input string
	// Reason says what is wrong with it.
	Reason string
}

func (e *FamilyError) Error() string {
	return fmt.Sprintf("invalid version_family %s: %s (%s)", problems.Quote(e.Input), e.Reason, acceptedFamilies)
}

// ParseFamily parses a version family; surrounding spaces are ignored. A bad
// family is a *FamilyError that names the input and lists the accepted forms.
func ParseFamily(s string) (Family, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "" || t == latestKeyword:
		return Family{raw: t, kind: familyAll}, nil

	case strings.HasSuffix(t, "."+latestKeyword):
		n := strings.TrimSuffix(t, "."+latestKeyword)
		prefix, reason := parsePrefix(n)
		if reason != "" {
			return Family{}, &FamilyError{Input: s, Reason: reason}
		}
		return Family{raw: t, kind: familyPrefix, prefix: prefix}, nil

	default:
		if constraintPreOrBuild.MatchString(t) {
			return Family{}, &FamilyError{Input: s, Reason: "semver constraints may not have a pre-release or build part, since only release parts are compared"}
		}
		c, err := semver.NewConstraint(t)
		if err != nil && len(t) > problems.MaxQuoted {
			// semver's reason quotes the constraint whole.
			return Family{}, &FamilyError{Input: s, Reason: "not a semver constraint"}
		}
		if err != nil {
			return Family{}, &FamilyError{Input: s, Reason: "not a semver constraint: " + err.Error()}
		}
		return Family{raw: t, kind: familyConstraint, constraints: c}, nil
	}
}

// MustParseFamily is ParseFamily that panics on error.
func MustParseFamily(s string) Family {
	f, err := ParseFamily(s)
	if err != nil {
		panic(err)
	}
	return f
}

// parsePrefix parses the N of N.latest; a bad N gives the FamilyError's reason instead.
func parsePrefix(n string) (prefix []int, reason string) {
	if n == "" {
		return nil, "N in N.latest is empty"
	}
	parts := strings.Split(n, ".")
	prefix = make([]int, len(parts))
	for i, p := range parts {
		c, ok, err := semi.NewVerSegCompIntFromString(p)
		if err != nil || !ok {
			return nil, fmt.Sprintf("N in N.latest must be '.'-separated numbers without leading zeros, got component %s", problems.Quote(p))
		}
		prefix[i] = c.I
	}
	return prefix, ""
}

// String returns the family as parsed (spaces trimmed); "" for the zero
// Family. ParseFamily(f.String()) gives an equivalent Family.
func (f Family) String() string { return f.raw }

// MatchesAll reports whether f lets every version through ("", "latest").
func (f Family) MatchesAll() bool { return f.kind == familyAll }

// Matches reports whether v belongs to f (see Family for the rules). The zero
// Version matches nothing.
func (f Family) Matches(v Version) bool {
	if v.IsZero() {
		return false
	}
	comps := v.v.Release.Components
	switch f.kind {
	case familyAll:
		return true
	case familyPrefix:
		for i, want := range f.prefix {
			if i >= len(comps) {
				if want != 0 {
					return false
				}
				continue
			}
			c, ok := comps[i].(semi.VerSegCompInt)
			if !ok || c.I != want {
				return false
			}
		}
		return true
	case familyConstraint:
		sv, ok := releaseAsSemver(comps)
		return ok && f.constraints.Check(sv)
	}
	return false
}

// releaseAsSemver coerces 1–3 numeric release components to semver.
func releaseAsSemver(comps []semi.VerSegComp) (*semver.Version, bool) {
	if len(comps) == 0 || len(comps) > 3 {
		return nil, false
	}
	var n [3]uint64
	for i, c := range comps {
		ci, ok := c.(semi.VerSegCompInt)
		if !ok || ci.I < 0 {
			return nil, false
		}
		n[i] = uint64(ci.I)
	}
	return semver.New(n[0], n[1], n[2], "", ""), true
}

// Filter returns the versions of vs that f matches, sorted ascending in bosh
// order (stable). vs is not modified; the result is never nil.
func (f Family) Filter(vs []Version) []Version {
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		if f.Matches(v) {
			out = append(out, v)
		}
	}
	Sort(out)
	return out
}

// MarshalText encodes f as its text, so a Family is a JSON/YAML string.
func (f Family) MarshalText() ([]byte, error) { return []byte(f.raw), nil }

// UnmarshalText parses text with ParseFamily.
func (f *Family) UnmarshalText(text []byte) error {
	parsed, err := ParseFamily(string(text))
	if err != nil {
		return err
	}
	*f = parsed
	return nil
}
