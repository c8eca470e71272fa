package sim

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ossReq is one OSS request being served.
type ossReq struct {
	w      http.ResponseWriter
	r      *http.Request
	c      *call
	q      url.Values
	bucket string
	key    string
	auth   *ossAuth
}

type ossHandler func(s *Server, o *ossReq) *ossError

// ossOperations maps an operation name to its handler.
var ossOperations map[string]ossHandler

func init() {
	ossOperations = map[string]ossHandler{
		"ListBuckets":             (*Server).listBuckets,
		"PutBucket":               (*Server).putBucket,
		"DeleteBucket":            (*Server).deleteBucket,
		"HeadBucket":              (*Server).headBucket,
		"GetBucketInfo":           (*Server).getBucketInfo,
		"GetBucketLocation":       (*Server).getBucketLocation,
		"GetBucketAcl":            (*Server).getBucketACL,
		"PutBucketAcl":            (*Server).putBucketACL,
		"ListObjects":             (*Server).listObjects,
		"ListObjectsV2":           (*Server).listObjectsV2,
		"DeleteMultipleObjects":   (*Server).deleteMultipleObjects,
		"PutObject":               (*Server).putObject,
		"CopyObject":              (*Server).copyObject,
		"GetObject":               (*Server).getObject,
		"HeadObject":              (*Server).headObject,
		"GetObjectMeta":           (*Server).getObjectMeta,
		"DeleteObject":            (*Server).deleteObject,
		"PutObjectAcl":            (*Server).putObjectACL,
		"GetObjectAcl":            (*Server).getObjectACL,
		"InitiateMultipartUpload": (*Server).initiateMultipartUpload,
		"UploadPart":              (*Server).uploadPart,
		"UploadPartCopy":          (*Server).uploadPart,
		"CompleteMultipartUpload": (*Server).completeMultipartUpload,
		"AbortMultipartUpload":    (*Server).abortMultipartUpload,
		"ListParts":               (*Server).listParts,
		"ListMultipartUploads":    (*Server).listMultipartUploads,
	}
}

// ossOperation names the operation a request asks for, from its method, path and sub-resources.
// "" means the emulator does not implement it.
func ossOperation(r *http.Request, q url.Values, bucket, key string) string {
	m := r.Method
	copySource := r.Header.Get("x-oss-copy-source") != ""
	switch {
	case bucket == "":
		if m == http.MethodGet {
			return "ListBuckets"
		}
	case key == "":
		switch m {
		case http.MethodPut:
			if q.Has("acl") {
				return "PutBucketAcl"
			}
			if hasOtherSubresource(q) {
				return ""
			}
			return "PutBucket"
		case http.MethodDelete:
			if hasOtherSubresource(q) {
				return ""
			}
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodGet:
			switch {
			case q.Has("acl"):
				return "GetBucketAcl"
			case q.Has("bucketInfo"):
				return "GetBucketInfo"
			case q.Has("location"):
				return "GetBucketLocation"
			case q.Has("uploads"):
				return "ListMultipartUploads"
			case hasOtherSubresource(q):
				return ""
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			default:
				return "ListObjects"
			}
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteMultipleObjects"
			}
		}
	default:
		switch m {
		case http.MethodPut:
			switch {
			case q.Has("acl"):
				return "PutObjectAcl"
			case q.Has("uploadId") && q.Has("partNumber"):
				if copySource {
					return "UploadPartCopy"
				}
				return "UploadPart"
			case hasOtherSubresource(q):
				return ""
			case copySource:
				return "CopyObject"
			default:
				return "PutObject"
			}
		case http.MethodGet:
			switch {
			case q.Has("acl"):
				return "GetObjectAcl"
			case q.Has("uploadId"):
				return "ListParts"
			case hasOtherSubresource(q):
				return ""
			default:
				return "GetObject"
			}
		case http.MethodHead:
			if q.Has("objectMeta") {
				return "GetObjectMeta"
			}
			return "HeadObject"
		case http.MethodDelete:
			if q.Has("uploadId") {
				return "AbortMultipartUpload"
			}
			if hasOtherSubresource(q) {
				return ""
			}
			return "DeleteObject"
		case http.MethodPost:
			switch {
			case q.Has("uploads"):
				return "InitiateMultipartUpload"
			case q.Has("uploadId"):
				return "CompleteMultipartUpload"
			}
		}
	}
	return ""
}

// hasOtherSubresource reports a signed sub-resource that selects an operation the emulator
// does not implement (cors, lifecycle, tagging, append, symlink, …), so such a request is
// refused instead of being mistaken for a plain object or bucket operation.
func hasOtherSubresource(q url.Values) bool {
	for k := range q {
		if v1SubResources[k] && !plainSubresources[k] {
			return true
		}
	}
	return false
}

// plainSubresources are signed parameters that do not select a different operation.
var plainSubresources = map[string]bool{
	"security-token": true, "continuation-token": true, "versionId": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"x-oss-traffic-limit": true, "x-oss-request-payer": true,
}

