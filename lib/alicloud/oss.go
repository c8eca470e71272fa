package alicloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscredentials "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"
)

// maxSmallObject bounds Get, which reads a whole object into memory (records, state, locks).
const maxSmallObject = 16 << 20

// ossClient returns the session's OSS client for a region, built on first use.
func (s *Session) ossClient(region string) (*oss.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.oss[region]; ok {
		return c, nil
	}
	cfg := oss.LoadDefaultConfig().
		WithRegion(region).
		WithCredentialsProvider(osscredentials.CredentialsProviderFunc(func(ctx context.Context) (osscredentials.Credentials, error) {
			c, err := s.creds.Get(ctx)
			if err != nil {
				return osscredentials.Credentials{}, err
			}
			out := osscredentials.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
			if !c.Expires.IsZero() {
				out.Expires = &c.Expires
			}
			return out, nil
		})).
		// The pack runs every retry itself (Store.do), naming the operation in its warnings.
		WithRetryer(retry.NopRetryer{}).
		WithConnectTimeout(10 * time.Second).
		// The idle deadline of every connection: a try that moves no byte for this long fails.
		WithReadWriteTimeout(s.opts.StallTimeout).
		WithProxyFromEnvironment(true)
	if s.cloud.OSSEndpoint != "" {
		ep, err := parseEndpoint(s.cloud.OSSEndpoint, region)
		if err != nil {
			return nil, fmt.Errorf("oss_endpoint: %w", err)
		}
		cfg = cfg.WithEndpoint(ep.scheme + "://" + ep.host).WithDisableSSL(ep.scheme == "http")
		if isIPOrLocal(hostOnly(ep.host)) {
			cfg = cfg.WithUsePathStyle(true) // an IP has no bucket subdomains
		}
	}
	c := oss.NewClient(cfg)
	s.oss[region] = c
	return c, nil
}

func isIPOrLocal(host string) bool {
	return host == "localhost" || net.ParseIP(strings.Trim(host, "[]")) != nil
}

// Store is a bucket, or a prefix of one, in one region: where the pack keeps tarballs, records,
// state and locks. Names passed to its methods are relative to the prefix.
type Store struct {
	s      *Session
	client *oss.Client
	region string
	bucket string
	prefix string
}

// Store returns the source's own store: its bucket and prefix, in its home region.
func (s *Session) Store() (*Store, error) {
	return s.StoreIn(s.cloud.Region, s.cloud.Bucket, s.cloud.Prefix)
}

// StoreIn returns a store for any bucket and prefix in a region.
func (s *Session) StoreIn(region, bucket, prefix string) (*Store, error) {
	client, err := s.ossClient(region)
	if err != nil {
		return nil, err
	}
	return &Store{s: s, client: client, region: region, bucket: bucket, prefix: prefix}, nil
}

// Bucket and Region name where the store lives.
func (st *Store) Bucket() string { return st.bucket }
func (st *Store) Region() string { return st.region }

// Key is the full object key of a name.
func (st *Store) Key(name string) string { return st.prefix + name }

