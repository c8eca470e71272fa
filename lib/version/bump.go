package version

import (
	"fmt"
	"strconv"
	"strings"

	semi "github.com/cppforlife/go-semi-semantic/version"
)

// Part names a component of a version's release part, for bumps: "major" is the first
// component, "minor" the second, "patch" the third.
type Part int

// The parts a bump may increment.
const (
	Major Part = iota
	Minor
	Patch
)

var partNames = []string{"major", "minor", "patch"}

// String returns "major", "minor" or "patch".
func (p Part) String() string {
	if p < Major || p > Patch {
		return "part(" + strconv.Itoa(int(p)) + ")"
	}
	return partNames[p]
}

// MarshalText encodes the part by name.
func (p Part) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText accepts "major", "minor" or "patch".
func (p *Part) UnmarshalText(text []byte) error {
	for i, name := range partNames {
		if string(text) == name {
			*p = Part(i)
			return nil
		}
	}
	return fmt.Errorf("expected one of %s, got %q", strings.Join(partNames, ", "), text)
}

// Bump returns the final version after v's release part with the component at part
// incremented and the components after it zeroed: the semver bumps, on BOSH's
// any-length release parts. Missing components count as 0, as in BOSH's order, and the
// result keeps at least as many components as v: Bump("61.0.0", Patch) = "61.0.1",
// Bump("61.0.1-rc.3", Minor) = "61.1.0", Bump("61", Patch) = "61.0.1", Bump("1.484", Major)
// = "2.0". Pre- and post-release are dropped. It fails when a component it reads is not a
// number.
func Bump(v Version, part Part) (Version, error) {
	if v.IsZero() {
		return Version{}, fmt.Errorf("version: bumping the zero Version")
	}
	comps := v.v.Release.Components
	n := max(len(comps), int(part)+1)
	out := make([]string, n)
	for i := range n {
		switch {
		case i > int(part) || i >= len(comps):
			out[i] = "0"
		default:
			num, ok := comps[i].(semi.VerSegCompInt)
			if !ok {
				return Version{}, fmt.Errorf("version: cannot bump the %s of %s: its component %q is not a number", part, v, comps[i].AsString())
			}
			out[i] = strconv.Itoa(num.I)
		}
	}
	bumped, err := strconv.Atoi(out[part])
	if err != nil { // unreachable: written from an int or "0" above
		return Version{}, err
	}
	out[part] = strconv.Itoa(bumped + 1)
	return Parse(strings.Join(out, "."))
}

// rcPrefix is how a release candidate's pre-release starts: "61.0.1-rc.3".
const rcPrefix = "rc."

// RC returns the release candidate number of v ("61.0.1-rc.3" → 3) and whether v is one: a
// version whose pre-release is exactly "rc.<n>", with no post-release.
func RC(v Version) (int, bool) {
	if v.IsDev() {
		return 0, false
	}
	digits, ok := strings.CutPrefix(v.PreRelease(), rcPrefix)
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// NextRC returns the next release candidate after the published versions: <B>-rc.<n+1>,
// where B is the bump at base of the newest published final, or, when no final is published,
// the release part of the newest published release candidate; n is the highest rc of B
// already published (0 if none). ok is false when neither a final nor a release candidate is
// published: the caller then starts from an initial version of its own.
//
// With base Patch: 61.0.0 → 61.0.1-rc.1; 61.0.0, 61.0.1-rc.2 → 61.0.1-rc.3; 61.0.1-rc.2
// alone → 61.0.1-rc.3.
func NextRC(published []Version, base Part) (next Version, ok bool, err error) {
	var line Version
	if final := latestWhere(published, Version.IsFinal); final != nil {
		if line, err = Bump(*final, base); err != nil {
			return Version{}, false, err
		}
	} else if rc := latestWhere(published, isRC); rc != nil {
		line = rc.Release()
	} else {
		return Version{}, false, nil
	}
	highest := 0
	for _, v := range published {
		if n, isRC := RC(v); isRC && v.Release().Equal(line) && n > highest {
			highest = n
		}
	}
	next, err = Parse(fmt.Sprintf("%s-%s%d", line, rcPrefix, highest+1))
	return next, err == nil, err
}

// NextBump returns the next final after the published versions: the bump at part of the
// newest published final (61.0.0 → 61.0.1 for Patch, 61.1.0 for Minor, 62.0.0 for Major).
// Release candidates and dev builds do not move it. ok is false when no final is published.
func NextBump(published []Version, part Part) (next Version, ok bool, err error) {
	final := latestWhere(published, Version.IsFinal)
	if final == nil {
		return Version{}, false, nil
	}
	next, err = Bump(*final, part)
	return next, err == nil, err
}

// NextDevAfter is NextDev over a list of published versions, as `bosh create-release` picks
// the next dev version from its indices: the finals are the final index, every other version
// (release candidates included, as bosh indexes any non-final build as a dev one) the dev
// index. ok is false when nothing is published.
func NextDevAfter(published []Version) (next Version, ok bool, err error) {
	if len(published) == 0 {
		return Version{}, false, nil
	}
	lastFinal := latestWhere(published, Version.IsFinal)
	lastDev := latestWhere(published, func(v Version) bool { return !v.IsFinal() })
	next, err = NextDev(lastFinal, lastDev)
	return next, err == nil, err
}

// FinalOf returns the final version a candidate promotes to: its release part for a final or
// a pre-release ("61.0.1-rc.3" → "61.0.1", "61.0.1" → itself), and for a dev build, which
// sorts above its release part, the next final after that part as `bosh finalize-release`
// picks it ("61.0.1+dev.2" → "61.0.2", but "61.0.1-rc.3+dev.1" → "61.0.1").
func FinalOf(v Version) (Version, error) {
	if v.IsZero() {
		return Version{}, fmt.Errorf("version: final of the zero Version")
	}
	release := v.Release()
	if v.IsDev() && !v.IsPreRelease() {
		return NextFinal(&release)
	}
	return release, nil
}

func isRC(v Version) bool {
	_, ok := RC(v)
	return ok
}

func latestWhere(vs []Version, keep func(Version) bool) *Version {
	var kept []Version
	for _, v := range vs {
		if keep(v) {
			kept = append(kept, v)
		}
	}
	return Latest(kept)
}
