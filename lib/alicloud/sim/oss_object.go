package sim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func md5Sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

func forbidOverwrite(h http.Header) bool {
	return strings.EqualFold(h.Get("x-oss-forbid-overwrite"), "true")
}

// putObject stores a body. With x-oss-forbid-overwrite: true the existence check and the
// publication happen under one lock, so of two concurrent creators exactly one wins.
func (s *Server) putObject(o *ossReq) *ossError {
	meta := objectFromRequest(o.r.Header)
	if !validObjectACL(meta.acl) {
		return errInvalidArgument("no such object access control exists", "x-oss-object-acl", meta.acl)
	}
	noOverwrite := forbidOverwrite(o.r.Header)
	// Fail fast before reading the body; the decisive checks repeat under the lock below.
	s.mu.Lock()
	b, e := s.lookupBucket(o)
	if e == nil && !canWrite(o.auth, b) {
		e = errDenied(o.auth)
	}
	if e == nil && noOverwrite && b.objects[o.key] != nil {
		e = errFileAlreadyExists(o.key)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}

	in, err := s.ingest(o.r.Body, maxObjectSize)
	if err != nil {
		return ingestError(err, maxObjectSize)
	}
	defer in.discard()
	if e := checkContentMD5(o.r.Header, in.md5); e != nil {
		return e
	}
	meta.size, meta.crc64 = in.size, in.crc
	meta.etag = quotedETag(in.md5)
	meta.contentMD5 = base64.StdEncoding.EncodeToString(in.md5)
	if e := s.commitObject(o, in, meta, noOverwrite); e != nil {
		return e
	}
	h := o.w.Header()
	h.Set("ETag", meta.etag)
	h.Set("Content-MD5", meta.contentMD5)
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(meta.crc64, 10))
	return o.writeEmpty(s, http.StatusOK)
}

// commitObject publishes an ingested body as o.key, replacing what was there unless
// noOverwrite. The old body file is removed; readers that opened it keep reading.
func (s *Server) commitObject(o *ossReq, in *ingested, meta *object, noOverwrite bool) *ossError {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookupBucket(o)
	if e != nil {
		return e
	}
	if !canWrite(o.auth, b) {
		return errDenied(o.auth)
	}
	old := b.objects[o.key]
	if noOverwrite && old != nil {
		return errFileAlreadyExists(o.key)
	}
	files, err := s.publish(in)
	if err != nil {
		return newOSSError(http.StatusInternalServerError, "InternalError", err.Error())
	}
	meta.files = files
	meta.lastModified = s.now().UTC().Truncate(time.Second)
	b.objects[o.key] = meta
	if old != nil {
		removeFiles(old.files)
	}
	return nil
}

// openObject finds an object the caller may read and opens its body.
func (s *Server) openObject(o *ossReq) (*object, *body, *ossError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookupBucket(o)
	if e != nil {
		return nil, nil, e
	}
	obj := b.objects[o.key]
	if obj == nil {
		if !canRead(o.auth, b, nil) {
			return nil, nil, errDenied(o.auth)
		}
		return nil, nil, errNoSuchKey(o.key)
	}
	if !canRead(o.auth, b, obj) {
		return nil, nil, errDenied(o.auth)
	}
	// Open under the lock so an overwrite cannot remove the file in between.
	f, err := openBody(obj)
	if err != nil {
		return nil, nil, newOSSError(http.StatusInternalServerError, "InternalError", "opening the object body: "+err.Error())
	}
	return obj, f, nil
}

// setObjectHeaders writes the headers GetObject and HeadObject share.
func setObjectHeaders(h http.Header, obj *object) {
	h.Set("Content-Type", obj.contentType)
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.lastModified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-oss-object-type", obj.objectType)
	h.Set("x-oss-storage-class", "Standard")
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(obj.crc64, 10))
	if obj.contentMD5 != "" {
		h.Set("Content-MD5", obj.contentMD5)
	}
	for k, v := range obj.headers {
		h.Set(k, v)
	}
	for k, v := range obj.meta {
		h.Set("x-oss-meta-"+k, v)
	}
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since.
// It returns 0 when the request proceeds, or the status to answer (304 or 412).
func checkConditions(h http.Header, obj *object) int {
	if v := h.Get("If-Match"); v != "" && !etagMatches(v, obj.etag) {
		return http.StatusPreconditionFailed
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && obj.lastModified.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if v := h.Get("If-None-Match"); v != "" && etagMatches(v, obj.etag) {
		return http.StatusNotModified
	}
	if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !obj.lastModified.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.EqualFold(strings.Trim(v, `"`), strings.Trim(etag, `"`)) {
			return true
		}
	}
	return false
}

func conditionError(status int) *ossError {
	if status == http.StatusNotModified {
		return newOSSError(http.StatusNotModified, "NotModified", "The object was not modified.")
	}
	return newOSSError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
}

// byteRange is a resolved single range [start, start+length).
type byteRange struct{ start, length int64 }

