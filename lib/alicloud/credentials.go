package alicloud

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Credentials are what a request is signed with. SecurityToken and Expires are set for STS
// credentials (assumed roles, the ECS RAM role).
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expires         time.Time // zero: never
}

// credentialFetcher obtains fresh credentials.
type credentialFetcher func(ctx context.Context) (Credentials, error)

// credentialCache hands out credentials and fetches new ones before the current ones expire:
// when a fifth of their lifetime, or 5 minutes, is left, whichever is less. Every secret it
// fetches is registered for redaction before it is used.
type credentialCache struct {
	mu      sync.Mutex
	fetch   credentialFetcher
	clock   func() time.Time
	secrets Secrets
	current Credentials
	refresh time.Time // when to fetch again; zero: never
	what    string    // for errors: "the ECS RAM role ConcourseWorker"
}

func newCredentialCache(what string, fetch credentialFetcher, opts Options) *credentialCache {
	return &credentialCache{fetch: fetch, clock: opts.Clock, secrets: opts.Secrets, what: what}
}

// Get returns valid credentials, fetching them when needed.
func (c *credentialCache) Get(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock()
	if c.current.AccessKeyID != "" && (c.refresh.IsZero() || now.Before(c.refresh)) {
		return c.current, nil
	}
	fresh, err := c.fetch(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("getting credentials from %s: %w", c.what, err)
	}
	c.secrets.Register(fresh.AccessKeySecret, fresh.SecurityToken)
	c.current, c.refresh = fresh, time.Time{}
	if !fresh.Expires.IsZero() {
		lifetime := fresh.Expires.Sub(now)
		c.refresh = fresh.Expires.Add(-min(lifetime/5, 5*time.Minute))
	}
	return fresh, nil
}

// credentialsFor builds the provider chain a Cloud block asks for: static keys (with an STS
// token when given) or the ECS RAM role, then an assumed role on top when assume_role_arn is set.
func (s *Session) credentialsFor(c Cloud) *credentialCache {
	var base *credentialCache
	if c.RAMRole != "" {
		base = newCredentialCache("the ECS RAM role "+c.RAMRole, func(ctx context.Context) (Credentials, error) {
			return s.ramRoleCredentials(ctx, c.RAMRole)
		}, s.opts)
	} else {
		static := Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
		base = newCredentialCache("the source's access keys", func(context.Context) (Credentials, error) {
			return static, nil
		}, s.opts)
	}
	if c.AssumeRoleARN == "" {
		return base
	}
	return newCredentialCache("role "+c.AssumeRoleARN, func(ctx context.Context) (Credentials, error) {
		baseCreds, err := base.Get(ctx)
		if err != nil {
			return Credentials{}, err
		}
		return s.assumeRole(ctx, baseCreds, c.AssumeRoleARN)
	}, s.opts)
}
