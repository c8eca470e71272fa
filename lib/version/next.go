package version

import (
	"errors"
	"fmt"
	"time"

	semi "github.com/cppforlife/go-semi-semantic/version"
)

// The defaults bosh-cli uses (releasedir/fs_release_dir.go, package-level
// vars DefaultFinalVersion, DefaultDevVersion and DefaultDevPostRelease),
// restated here rather than imported.
const (
	firstFinal         = "1"
	devBaseline        = "0+dev.0"
	defaultPostRelease = "dev.1"
)

// NextDev returns the version `bosh create-release` (without --version and
// without --timestamp-version) gives the next dev release, given the greatest
// version in the final index (lastFinal) and in the dev index (lastDev); nil
// means the index is empty (see Latest).
//
// It mirrors bosh-cli v7.9.12 FSReleaseDir.NextDevVersion(name, false) and
// FSReleaseDir.lastDevOrFinalVersion in releasedir/fs_release_dir.go:
//
//   - the base is lastFinal if it sorts strictly above lastDev, otherwise
//     lastDev (a tie goes to the dev version); a missing one is ignored, and
//     with neither the base is "0+dev.0";
//   - the base's post-release is incremented (go-semi-semantic
//     IncrementPostRelease with default "dev.1"): no post-release gives
//     "+dev.1", otherwise its last component is incremented ("+dev.4" after
//     "+dev.3"); the release and pre-release are kept.
//
// Examples: (nil, nil) → "0+dev.1"; ("61.0.0", nil) → "61.0.0+dev.1";
// ("61.0.0", "61.0.0+dev.3") → "61.0.0+dev.4"; ("2", "1+dev.5") → "2+dev.1".
// It fails like bosh when the post-release's last component is not a number
// ("1+dev.a").
func NextDev(lastFinal, lastDev *Version) (Version, error) {
	inc, err := nextDev(lastFinal, lastDev)
	if err != nil {
		return Version{}, err
	}
	return fromSemi(inc), nil
}

// NextDevTimestamp is NextDev for `bosh create-release --timestamp-version`:
// it mirrors FSReleaseDir.NextDevVersion(name, true) in bosh-cli v7.9.12
// releasedir/fs_release_dir.go, which first computes NextDev (and fails where
// it fails) and then replaces the post-release with "dev.<now as Unix
// seconds>", keeping release and pre-release: ("1.1", "1.1+dev.1", t) →
// "1.1+dev.1257894062".
func NextDevTimestamp(lastFinal, lastDev *Version, now time.Time) (Version, error) {
	inc, err := nextDev(lastFinal, lastDev)
	if err != nil {
		return Version{}, err
	}
	post, err := semi.NewVersionSegmentFromString(fmt.Sprintf("dev.%d", now.Unix()))
	if err != nil {
		return Version{}, fmt.Errorf("version: timestamp post-release for %d: %w", now.Unix(), err)
	}
	ts, err := semi.NewVersion(inc.Release.Copy(), inc.PreRelease.Copy(), post)
	if err != nil {
		return Version{}, fmt.Errorf("version: building timestamp dev version: %w", err)
	}
	return fromSemi(ts), nil
}

func nextDev(lastFinal, lastDev *Version) (semi.Version, error) {
	if err := checkNotZero("last final", lastFinal); err != nil {
		return semi.Version{}, err
	}
	if err := checkNotZero("last dev", lastDev); err != nil {
		return semi.Version{}, err
	}

	var base Version
	switch {
	case lastFinal != nil && lastDev != nil:
		if lastFinal.Compare(*lastDev) > 0 {
			base = *lastFinal
		} else {
			base = *lastDev
		}
	case lastDev != nil:
		base = *lastDev
	case lastFinal != nil:
		base = *lastFinal
	default:
		base = MustParse(devBaseline)
	}

	inc, err := base.v.IncrementPostRelease(semi.MustNewVersionSegmentFromString(defaultPostRelease))
	if err != nil {
		return semi.Version{}, fmt.Errorf("version: incrementing last dev version %q: %w", base.raw, err)
	}
	return inc, nil
}

// NextFinal returns the version `bosh create-release --final` (and `bosh
// finalize-release`) gives the next final release when no --version is
// given, from the greatest version in the final index (nil: no finals yet).
//
// It mirrors bosh-cli v7.9.12 FSReleaseDir.NextFinalVersion in
// releasedir/fs_release_dir.go: no finals → "1"; otherwise go-semi-semantic
// IncrementRelease: the last component of the release part is incremented
// and any pre-/post-release dropped ("1.1" → "1.2", "61.0.0" → "61.0.1",
// "1.484" → "1.485", "3-rc.1" → "4"). It fails like bosh when that component
// is not a number ("1.a").
func NextFinal(lastFinal *Version) (Version, error) {
	if err := checkNotZero("last final", lastFinal); err != nil {
		return Version{}, err
	}
	if lastFinal == nil {
		return MustParse(firstFinal), nil
	}
	inc, err := lastFinal.v.IncrementRelease()
	if err != nil {
		return Version{}, fmt.Errorf("version: incrementing last final version %q: %w", lastFinal.raw, err)
	}
	return fromSemi(inc), nil
}

func checkNotZero(what string, v *Version) error {
	if v != nil && v.IsZero() {
		return errors.New("version: " + what + " version is the zero Version; pass nil for an empty index")
	}
	return nil
}