// resolveRange applies OSS's Range rules. Without x-oss-range-behavior: standard an invalid or
// unsatisfiable range is ignored and the whole object returned (200). With it, an end past the
// object is clamped and a start past the end is 416 InvalidRange. Several ranges are 416.
func resolveRange(header string, size int64, standard bool) (*byteRange, *ossError) {
	if header == "" {
		return nil, nil
	}
	invalid := func() (*byteRange, *ossError) {
		if standard {
			return nil, newOSSError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied.").
				with("RangeRequested", header).with("ActualObjectSize", itoa(size))
		}
		return nil, nil
	}
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok {
		return nil, nil // not a byte range: ignored
	}
	if strings.Contains(spec, ",") {
		return nil, newOSSError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied: OSS does not support multiple ranges.").
			with("RangeRequested", header)
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return invalid()
	}
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return invalid()
		}
		if n > size {
			if !standard {
				return nil, nil
			}
			n = size
		}
		if n == 0 {
			return invalid()
		}
		return &byteRange{size - n, n}, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 || start >= size {
		return invalid()
	}
	end := size - 1
	if last != "" {
		end, err = strconv.ParseInt(last, 10, 64)
		if err != nil || end < start {
			return invalid()
		}
		if end >= size {
			if !standard {
				return nil, nil
			}
			end = size - 1
		}
	}
	return &byteRange{start, end - start + 1}, nil
}

// responseOverrides are the response-* parameters a signed GetObject may use.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func (s *Server) getObject(o *ossReq) *ossError {
	obj, f, e := s.openObject(o)
	if e != nil {
		return e
	}
	defer f.Close()
	if st := checkConditions(o.r.Header, obj); st != 0 {
		return conditionError(st)
	}
	standard := strings.EqualFold(o.r.Header.Get("x-oss-range-behavior"), "standard")
	rng, e := resolveRange(o.r.Header.Get("Range"), obj.size, standard)
	if e != nil {
		return e
	}
	h := o.w.Header()
	setObjectHeaders(h, obj)
	if o.auth.caller != nil {
		for param, header := range responseOverrides {
			if v := o.q.Get(param); v != "" {
				h.Set(header, v)
			}
		}
	}
	s.ossCommonHeaders(o.w, o.c)
	var body io.Reader = f
	status := http.StatusOK
	length := obj.size
	if rng != nil {
		body = io.NewSectionReader(f, rng.start, rng.length)
		length = rng.length
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.start, rng.start+rng.length-1, obj.size))
	}
	h.Set("Content-Length", itoa(length))
	o.w.WriteHeader(status)
	// The status is sent: a failed copy means the client left (or a file went bad), and the short
	// body is what the client sees of it.
	_, _ = io.CopyBuffer(o.w, io.LimitReader(body, length), make([]byte, 256<<10))
	return nil
}

func (s *Server) headObject(o *ossReq) *ossError {
	obj, f, e := s.openObject(o)
	if e != nil {
		return e
	}
	f.Close()
	if st := checkConditions(o.r.Header, obj); st != 0 {
		return conditionError(st)
	}
	setObjectHeaders(o.w.Header(), obj)
	s.ossCommonHeaders(o.w, o.c)
	o.w.Header().Set("Content-Length", itoa(obj.size))
	o.w.WriteHeader(http.StatusOK)
	return nil
}

// getObjectMeta is HEAD ?objectMeta: size, ETag, Last-Modified and CRC only.
func (s *Server) getObjectMeta(o *ossReq) *ossError {
	obj, f, e := s.openObject(o)
	if e != nil {
		return e
	}
	f.Close()
	h := o.w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.lastModified.Format(http.TimeFormat))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(obj.crc64, 10))
	h.Set("x-oss-last-access-time", obj.lastModified.Format(http.TimeFormat))
	s.ossCommonHeaders(o.w, o.c)
	h.Set("Content-Length", itoa(obj.size))
	o.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteObject is idempotent: deleting a missing key answers 204.
func (s *Server) deleteObject(o *ossReq) *ossError {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookupBucket(o)
	if e != nil {
		return e
	}
	if !canWrite(o.auth, b) {
		return errDenied(o.auth)
	}
	if obj := b.objects[o.key]; obj != nil {
		delete(b.objects, o.key)
		removeFiles(obj.files)
	}
	return o.writeEmpty(s, http.StatusNoContent)
}

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName      xml.Name     `xml:"DeleteResult"`
	EncodingType string       `xml:"EncodingType,omitempty"`
	Deleted      []deletedKey `xml:"Deleted"`
}

type deletedKey struct {
	Key string `xml:"Key"`
}

const maxDeleteObjects = 1000

