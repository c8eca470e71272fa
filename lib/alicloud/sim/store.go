package sim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// crcTable is CRC-64/ECMA-182 as OSS computes x-oss-hash-crc64ecma (the SDK checks it with the
// same polynomial, reflected, initial and final value all ones: Go's hash/crc64).
var crcTable = crc64.MakeTable(crc64.ECMA)

const (
	maxObjectSize = 5 << 30   // PutObject, UploadPart and CopyObject limit
	minPartSize   = 100 << 10 // every part but the last
	maxPartNumber = 10_000
)

// ACL values.
const (
	aclDefault         = "default"
	aclPrivate         = "private"
	aclPublicRead      = "public-read"
	aclPublicReadWrite = "public-read-write"
)

type bucket struct {
	name    string
	region  string
	acl     string
	owner   *account
	created time.Time
	objects map[string]*object
}

// object is an object's metadata; its body is the file at path, never changed once published.
type object struct {
	files        []string // the body: one file, or a multipart object's part files in order
	size         int64
	etag         string // quoted, upper-case hex
	contentMD5   string // base64; simple uploads only
	crc64        uint64
	contentType  string
	headers      map[string]string // Cache-Control, Content-Disposition, Content-Encoding, Expires
	meta         map[string]string // user metadata: lower-case name after x-oss-meta- → value
	acl          string
	objectType   string // Normal or Multipart
	lastModified time.Time
}

// Bucket describes a bucket to create from Go (seed files, tests).
type Bucket struct {
	Name   string `json:"name" yaml:"name"`
	Region string `json:"region" yaml:"region"` // default Config.DefaultRegion
	ACL    string `json:"acl" yaml:"acl"`       // default private
	Owner  string `json:"owner" yaml:"owner"`   // access key id of a static credential; default the first
}

// CreateBucket creates a bucket without a request, as PutBucket would.
func (s *Server) CreateBucket(b Bucket) error {
	if !validBucketName(b.Name) {
		return fmt.Errorf("bucket %q: not a valid OSS bucket name", b.Name)
	}
	if b.Region == "" {
		b.Region = s.cfg.DefaultRegion
	}
	if !s.regions[b.Region] {
		return fmt.Errorf("bucket %q: region %q is not one of the regions", b.Name, b.Region)
	}
	if b.ACL == "" {
		b.ACL = aclPrivate
	}
	if !validBucketACL(b.ACL) {
		return fmt.Errorf("bucket %q: ACL %q: want private, public-read or public-read-write", b.Name, b.ACL)
	}
	owner := s.owner
	if b.Owner != "" {
		a, ok := s.accounts[b.Owner]
		if !ok {
			return fmt.Errorf("bucket %q: owner %q is not a static credential", b.Name, b.Owner)
		}
		owner = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[b.Name]; ok {
		return fmt.Errorf("bucket %q already exists", b.Name)
	}
	s.buckets[b.Name] = &bucket{name: b.Name, region: b.Region, acl: b.ACL, owner: owner,
		created: s.now().UTC(), objects: map[string]*object{}}
	return nil
}

// BucketRegion returns the region a bucket was created in; part 2 (ImportImage) checks that an
// image's object lives in the image's region.
func (s *Server) BucketRegion(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return "", false
	}
	return b.region, true
}

func validBucketACL(acl string) bool {
	return acl == aclPrivate || acl == aclPublicRead || acl == aclPublicReadWrite
}

func validObjectACL(acl string) bool { return acl == aclDefault || validBucketACL(acl) }

// ingested is a body written to a temporary file (or, for a completed multipart upload, its
// part files in order), with its digests.
type ingested struct {
	path  string
	parts []string
	size  int64
	md5   []byte
	crc   uint64
}

func (in *ingested) discard() {
	if in != nil && in.path != "" {
		_ = os.Remove(in.path) // unreferenced: a leftover only takes disk until Close
	}
}

var errTooLarge = errors.New("body too large")

