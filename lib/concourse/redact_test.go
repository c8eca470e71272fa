package concourse

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestRedaction(t *testing.T) {
	suite := spec.New("redaction", spec.Report(report.Terminal{}))
	suite("Redactor", testRedactor)
	suite("Pipe", testPipe)
	suite.Run(t)
}

func testRedactor(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	context("when a secret sits at any offset inside a longer base64 text", func() {
		it("removes the part of the encoding that gives it away", func() {
			secret := "LTAI5tQ2bcdSecretValue9"
			r := NewRedactor(secret)
			for prefix := 0; prefix < 6; prefix++ {
				encoded := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("u", prefix) + ":" + secret + "@host"))
				redacted := r.Redact(encoded)
				Expect(redacted).To(ContainSubstring(Redacted), "prefix %d", prefix)
				decodedLen := len(strings.ReplaceAll(redacted, Redacted, ""))
				Expect(decodedLen).To(BeNumerically("<", len(encoded)-len(secret)), "prefix %d: too little removed", prefix)
			}
		})
	})

	context("when a secret is shorter than four characters", func() {
		it("leaves text alone rather than blanking ordinary words", func() {
			r := NewRedactor("abc", "")
			Expect(r.Redact("abc def")).To(Equal("abc def"))
		})
	})

	context("when one secret contains another", func() {
		it("removes the longer whole", func() {
			r := NewRedactor("secret", "my-secret-value")
			Expect(r.Redact("x my-secret-value y secret")).To(Equal("x ((redacted)) y ((redacted))"))
		})
	})

	context("when a secret is registered after text was redacted once", func() {
		it("uses the new secret from then on", func() {
			r := NewRedactor("first-secret")
			Expect(r.Redact("first-secret later-token")).To(Equal("((redacted)) later-token"))
			r.Register("later-token")
			Expect(r.Redact("first-secret later-token")).To(Equal("((redacted)) ((redacted))"))
		})
	})

	context("when a secret holds characters JSON escapes", func() {
		it("redacts its JSON-escaped form", func() {
			r := NewRedactor("pa\"ss\\word\nline-two")
			Expect(r.Redact(`{"password":"pa\"ss\\word\nline-two"}`)).To(Equal(`{"password":"((redacted))"}`))
		})
	})
}

func testPipe(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		out    *bytes.Buffer
		log    *Logger
	)
	it.Before(func() {
		out = &bytes.Buffer{}
		log = NewLogger(out, NewRedactor("hunter2-password"), false)
	})

	context("when a secret is split across writes", func() {
		it("still redacts it", func() {
			p := log.Pipe()
			for _, chunk := range []string{"login hun", "ter2-pass", "word ok\nnext", " line"} {
				_, err := p.Write([]byte(chunk))
				Expect(err).NotTo(HaveOccurred())
			}
			Expect(out.String()).To(Equal("login ((redacted)) ok\n"))
			Expect(p.Close()).To(Succeed())
			Expect(out.String()).To(Equal("login ((redacted)) ok\nnext line\n"))
		})
	})

	context("when a child prints a huge line with no newline", func() {
		it("holds a bounded amount and still redacts a secret across the flush", func() {
			p := log.Pipe()
			filler := strings.Repeat("x", maxHeldBytes-5)
			_, _ = p.Write([]byte(filler + "hunter2-")) // the logger writes to a buffer: nothing can fail
			held, ok := p.(*pipe)
			Expect(ok).To(BeTrue())
			Expect(len(held.held)).To(BeNumerically("<", log.secrets.maxSecretLen()), "only a tail that could start a secret is held")
			_, _ = p.Write([]byte("password tail")) // as above
			Expect(p.Close()).To(Succeed())
			Expect(out.String()).To(HaveSuffix("x((redacted)) tail\n"))
			Expect(out.String()).NotTo(ContainSubstring("hunter2"))
		})
	})

	context("when progress is drawn with carriage returns", func() {
		it("writes each update as it comes", func() {
			p := log.Pipe()
			_, _ = p.Write([]byte("10%\r20%\r")) // the logger writes to a buffer: nothing can fail
			Expect(out.String()).To(Equal("10%\r20%\r"))
		})
	})
}
