package concourse

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces every secret in output; it is what Concourse itself prints for credentials.
const Redacted = "((redacted))"

// minSecretLen is the shortest text redacted on its own. Shorter values (and shorter lines of a
// multi-line secret) would blank out ordinary words; no credential the pack handles is that short.
const minSecretLen = 4

// minFragmentLen is the shortest base64 fragment of a secret embedded in a longer base64 text
// (such as an HTTP basic-auth header) that is worth redacting.
const minFragmentLen = 8

// SecretRegistrar is what code below the kit needs to protect a secret it learns at run time:
// a token fetched from STS, a password read from creds.yml.
type SecretRegistrar interface {
	Register(secrets ...string)
}

// Redactor knows every secret of one run and removes them from text. It is safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	forms    map[string]struct{}
	replacer *strings.Replacer
	maxLen   int
}

// NewRedactor returns a Redactor that knows the given secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{forms: map[string]struct{}{}}
	r.Register(secrets...)
	return r
}

// Register adds secrets. Each is redacted as written, URL-encoded, JSON-escaped and
// base64-encoded (alone or inside a longer base64 text); a multi-line secret such as a PEM
// private key is also redacted line by line, so a tool printing part of it leaks nothing.
func (r *Redactor) Register(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, secret := range secrets {
		for _, form := range formsOf(secret) {
			if _, seen := r.forms[form]; !seen {
				r.forms[form] = struct{}{}
				added = true
				r.maxLen = max(r.maxLen, len(form))
			}
		}
	}
	if added {
		r.replacer = nil
	}
}

// Redact returns s with every registered secret replaced by Redacted.
func (r *Redactor) Redact(s string) string {
	replacer := r.currentReplacer()
	if replacer == nil {
		return s
	}
	return replacer.Replace(s)
}

// Contains reports whether s holds any registered secret.
func (r *Redactor) Contains(s string) bool {
	return r.Redact(s) != s
}

// maxSecretLen is the length of the longest form of any secret.
func (r *Redactor) maxSecretLen() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.maxLen
}

func (r *Redactor) currentReplacer() *strings.Replacer {
	r.mu.RLock()
	replacer, empty := r.replacer, len(r.forms) == 0
	r.mu.RUnlock()
	if replacer != nil || empty {
		return replacer
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replacer == nil {
		forms := make([]string, 0, len(r.forms))
		for form := range r.forms {
			forms = append(forms, form)
		}
		// At one position the replacer tries its arguments in order: longest first, so a
		// secret that contains another is removed whole.
		sort.Slice(forms, func(i, j int) bool {
			if len(forms[i]) != len(forms[j]) {
				return len(forms[i]) > len(forms[j])
			}
			return forms[i] < forms[j]
		})
		pairs := make([]string, 0, 2*len(forms))
		for _, form := range forms {
			pairs = append(pairs, form, Redacted)
		}
		r.replacer = strings.NewReplacer(pairs...)
	}
	return r.replacer
}

// formsOf lists the texts under which a secret may appear in output.
func formsOf(secret string) []string {
	var forms []string
	add := func(form string, minLen int) {
		if len(form) >= minLen {
			forms = append(forms, form)
		}
	}
	whole := strings.TrimSpace(secret)
	if len(whole) < minSecretLen {
		return nil
	}
	for _, s := range []string{secret, whole} {
		add(s, minSecretLen)
		add(url.QueryEscape(s), minSecretLen)
		add(url.PathEscape(s), minSecretLen)
		if escaped, err := json.Marshal(s); err == nil {
			add(string(escaped[1:len(escaped)-1]), minSecretLen)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			add(enc.EncodeToString([]byte(s)), minSecretLen)
			for shift := 0; shift < 3; shift++ {
				add(base64Fragment(enc, s, shift), minFragmentLen)
			}
		}
	}
	if strings.ContainsAny(whole, "\r\n") {
		for _, line := range strings.FieldsFunc(whole, func(r rune) bool { return r == '\n' || r == '\r' }) {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "-----") {
				continue // PEM armour ("-----BEGIN RSA PRIVATE KEY-----") names the kind, not the key
			}
			forms = append(forms, formsOf(line)...)
		}
	}
	return forms
}

// base64Fragment returns the characters of the base64 encoding of s that depend on s alone when
// s starts shift bytes into a 3-byte group of a longer encoded text.
func base64Fragment(enc *base64.Encoding, s string, shift int) string {
	padded := make([]byte, shift+len(s))
	copy(padded[shift:], s)
	encoded := enc.EncodeToString(padded)
	first := (8*shift + 5) / 6         // first character with no bits from the bytes before s
	last := (8*(shift+len(s)) - 6) / 6 // last character with no bits from the bytes after s
	if last < first {
		return ""
	}
	return encoded[first : last+1]
}