// ObjectInfo describes a stored object. SHA256 and SHA1 are filled by transfers, which compute
// them as the bytes pass.
type ObjectInfo struct {
	Name         string            `json:"name"` // relative to the store's prefix
	Size         int64             `json:"size"`
	ETag         string            `json:"etag,omitempty"`
	CRC64        string            `json:"crc64,omitempty"`
	LastModified time.Time         `json:"last_modified,omitzero"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	SHA256       string            `json:"sha256,omitempty"`
	SHA1         string            `json:"sha1,omitempty"`
}

// PutOptions are the optional settings of a write.
type PutOptions struct {
	ContentType string
	PublicRead  bool              // object ACL public-read (anonymous GET), else the bucket's default
	Private     bool              // object ACL private whatever the bucket's default (state, secrets)
	Metadata    map[string]string // x-oss-meta-*
}

func (o PutOptions) apply(r *oss.PutObjectRequest) {
	if o.ContentType != "" {
		r.ContentType = oss.Ptr(o.ContentType)
	}
	if o.PublicRead {
		r.Acl = oss.ObjectACLPublicRead
	}
	if o.Private {
		r.Acl = oss.ObjectACLPrivate
	}
	if len(o.Metadata) > 0 {
		r.Metadata = o.Metadata
	}
}

// fail says which object an operation failed on. An error that already carries a cloud error
// (such as a credentials failure) keeps its own context; anything else is classified.
func (st *Store) fail(operation, name string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		err, _ = classify("oss", operation, err)
	}
	if HasCode(err, "NoSuchBucket") {
		return fmt.Errorf("%s oss://%s/%s: the bucket %s does not exist in %s (check source.bucket and source.region): %w",
			strings.ToLower(operation[:1])+operation[1:], st.bucket, st.Key(name), st.bucket, st.region, err)
	}
	return fmt.Errorf("%s oss://%s/%s: %w", strings.ToLower(operation[:1])+operation[1:], st.bucket, st.Key(name), err)
}

// do runs one small OSS call with the session's retry policy and CallTimeout per try, and says
// which object it failed on.
func (st *Store) do(ctx context.Context, operation, name string, try func(ctx context.Context) error) error {
	if err := st.s.call(ctx, "oss", operation, try); err != nil {
		return st.fail(operation, name, err)
	}
	return nil
}

// Put writes a small object from memory (records, state).
func (st *Store) Put(ctx context.Context, name string, body []byte, opts PutOptions) (ObjectInfo, error) {
	request := &oss.PutObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))}
	opts.apply(request)
	result, err := st.putObject(ctx, request, body)
	if err != nil {
		return ObjectInfo{}, st.fail("PutObject", name, err)
	}
	return ObjectInfo{Name: name, Size: int64(len(body)), ETag: oss.ToString(result.ETag), CRC64: oss.ToString(result.HashCRC64)}, nil
}

// putObject sends a PutObject whose body is data, retried by the session with a fresh body.
func (st *Store) putObject(ctx context.Context, request *oss.PutObjectRequest, data []byte) (*oss.PutObjectResult, error) {
	var result *oss.PutObjectResult
	err := st.sendBody(ctx, "PutObject", false, data, func(ctx context.Context, body io.Reader, length int64) (err error) {
		attempt := *request
		attempt.Body, attempt.ContentLength = body, oss.Ptr(length)
		result, err = st.client.PutObject(ctx, &attempt)
		return err
	})
	return result, err
}

// PutJSON writes v as an indented JSON object.
func (st *Store) PutJSON(ctx context.Context, name string, v any) (ObjectInfo, error) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("encoding %s: %w", name, err)
	}
	return st.Put(ctx, name, body, PutOptions{ContentType: "application/json"})
}

// creatorKey is the metadata key CreateIfAbsent marks its objects with.
const creatorKey = "cpi-creator"

// CreateIfAbsent writes an object only if no object has the name (OSS x-oss-forbid-overwrite):
// the primitive behind locks and immutable records. It reports whether this call created it.
// A retried write whose first attempt succeeded unseen is recognised by a random marker, so the
// caller is not told "someone else" when it was itself.
func (st *Store) CreateIfAbsent(ctx context.Context, name string, body []byte, opts PutOptions) (bool, error) {
	marker := make([]byte, 12)
	_, _ = rand.Read(marker) // never fails: crypto/rand crashes the program instead (Go 1.24)
	token := hex.EncodeToString(marker)
	metadata := map[string]string{creatorKey: token}
	for k, v := range opts.Metadata {
		metadata[k] = v
	}
	opts.Metadata = metadata
	request := &oss.PutObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name)), ForbidOverwrite: oss.Ptr("true")}
	opts.apply(request)
	_, err := st.putObject(ctx, request, body)
	if err == nil {
		return true, nil
	}
	if !HasCode(err, "FileAlreadyExists") {
		return false, st.fail("PutObject", name, err)
	}
	existing, err := st.Head(ctx, name)
	if err != nil {
		return false, err
	}
	return existing.Metadata[creatorKey] == token, nil
}

// Head returns an object's size, digests and metadata.
func (st *Store) Head(ctx context.Context, name string) (ObjectInfo, error) {
	var result *oss.HeadObjectResult
	err := st.do(ctx, "HeadObject", name, func(ctx context.Context) (err error) {
		result, err = st.client.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))})
		return err
	})
	if err != nil {
		return ObjectInfo{}, err
	}
	info := ObjectInfo{Name: name, Size: result.ContentLength, ETag: oss.ToString(result.ETag), CRC64: oss.ToString(result.HashCRC64), Metadata: result.Metadata}
	if result.LastModified != nil {
		info.LastModified = *result.LastModified
	}
	return info, nil
}

// Exists reports whether an object exists.
func (st *Store) Exists(ctx context.Context, name string) (bool, error) {
	_, err := st.Head(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, err
}

// Get reads a small object into memory; objects over 16 MiB are refused (use Download).
func (st *Store) Get(ctx context.Context, name string) ([]byte, ObjectInfo, error) {
	var (
		body []byte
		info ObjectInfo
	)
	err := st.do(ctx, "GetObject", name, func(ctx context.Context) error {
		result, err := st.client.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))})
		if err != nil {
			return err
		}
		defer func() { _ = result.Body.Close() }() // read-only: its close has nothing to report
		if result.ContentLength > maxSmallObject {
			return errTooLarge{size: result.ContentLength}
		}
		// The body is part of the try: a connection lost mid-body is tried again.
		body, err = io.ReadAll(io.LimitReader(result.Body, maxSmallObject+1))
		if err != nil {
			return err
		}
		info = ObjectInfo{Name: name, Size: int64(len(body)), ETag: oss.ToString(result.ETag), CRC64: oss.ToString(result.HashCRC64), Metadata: result.Metadata}
		if result.LastModified != nil {
			info.LastModified = *result.LastModified
		}
		return nil
	})
	var tooLarge errTooLarge
	if errors.As(err, &tooLarge) {
		return nil, ObjectInfo{}, fmt.Errorf("oss://%s/%s is %d bytes, too large to read into memory", st.bucket, st.Key(name), tooLarge.size)
	}
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return body, info, nil
}

// errTooLarge is an object Get refuses to read; it is not worth another try.
type errTooLarge struct{ size int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("%d bytes, too large to read into memory", e.size)
}

// GetJSON reads an object written by PutJSON into v.
func (st *Store) GetJSON(ctx context.Context, name string, v any) (ObjectInfo, error) {
	body, info, err := st.Get(ctx, name)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return info, fmt.Errorf("reading oss://%s/%s: %w", st.bucket, st.Key(name), err)
	}
	return info, nil
}

// Delete removes an object; removing one that does not exist is not an error.
func (st *Store) Delete(ctx context.Context, name string) error {
	err := st.do(ctx, "DeleteObject", name, func(ctx context.Context) error {
		_, err := st.client.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))})
		return err
	})
	if err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// List returns every object whose name starts with prefix (all pages), in key order. Each page
// is one call, retried on its own.
func (st *Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var (
		out   []ObjectInfo
		token *string
	)
	for {
		var page *oss.ListObjectsV2Result
		err := st.do(ctx, "ListObjectsV2", prefix, func(ctx context.Context) (err error) {
			page, err = st.client.ListObjectsV2(ctx, &oss.ListObjectsV2Request{
				Bucket: oss.Ptr(st.bucket), Prefix: oss.Ptr(st.Key(prefix)), MaxKeys: 1000, ContinuationToken: token,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			info := ObjectInfo{Name: strings.TrimPrefix(oss.ToString(o.Key), st.prefix), Size: o.Size, ETag: oss.ToString(o.ETag)}
			if o.LastModified != nil {
				info.LastModified = *o.LastModified
			}
			out = append(out, info)
		}
		if !page.IsTruncated || oss.ToString(page.NextContinuationToken) == "" {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// URL is the object's stable, unsigned address: readable by anyone only if the object is
// public-read. It never carries a signature, so it is safe for metadata.
func (st *Store) URL(name string) string {
	key := (&url.URL{Path: st.Key(name)}).EscapedPath()
	if st.s.cloud.OSSEndpoint != "" {
		ep, err := parseEndpoint(st.s.cloud.OSSEndpoint, st.region)
		if err == nil {
			if isIPOrLocal(hostOnly(ep.host)) {
				return ep.scheme + "://" + ep.host + "/" + st.bucket + "/" + key
			}
			return ep.scheme + "://" + st.bucket + "." + ep.host + "/" + key
		}
	}
	return "https://" + st.bucket + ".oss-" + st.region + ".aliyuncs.com/" + key
}

func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// SetPublicRead makes an object readable anonymously, or private again.
func (st *Store) SetPublicRead(ctx context.Context, name string, public bool) error {
	acl := oss.ObjectACLPrivate
	if public {
		acl = oss.ObjectACLPublicRead
	}
	return st.do(ctx, "PutObjectAcl", name, func(ctx context.Context) error {
		_, err := st.client.PutObjectAcl(ctx, &oss.PutObjectAclRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name)), Acl: acl})
		return err
	})
}
