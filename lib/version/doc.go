// Package version parses, orders and filters BOSH release and stemcell versions exactly as the bosh CLI does.
// It must not impose semver (or any other) ordering on them, rewrite version text, or do any I/O.
//
// # Ordering
//
// Parsing and ordering are delegated to github.com/cppforlife/go-semi-semantic,
// the library the bosh CLI itself uses, so the order is the bosh CLI's by
// construction. A version is release[-pre][+post]; each part is split on '.',
// numeric components compare numerically, string components lexically, a
// string component sorts above any number, and missing trailing components
// count as 0 (so "61" == "61.0"). A pre-release sorts below its release and a
// post-release (a BOSH dev build) above it:
//
//	193 < 194 < 194+dev.1 < 194.1-dev < 194.1 < 194.1+dev.1
//
// Quirks inherited from go-semi-semantic (and therefore from bosh): a numeric
// component with a leading zero ("01") is a string component and so sorts
// above every number, and a leading "v" ("v1.2") is simply part of a string
// component.
//
// # Next versions
//
// NextDev, NextDevTimestamp and NextFinal compute the version that
// `bosh create-release` and `bosh create-release --final` would pick; see
// their doc comments for the bosh-cli functions they mirror. NextDevAfter
// is NextDev over a list of published versions; NextRC, NextBump and Bump
// number release candidates and finals the semver way on BOSH versions
// (61.0.0 → 61.0.1-rc.1 → 61.0.1-rc.2, 61.0.0 → 61.1.0), and FinalOf is the
// final a candidate promotes to.
//
// # Version families
//
// A Family (the `version_family` source option of Concourse resources) is
// evaluated on the RELEASE part of a version only (the text before '-' or
// '+'). Accepted forms:
//
//   - "" or "latest": every version.
//   - "N.latest" (e.g. "1.latest", "61.0.latest"): versions whose leading
//     release components equal N's numeric components, missing components
//     counting as 0 as in bosh's ordering ("61" is in "61.0.latest").
//   - a github.com/Masterminds/semver/v3 constraint (e.g. "~1.484",
//     ">=61 <62", "61.x", "3262"): the release part is coerced to semver by
//     padding 1–3 numeric components with ".0"; a release with a non-numeric
//     component or more than 3 components never matches a constraint.
//     Constraints may not carry a pre-release or build part.
//
// Pre-release and dev versions therefore belong to the family of their
// release: "61.0.1-rc.3" and "61.0.0+dev.2" are matched as "61.0.1" and
// "61.0.0". A family names release lines, not an interval of the bosh order,
// so "<61.0.1" does NOT match "61.0.1-rc.3" (just as ">=61 <62" must not pick
// up "62-rc.1"), and ">=61.0.1" does match it. Whether a resource emits
// pre-release or dev versions at all is the resource's own policy; it can use
// Version.IsFinal, IsPreRelease and IsDev.
package version
