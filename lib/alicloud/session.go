package alicloud

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/panics"
)

// Session is one resource run's connection to Alibaba Cloud: the Cloud block, its credentials
// (fetched lazily, refreshed before expiry) and a client per service and region.
type Session struct {
	cloud Cloud
	opts  Options
	creds *credentialCache
	http  *http.Client // for the instance metadata service

	mu  sync.Mutex
	oss map[string]*oss.Client // by region
	rpc rpcClients
}

// NewSession checks the Cloud block and prepares a session; nothing is called until needed.
func NewSession(c Cloud, opts Options) (*Session, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Session{cloud: c, opts: opts.withDefaults(), oss: map[string]*oss.Client{}}
	metadata := newTransport()
	metadata.Proxy = nil // the instance metadata service is link-local: a proxy cannot reach it
	s.http = &http.Client{Transport: metadata, Timeout: s.opts.CallTimeout}
	s.creds = s.credentialsFor(c)
	return s, nil
}

// Cloud returns the block the session was made from.
func (s *Session) Cloud() Cloud { return s.cloud }

// Credentials returns the credentials requests are signed with now.
func (s *Session) Credentials(ctx context.Context) (Credentials, error) { return s.creds.Get(ctx) }

// newTransport is the HTTP transport of every client the package builds itself: proxies from
// HTTP_PROXY, HTTPS_PROXY and NO_PROXY, bounded connection set-up.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
	}
}

// detached runs a call that cannot take a context (the RPC SDK's) and gives up waiting when ctx
// ends; the SDK's own timeout ends the abandoned call soon after. The call's result reaches the
// caller only when it waited for it: an abandoned call's answer is dropped, never written into
// anything a retry uses.
func detached[T any](ctx context.Context, call func() (T, error)) (T, error) {
	type result struct {
		value T
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = panics.Catch(func() (err error) {
			r.value, err = call()
			return err
		})
		done <- r
	}()
	select {
	case r := <-done:
		return r.value, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// OpenStore is what a resource step does first: a session from the source's cloud block,
// logging (and learning secrets) through the step's logger, and its home store.
func OpenStore(c Cloud, log Log, secrets Secrets) (*Store, error) {
	s, err := NewSession(c, Options{Log: log, Secrets: secrets})
	if err != nil {
		return nil, err
	}
	return s.Store()
}
