package concourse

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkPipe measures what redaction costs a child's output flowing through the logger: the
// same 1 MiB of log lines written with no secrets registered and with a realistic set (source
// keys, an STS token, a PEM private key).
func BenchmarkPipe(b *testing.B) {
	var text strings.Builder
	for i := 0; text.Len() < 1<<20; i++ {
		fmt.Fprintf(&text, "Task %d | 12:00:%02d | Compiling packages: golang-1.22/abcdef0123456789 (00:00:%02d)\n", i, i%60, i%60)
	}
	chunk := []byte(text.String())
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("MIIEowIBAAKCAQEAxkTfJcT1aPbTEYzhe5cNnbKx0cHc3MWIyjBE6uUNEmLkMrEW\n", 25) + "-----END RSA PRIVATE KEY-----\n"
	for _, c := range []struct {
		name    string
		secrets []string
	}{
		{"no-secrets", nil},
		{"realistic-secrets", []string{"LTAI5tQ2bcdEXAMPLEkeyid", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "CAIS8gF1q6Ft5B2yfSjIr5bUJ+3c2b1o6" + strings.Repeat("x", 400), pem, "director-admin-password-0123"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			log := NewLogger(io.Discard, NewRedactor(c.secrets...), false)
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				p := log.Pipe()
				_, _ = p.Write(chunk) // the logger writes to io.Discard: nothing can fail
				_ = p.Close()
			}
		})
	}
}