func (s *Server) deleteMultipleObjects(o *ossReq) *ossError {
	body, err := io.ReadAll(io.LimitReader(o.r.Body, 2<<20+1))
	if err != nil || len(body) > 2<<20 {
		return errMalformedXML()
	}
	if e := checkContentMD5(o.r.Header, md5Sum(body)); e != nil {
		return e
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 {
		return errMalformedXML()
	}
	if len(req.Objects) > maxDeleteObjects {
		return newOSSError(http.StatusBadRequest, "MalformedXML", "At most 1000 objects can be deleted in one request.")
	}
	encode := o.q.Get("encoding-type") == "url"
	res := deleteResult{}
	if encode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	b, e := s.lookupBucket(o)
	if e == nil && !canWrite(o.auth, b) {
		e = errDenied(o.auth)
	}
	if e == nil {
		for _, obj := range req.Objects {
			if old := b.objects[obj.Key]; old != nil {
				delete(b.objects, obj.Key)
				removeFiles(old.files)
			}
			if !req.Quiet {
				res.Deleted = append(res.Deleted, deletedKey{Key: encodeIf(encode, obj.Key)})
			}
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, res)
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// parseCopySource reads x-oss-copy-source: /bucket/key, the key URL-encoded.
func parseCopySource(v string) (bucket, key string, e *ossError) {
	raw, _, _ := strings.Cut(v, "?") // ?versionId=: the emulator has no versions
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return "", "", errInvalidArgument("Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.", "x-oss-copy-source", v)
	}
	bucket, key = splitOSSPath(dec)
	if bucket == "" || key == "" {
		return "", "", errInvalidArgument("Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.", "x-oss-copy-source", v)
	}
	return bucket, key, nil
}

// openCopySource opens the source of a copy the caller may read, checking the
// x-oss-copy-source-if-* conditions.
func (s *Server) openCopySource(o *ossReq) (*object, *body, *ossError) {
	sb, sk, e := parseCopySource(o.r.Header.Get("x-oss-copy-source"))
	if e != nil {
		return nil, nil, e
	}
	// One OSS endpoint serves one region: the source must live in the destination's region.
	dstRegion, _ := s.BucketRegion(o.bucket)
	src := &ossReq{w: o.w, r: o.r, c: &call{}, q: o.q, bucket: sb, key: sk, auth: &ossAuth{caller: o.auth.caller, region: dstRegion}}
	obj, f, e := s.openObject(src)
	if e != nil {
		return nil, nil, e
	}
	cond := http.Header{}
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := o.r.Header.Get("x-oss-copy-source-" + strings.ToLower(k)); v != "" {
			cond.Set(k, v)
		}
	}
	if st := checkConditions(cond, obj); st != 0 {
		f.Close()
		return nil, nil, newOSSError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
	}
	return obj, f, nil
}

// copyObject copies a whole object (any bucket the caller may read) into this one.
func (s *Server) copyObject(o *ossReq) *ossError {
	directive := o.r.Header.Get("x-oss-metadata-directive")
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return errInvalidArgument("x-oss-metadata-directive must be COPY or REPLACE.", "x-oss-metadata-directive", directive)
	}
	src, f, e := s.openCopySource(o)
	if e != nil {
		return e
	}
	defer f.Close()
	if src.size > maxObjectSize {
		return newOSSError(http.StatusBadRequest, "EntityTooLarge", "The source object is larger than 5 GB: use UploadPartCopy.")
	}
	noOverwrite := forbidOverwrite(o.r.Header)
	in, err := s.ingest(f, maxObjectSize)
	if err != nil {
		return newOSSError(http.StatusInternalServerError, "InternalError", "copying the object body: "+err.Error())
	}
	defer in.discard()
	meta := &object{contentType: src.contentType, headers: src.headers, meta: src.meta, acl: aclDefault,
		objectType: src.objectType, etag: src.etag, contentMD5: src.contentMD5, size: in.size, crc64: in.crc}
	if directive == "REPLACE" {
		repl := objectFromRequest(o.r.Header)
		meta.contentType, meta.headers, meta.meta = repl.contentType, repl.headers, repl.meta
	}
	if acl := o.r.Header.Get("x-oss-object-acl"); acl != "" {
		if !validObjectACL(acl) {
			return errInvalidArgument("no such object access control exists", "x-oss-object-acl", acl)
		}
		meta.acl = acl
	}
	if e := s.commitObject(o, in, meta, noOverwrite); e != nil {
		return e
	}
	o.w.Header().Set("x-oss-hash-crc64ecma", strconv.FormatUint(meta.crc64, 10))
	return o.writeXML(s, copyObjectResult{ETag: meta.etag, LastModified: isoTime(meta.lastModified)})
}

func (s *Server) putObjectACL(o *ossReq) *ossError {
	acl := o.r.Header.Get("x-oss-object-acl")
	if !validObjectACL(acl) {
		return errInvalidArgument("no such object access control exists", "x-oss-object-acl", acl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.ownedBucket(o)
	if e != nil {
		return e
	}
	obj := b.objects[o.key]
	if obj == nil {
		return errNoSuchKey(o.key)
	}
	// Objects are copied on write: readers hold pointers outside the lock.
	updated := *obj
	updated.acl = acl
	b.objects[o.key] = &updated
	return o.writeEmpty(s, http.StatusOK)
}

func (s *Server) getObjectACL(o *ossReq) *ossError {
	s.mu.Lock()
	b, e := s.ownedBucket(o)
	var res accessControlPolicy
	if e == nil {
		if obj := b.objects[o.key]; obj == nil {
			e = errNoSuchKey(o.key)
		} else {
			res = accessControlPolicy{Owner: ownerOf(b.owner), Grant: obj.acl}
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, res)
}