// ingest streams a body to a temporary file, computing MD5 and CRC-64 on the way; memory stays
// bounded whatever the size.
func (s *Server) ingest(body io.Reader, limit int64) (*ingested, error) {
	f, err := os.CreateTemp(filepath.Join(s.dataDir, "tmp"), "body-")
	if err != nil {
		return nil, fmt.Errorf("creating a body file: %w", err)
	}
	in := &ingested{path: f.Name()}
	md := md5.New()
	crc := crc64.New(crcTable)
	n, err := io.CopyBuffer(io.MultiWriter(f, md, crc), io.LimitReader(body, limit+1), make([]byte, 256<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err != nil {
		in.discard()
		return nil, err
	}
	in.size, in.md5, in.crc = n, md.Sum(nil), crc.Sum64()
	return in, nil
}

// ingestError turns a body read failure into an OSS error.
func ingestError(err error, limit int64) *ossError {
	if errors.Is(err, errTooLarge) {
		return newOSSError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.").
			with("MaxSizeAllowed", itoa(limit))
	}
	return newOSSError(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header: "+err.Error())
}

// checkContentMD5 verifies a Content-MD5 header against the body's digest.
func checkContentMD5(h http.Header, sum []byte) *ossError {
	v := h.Get("Content-MD5")
	if v == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(want) != md5.Size {
		return errInvalidDigest("0017-00000502")
	}
	if string(want) != string(sum) {
		return errInvalidDigest("0017-00000503")
	}
	return nil
}

// newObjectPath names the file of a new object body.
func (s *Server) newObjectPath() string {
	return filepath.Join(s.dataDir, "objects", randomHex(16))
}

// publish moves an ingested body to its object files. Callers hold s.mu.
func (s *Server) publish(in *ingested) ([]string, error) {
	sources := in.parts
	if in.path != "" {
		sources = []string{in.path}
	}
	files := make([]string, 0, len(sources))
	for _, src := range sources {
		p := s.newObjectPath()
		if err := os.Rename(src, p); err != nil {
			removeFiles(files)
			return nil, fmt.Errorf("publishing an object body: %w", err)
		}
		files = append(files, p)
	}
	in.path, in.parts = "", nil
	return files, nil
}

// removeFiles deletes an object's body files; readers that opened them keep reading.
func removeFiles(files []string) {
	for _, f := range files {
		_ = os.Remove(f) // unreferenced: a leftover only takes disk until Close
	}
}

// body reads an object's files as one stream, sequentially or at any offset.
type body struct {
	files  []*os.File
	starts []int64 // offset of each file in the object
	size   int64
	pos    int64
}

// openBody opens every file of an object; callers hold s.mu, so none can be removed meanwhile.
func openBody(obj *object) (*body, error) {
	b := &body{}
	for _, path := range obj.files {
		f, err := os.Open(path)
		if err == nil {
			var st os.FileInfo
			if st, err = f.Stat(); err == nil {
				b.files, b.starts = append(b.files, f), append(b.starts, b.size)
				b.size += st.Size()
				continue
			}
			_ = f.Close() // read-only, and err is the failure to report
		}
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *body) ReadAt(p []byte, off int64) (int, error) {
	read := 0
	for len(p) > 0 {
		if off >= b.size {
			return read, io.EOF
		}
		i := sort.Search(len(b.starts), func(i int) bool { return b.starts[i] > off }) - 1
		n, err := b.files[i].ReadAt(p, off-b.starts[i])
		read, off, p = read+n, off+int64(n), p[n:]
		if err != nil && err != io.EOF {
			return read, err
		}
		if n == 0 && err == io.EOF {
			return read, io.ErrUnexpectedEOF
		}
	}
	return read, nil
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadAt(p, b.pos)
	b.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Close closes the files. They were only read, so there is no error worth reporting.
func (b *body) Close() {
	for _, f := range b.files {
		_ = f.Close() // read-only: no write a failed close could lose
	}
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func quotedETag(sum []byte) string { return `"` + strings.ToUpper(hex.EncodeToString(sum)) + `"` }

// objectFromRequest takes the stored headers of a new object from a request.
func objectFromRequest(h http.Header) *object {
	o := &object{
		contentType: h.Get("Content-Type"),
		headers:     map[string]string{},
		meta:        map[string]string{},
		acl:         aclDefault,
		objectType:  "Normal",
	}
	if o.contentType == "" {
		o.contentType = "application/octet-stream"
	}
	for _, k := range []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Expires"} {
		if v := h.Get(k); v != "" {
			o.headers[k] = v
		}
	}
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-meta-") && len(v) > 0 {
			o.meta[strings.TrimPrefix(lk, "x-oss-meta-")] = v[0]
		}
	}
	if acl := h.Get("x-oss-object-acl"); acl != "" {
		o.acl = acl
	}
	return o
}

// effectiveACL is the object's ACL, or its bucket's when the object's is default.
func effectiveACL(b *bucket, o *object) string {
	if o == nil || o.acl == aclDefault {
		return b.acl
	}
	return o.acl
}

// canRead reports whether the caller may read the bucket's listing (o nil) or an object.
func canRead(a *ossAuth, b *bucket, o *object) bool {
	if a.caller != nil && a.caller.account == b.owner {
		return true
	}
	acl := effectiveACL(b, o)
	return acl == aclPublicRead || acl == aclPublicReadWrite
}

// canWrite reports whether an authenticated caller may write objects into the bucket.
func canWrite(a *ossAuth, b *bucket) bool {
	if a.caller == nil {
		return false
	}
	return a.caller.account == b.owner || b.acl == aclPublicReadWrite
}

// isOwner reports whether the caller owns the bucket (management operations).
func isOwner(a *ossAuth, b *bucket) bool { return a.caller != nil && a.caller.account == b.owner }

func errDenied(a *ossAuth) *ossError {
	if a.caller == nil {
		return errAccessDenied("You have no right to access this object because of bucket acl.")
	}
	return errAccessDenied("You have no right to access this bucket or object.")
}

// lookupBucket finds a bucket for a request and checks that a V4 request was signed for the
// bucket's region, and that a request on a regional endpoint is in the bucket's region, as a
// regional OSS endpoint does. Callers hold s.mu.
func (s *Server) lookupBucket(o *ossReq) (*bucket, *ossError) {
	b, ok := s.buckets[o.bucket]
	if !ok {
		return nil, errNoSuchBucket(o.bucket)
	}
	want := o.auth.region
	if want == "" {
		want = endpointRegion(o.r.Context())
	}
	if want != "" && want != b.region {
		return nil, errAccessDenied("The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.").
			with("Bucket", b.name).with("Endpoint", "oss-"+b.region+".aliyuncs.com")
	}
	o.c.region = b.region
	return b, nil
}

// ownedBucket is lookupBucket for operations only the bucket's owner may do.
func (s *Server) ownedBucket(o *ossReq) (*bucket, *ossError) {
	b, e := s.lookupBucket(o)
	if e != nil {
		return nil, e
	}
	if !isOwner(o.auth, b) {
		return nil, errDenied(o.auth)
	}
	return b, nil
}