func (s *Server) serveOSS(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	c.service = serviceOSS
	c.requestID = ossRequestID()
	q := r.URL.Query()
	bucket, key := splitOSSPath(r.URL.Path)
	c.bucket, c.key = bucket, key
	c.action = ossOperation(r, q, bucket, key)
	c.accessKeyID = claimedOSSAccessKey(r, q)
	fail := func(e *ossError) { s.writeOSSError(w, r, c, e) }
	if c.action == "" {
		c.action = "Unsupported"
	}
	if s.inject(w, r, serviceOSS, c.action, func(k FaultKind) { fail(ossFaultError(k, c.action)) }) {
		return
	}
	if c.bandwidth > 0 {
		r.Body = &slowBody{ReadCloser: r.Body, pace: newPace(c.bandwidth, r.Context(), s.done)}
		w = &slowWriter{ResponseWriter: w, pace: newPace(c.bandwidth, r.Context(), s.done)}
	}
	if c.lostAnswer {
		// The operation runs in full; its answer goes nowhere and the connection is reset.
		original := w
		w = &discardWriter{header: http.Header{}}
		defer resetConnection(original)
	}
	auth, e := s.authenticateOSS(r, q, bucket, key)
	if e != nil {
		fail(e)
		return
	}
	c.region = auth.region
	h, ok := ossOperations[c.action]
	if !ok {
		fail(newOSSError(http.StatusNotImplemented, "NotImplemented", "The emulator does not implement this operation: "+r.Method+" "+r.URL.Path))
		return
	}
	if bucket != "" && c.action != "PutBucket" && !validBucketName(bucket) {
		fail(newOSSError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.").with("BucketName", bucket))
		return
	}
	if key != "" {
		if e := validateKey(key); e != nil {
			fail(e)
			return
		}
	}
	if e := h(s, &ossReq{w: w, r: r, c: c, q: q, bucket: bucket, key: key, auth: auth}); e != nil {
		fail(e)
	}
}

// splitOSSPath splits a path-style request path into bucket and key.
func splitOSSPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// claimedOSSAccessKey is the access key id a request names, for the journal.
func claimedOSSAccessKey(r *http.Request, q url.Values) string {
	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, "OSS "):
		id, _, _ := strings.Cut(strings.TrimPrefix(authz, "OSS "), ":")
		return id
	case strings.HasPrefix(authz, v4Algorithm+" "):
		if f, err := parseV4Authorization(authz); err == nil {
			id, _, _ := strings.Cut(f.credential, "/")
			return id
		}
	case q.Get("OSSAccessKeyId") != "":
		return q.Get("OSSAccessKeyId")
	case q.Get("x-oss-credential") != "":
		id, _, _ := strings.Cut(q.Get("x-oss-credential"), "/")
		return id
	}
	return ""
}

// validBucketName follows the OSS naming rules: 3 to 63 lower-case letters, digits and
// hyphens, starting and ending with a letter or digit.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'; !ok {
			return false
		}
	}
	return true
}

// validateKey follows the OSS object naming rules: 1 to 1023 bytes of UTF-8 that do not start
// with / or \.
func validateKey(key string) *ossError {
	switch {
	case len(key) > 1023:
		return newOSSError(http.StatusBadRequest, "InvalidObjectName", "The Length of Object name must be less than 1024.")
	case strings.HasPrefix(key, "/") || strings.HasPrefix(key, `\`) || !utf8.ValidString(key):
		return newOSSError(http.StatusBadRequest, "InvalidObjectName", "The specified object is not valid.")
	}
	return nil
}

// ossCommonHeaders are on every OSS answer.
func (s *Server) ossCommonHeaders(w http.ResponseWriter, c *call) {
	h := w.Header()
	h.Set("Server", "AliyunOSS")
	h.Set("x-oss-request-id", c.requestID)
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
}

// writeXML answers 200 with an XML document.
func (o *ossReq) writeXML(s *Server, v any) *ossError {
	body, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return newOSSError(http.StatusInternalServerError, "InternalError", "encoding the answer: "+err.Error())
	}
	body = append([]byte(xml.Header), body...)
	s.ossCommonHeaders(o.w, o.c)
	o.w.Header().Set("Content-Type", "application/xml")
	o.w.Header().Set("Content-Length", itoa(int64(len(body))))
	o.w.WriteHeader(http.StatusOK)
	_, _ = o.w.Write(body) // the status is sent: a failed write means the client left
	return nil
}

// writeEmpty answers with no body.
func (o *ossReq) writeEmpty(s *Server, status int) *ossError {
	s.ossCommonHeaders(o.w, o.c)
	o.w.Header().Set("Content-Length", "0")
	o.w.WriteHeader(status)
	return nil
}

// encodeIf applies encoding-type=url to a value in a listing.
func encodeIf(encode bool, v string) string {
	if encode {
		return url.QueryEscape(v)
	}
	return v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// isoTime is the time format of OSS XML documents.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
