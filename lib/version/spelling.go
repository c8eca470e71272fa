package version

import "fmt"

// SpellingError says a version is BOSH-equal to a published one spelled otherwise: "1.0.0"
// when "1.0" is published. BOSH orders them equal, but directors match versions as strings, so
// publishing both would make one version under two names with different content.
type SpellingError struct {
	What      string // what is published, for the message: "release cpi", "stemcell bosh-…"
	Given     string
	Published string
}

func (e *SpellingError) Error() string {
	return fmt.Sprintf("%s version %s is already published as %s: BOSH orders them equal and directors match versions as text, so one of them would shadow the other; use %s, or another version",
		e.What, e.Given, e.Published, e.Published)
}

// CheckSpelling refuses v when published holds a version BOSH orders equal to it but spelled
// otherwise ("1.0", "1.0.0" and "1.0.0.0"; stemcells "1.484" and "1.484.0"). The same spelling
// is no conflict: whether republishing it is allowed is the caller's rule. what names the
// release or stemcell line in the error.
func CheckSpelling(what string, published []Version, v Version) error {
	for _, p := range published {
		if p.Equal(v) && p.String() != v.String() {
			return &SpellingError{What: what, Given: v.String(), Published: p.String()}
		}
	}
	return nil
}
