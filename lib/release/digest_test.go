package release_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/release"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"
)

var (
	content   = []byte("hello, bosh\n")
	sha1Hex   = hexOf(sha1.Sum(content))
	sha256Hex = hexOf(sha256.Sum256(content))
	sha512Hex = hexOf(sha512.Sum512(content))
	otherHex  = hexOf(sha256.Sum256([]byte("something else")))
)

func hexOf[T [20]byte | [32]byte | [64]byte](sum T) string {
	switch s := any(sum).(type) {
	case [20]byte:
		return hex.EncodeToString(s[:])
	case [32]byte:
		return hex.EncodeToString(s[:])
	case [64]byte:
		return hex.EncodeToString(s[:])
	}
	panic("unreachable")
}

func testDigest(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("ParseDigest", func() {
		it("reads a bare SHA-1 as SHA-1 (the historical form)", func() {
			d := must(release.ParseDigest(sha1Hex))
			Expect(d.Strongest()).To(Equal(release.Sum{Algorithm: release.SHA1, Hex: sha1Hex}))
			Expect(d.String()).To(Equal(sha1Hex))
		})

		it("reads sha256:<hex>", func() {
			d := must(release.ParseDigest("sha256:" + sha256Hex))
			Expect(d.Strongest()).To(Equal(release.Sum{Algorithm: release.SHA256, Hex: sha256Hex}))
			Expect(d.String()).To(Equal("sha256:" + sha256Hex))
		})

		it("reads bosh's multi-digest, keeps its order and picks the strongest sum", func() {
			text := "sha1:" + sha1Hex + ";sha256:" + sha256Hex
			d := must(release.ParseDigest(text))
			Expect(d.Sums()).To(Equal([]release.Sum{{Algorithm: release.SHA1, Hex: sha1Hex}, {Algorithm: release.SHA256, Hex: sha256Hex}}))
			Expect(d.Strongest().Algorithm).To(Equal(release.SHA256))
			Expect(d.String()).To(Equal(sha1Hex+";sha256:"+sha256Hex), "bosh writes SHA-1 bare")

			d = must(release.ParseDigest("sha512:" + sha512Hex + ";" + sha1Hex + ";sha256:" + sha256Hex))
			Expect(d.Strongest().Algorithm).To(Equal(release.SHA512))
		})

		it("skips empty pieces as bosh does", func() {
			d := must(release.ParseDigest(";sha256:" + sha256Hex + ";"))
			Expect(d.Sums()).To(HaveLen(1))
		})

		it("keeps an algorithm it cannot compute next to one it can, and never verifies with it", func() {
			d := must(release.ParseDigest("sha3:abcdef;sha256:" + sha256Hex))
			Expect(d.Sums()).To(HaveLen(2))
			Expect(d.Strongest().Algorithm).To(Equal(release.SHA256))
			Expect(d.Verify(strings.NewReader(string(content)))).To(Succeed())
		})

		for _, bad := range []struct{ text, reason string }{
			{"", "no sum"},
			{";", "no sum"},
			{"sha256:" + sha256Hex[:10], "not 64 hex digits"},
			{"sha1:" + sha256Hex, "not 40 hex digits"},
			{"sha256:" + strings.Repeat("z", 64), "not 64 hex digits"},
			{"sha256:" + sha256Hex + ";sha256:" + sha256Hex, "sha256 appears twice"},
			{"sha-256:" + sha256Hex, "letters and digits only"},
			{"sha256:" + sha256Hex + " ", "letters and digits only"},
			{"md5:abcdef", "no algorithm this pack can verify"},
		} {
			bad := bad
			it("refuses "+strings.ReplaceAll(bad.text, sha256Hex, "<hex>")+" ("+bad.reason+")", func() {
				_, err := release.ParseDigest(bad.text)
				Expect(err).To(MatchError(ContainSubstring(bad.reason)))
				Expect(err.Error()).To(ContainSubstring("invalid digest"))
			})
		}
	})

	context("Verify", func() {
		it("accepts the content and names the algorithm and both sums otherwise", func() {
			d := must(release.ParseDigest(sha1Hex + ";sha256:" + sha256Hex))
			Expect(d.Verify(strings.NewReader(string(content)))).To(Succeed())

			err := d.Verify(strings.NewReader("tampered"))
			var mismatch *release.MismatchError
			Expect(errors.As(err, &mismatch)).To(BeTrue())
			Expect(mismatch.Algorithm).To(Equal(release.SHA256))
			Expect(mismatch.Want).To(Equal(sha256Hex))
			Expect(err.Error()).To(HavePrefix("sha256 mismatch: want " + sha256Hex + ", got "))
		})

		it("verifies the strongest sum only, as bosh does", func() {
			d := must(release.ParseDigest("sha1:" + sha1Hex + ";sha256:" + otherHex))
			Expect(d.Verify(strings.NewReader(string(content)))).To(MatchError(ContainSubstring("sha256 mismatch")))

			d = must(release.ParseDigest("sha1:" + strings.Repeat("0", 40) + ";sha256:" + sha256Hex))
			Expect(d.Verify(strings.NewReader(string(content)))).To(Succeed())
		})

		it("compares hex case-insensitively", func() {
			d := must(release.ParseDigest("sha256:" + strings.ToUpper(sha256Hex)))
			Expect(d.Verify(strings.NewReader(string(content)))).To(Succeed())
		})

		it("refuses to verify with the zero Digest", func() {
			Expect(release.Digest{}.Verify(strings.NewReader(""))).To(HaveOccurred())
		})
	})

	context("as text", func() {
		it("round-trips through YAML and NewDigest", func() {
			var doc struct{ SHA release.Digest }
			Expect(yaml.Unmarshal([]byte("sha: sha1:"+sha1Hex+";sha256:"+sha256Hex), &doc)).To(Succeed())
			out := must(yaml.Marshal(doc))
			Expect(string(out)).To(Equal("sha: " + sha1Hex + ";sha256:" + sha256Hex + "\n"))

			made := must(release.NewDigest(release.Sum{Algorithm: release.SHA1, Hex: sha1Hex}, release.Sum{Algorithm: release.SHA256, Hex: sha256Hex}))
			Expect(made).To(Equal(doc.SHA))

			Expect(yaml.Unmarshal([]byte("sha: nope!"), &doc)).To(MatchError(ContainSubstring("invalid digest")))
			_, err := release.Digest{}.MarshalText()
			Expect(err).To(HaveOccurred())
		})
	})
}
