package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// stsKeyPrefix starts every access key id STS issues, as on the real service.
const stsKeyPrefix = "STS."

const (
	maxIssued   = 100_000          // issued STS credentials remembered; the oldest go first
	maxNonces   = 200_000          // SignatureNonces remembered
	nonceWindow = 30 * time.Minute // longer than the ±15 min timestamp window
)

// principal is who signed a request: a static account key or STS credentials issued to an account.
type principal struct {
	account     *account
	accessKeyID string
	secret      string
	token       string    // the security token the request must carry; "" for static keys
	expires     time.Time // zero for static keys
	roleArn     string
	session     string
}

func (p *principal) temporary() bool { return p.token != "" }

// tokenMatches compares in constant time.
func (p *principal) tokenMatches(token string) bool {
	return subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) == 1
}

// credStore holds issued STS credentials and used signature nonces, both bounded.
type credStore struct {
	mu     sync.Mutex
	issued map[string]*principal
	order  []string // issue order, for eviction
	nonces map[string]time.Time
	nonceQ []string
}

func newCredStore() *credStore {
	return &credStore{issued: map[string]*principal{}, nonces: map[string]time.Time{}}
}

func (c *credStore) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issued = map[string]*principal{}
	c.order = nil
	c.nonces = map[string]time.Time{}
	c.nonceQ = nil
}

// issue creates STS credentials for a, valid until expires.
func (c *credStore) issue(a *account, roleArn, session string, expires time.Time) *principal {
	p := &principal{
		account:     a,
		accessKeyID: stsKeyPrefix + randomAlnum(24),
		secret:      randomAlnum(44),
		token:       "CAIS" + base64.StdEncoding.EncodeToString(randomBytes(240)),
		expires:     expires,
		roleArn:     roleArn,
		session:     session,
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issued[p.accessKeyID] = p
	c.order = append(c.order, p.accessKeyID)
	for len(c.order) > maxIssued {
		delete(c.issued, c.order[0])
		c.order = c.order[1:]
	}
	return p
}

// lookup finds the principal behind an access key id.
func (s *Server) lookup(accessKeyID string) (*principal, bool) {
	if a, ok := s.accounts[accessKeyID]; ok {
		return &principal{account: a, accessKeyID: a.accessKeyID, secret: a.secret}, true
	}
	s.creds.mu.Lock()
	defer s.creds.mu.Unlock()
	p, ok := s.creds.issued[accessKeyID]
	return p, ok
}

// useNonce records a nonce for an access key and reports whether it was fresh.
func (c *credStore) useNonce(accessKeyID, nonce string, now time.Time) bool {
	key := accessKeyID + "\x00" + nonce
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.nonceQ) > 0 {
		oldest := c.nonceQ[0]
		if at, ok := c.nonces[oldest]; ok && len(c.nonceQ) <= maxNonces && now.Sub(at) < nonceWindow {
			break
		}
		delete(c.nonces, oldest)
		c.nonceQ = c.nonceQ[1:]
	}
	if _, used := c.nonces[key]; used {
		return false
	}
	c.nonces[key] = now
	c.nonceQ = append(c.nonceQ, key)
	return true
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead (Go 1.24)
	return b
}
