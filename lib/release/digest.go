package release

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Algorithm names a hash function that BOSH digests use.
type Algorithm string

// The algorithms bosh-utils crypto knows (DigestAlgorithmSHA1/SHA256/SHA512), weakest first.
const (
	SHA1   Algorithm = "sha1"
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// strength orders the known algorithms; unknown ones are 0 and never chosen for verification.
func (a Algorithm) strength() int {
	switch a {
	case SHA1:
		return 1
	case SHA256:
		return 2
	case SHA512:
		return 3
	}
	return 0
}

// known reports whether this package can compute a.
func (a Algorithm) known() bool { return a.strength() > 0 }

func (a Algorithm) hexLen() int {
	switch a {
	case SHA1:
		return sha1.Size * 2
	case SHA256:
		return sha256.Size * 2
	case SHA512:
		return sha512.Size * 2
	}
	return 0
}

// New returns a fresh hash for a, or nil for an algorithm this package does not know.
func (a Algorithm) New() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// Sum is one algorithm's digest, its hex as written (bosh writes lower case).
type Sum struct {
	Algorithm Algorithm
	Hex       string
}

// String renders s as bosh does: SHA-1 bare, every other algorithm as "<algorithm>:<hex>".
func (s Sum) String() string {
	if s.Algorithm == SHA1 {
		return s.Hex
	}
	return string(s.Algorithm) + ":" + s.Hex
}

// Matches reports whether hex (any case) is s's digest.
func (s Sum) Matches(hex string) bool { return strings.EqualFold(s.Hex, hex) }

// Digest is the content of a BOSH `sha1`/`sha` field: one or more sums separated by ';', each a
// bare SHA-1 hex (the historical form) or "<algorithm>:<hex>", e.g. "da39…", "sha256:e3b0…" or
// "sha1:da39…;sha256:e3b0…". This is bosh-utils crypto.MultipleDigest's syntax. The zero Digest
// holds no sum; ParseDigest never returns it without an error.
type Digest struct {
	sums []Sum
}

// ParseDigest parses a BOSH digest as bosh-utils crypto.ParseMultipleDigest does: pieces are
// split on ';' and empty pieces skipped; a piece is split on its first ':'; algorithm and hex
// must be alphanumeric; a piece without ':' is SHA-1; one algorithm may appear only once.
// It is stricter than bosh in two ways that only turn late failures into early ones: the hex of
// a known algorithm must be hex of that algorithm's length, and at least one algorithm must be
// one this package can verify (sums of other algorithms are kept and printed, never verified).
func ParseDigest(s string) (Digest, error) {
	var d Digest
	seen := map[Algorithm]bool{}
	for _, piece := range strings.Split(s, ";") {
		if piece == "" {
			continue
		}
		algo, hexText, ok := strings.Cut(piece, ":")
		if !ok {
			algo, hexText = string(SHA1), piece
		}
		if !alphanumeric(algo) || !alphanumeric(hexText) {
			return Digest{}, fmt.Errorf("invalid digest %q: %q is not <algorithm>:<hex> (algorithm and hex are letters and digits only)", s, piece)
		}
		a := Algorithm(algo)
		if seen[a] {
			return Digest{}, fmt.Errorf("invalid digest %q: %s appears twice", s, a)
		}
		seen[a] = true
		if a.known() {
			if _, err := hex.DecodeString(hexText); err != nil || len(hexText) != a.hexLen() {
				return Digest{}, fmt.Errorf("invalid digest %q: the %s sum %q is not %d hex digits", s, a, hexText, a.hexLen())
			}
		}
		d.sums = append(d.sums, Sum{Algorithm: a, Hex: hexText})
	}
	if len(d.sums) == 0 {
		return Digest{}, fmt.Errorf("invalid digest %q: no sum in it (want e.g. sha256:<hex>, sha1:<hex>;sha256:<hex>, or a bare SHA-1)", s)
	}
	if !d.Strongest().Algorithm.known() {
		return Digest{}, fmt.Errorf("invalid digest %q: no algorithm this pack can verify (sha1, sha256, sha512)", s)
	}
	return d, nil
}

func alphanumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// NewDigest makes a Digest of the given sums (e.g. to write a multi-digest); it fails where
// ParseDigest would fail on their String.
func NewDigest(sums ...Sum) (Digest, error) {
	text := make([]string, len(sums))
	for i, s := range sums {
		text[i] = s.String()
	}
	return ParseDigest(strings.Join(text, ";"))
}

// IsZero reports whether d holds no sum.
func (d Digest) IsZero() bool { return len(d.sums) == 0 }

// Sums returns d's sums in the order written.
func (d Digest) Sums() []Sum { return append([]Sum(nil), d.sums...) }

// Sum returns d's sum for a, if it has one.
func (d Digest) Sum(a Algorithm) (Sum, bool) {
	for _, s := range d.sums {
		if s.Algorithm == a {
			return s, true
		}
	}
	return Sum{}, false
}

// Strongest returns the sum bosh verifies (MultipleDigest.strongestDigest): SHA-512 over SHA-256
// over SHA-1. The zero Digest gives the zero Sum.
func (d Digest) Strongest() Sum {
	var best Sum
	for _, s := range d.sums {
		if s.Algorithm.strength() > best.Algorithm.strength() {
			best = s
		}
	}
	return best
}

// String renders d as bosh writes it ("sha1hex", "sha256:hex", "sha1:hex;sha256:hex").
func (d Digest) String() string {
	text := make([]string, len(d.sums))
	for i, s := range d.sums {
		text[i] = s.String()
	}
	return strings.Join(text, ";")
}

// MismatchError is a content whose strongest sum is not the one expected.
type MismatchError struct {
	Algorithm Algorithm
	Want, Got string // hex
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s mismatch: want %s, got %s", e.Algorithm, e.Want, e.Got)
}

// Verify reads r to its end and checks it against d's strongest sum, as bosh does. A wrong
// content is a *MismatchError.
func (d Digest) Verify(r io.Reader) error {
	s := d.Strongest()
	h := s.Algorithm.New()
	if h == nil {
		return errors.New("cannot verify the zero Digest")
	}
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading content to verify its %s: %w", s.Algorithm, err)
	}
	return d.check(hex.EncodeToString(h.Sum(nil)))
}

// check compares the hex of the strongest algorithm's sum of some content.
func (d Digest) check(gotHex string) error {
	s := d.Strongest()
	if !s.Matches(gotHex) {
		return &MismatchError{Algorithm: s.Algorithm, Want: s.Hex, Got: gotHex}
	}
	return nil
}

// MarshalText writes d as String does; the zero Digest is refused.
func (d Digest) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return nil, errors.New("cannot marshal the zero Digest")
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses text with ParseDigest.
func (d *Digest) UnmarshalText(text []byte) error {
	parsed, err := ParseDigest(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
