package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
)

// ossError is an OSS error answer: <Error><Code/><Message/><RequestId/><HostId/>…<EC/></Error>.
type ossError struct {
	status  int
	code    string
	message string
	ec      string // OSS's error-center code, when known from the OSS error pages
	fields  []xmlField
}

type xmlField struct{ name, value string }

func (e *ossError) Error() string { return e.code + ": " + e.message }

// with adds an element after HostId, as OSS does for Key, BucketName, StringToSign and the like.
func (e *ossError) with(name, value string) *ossError {
	e.fields = append(e.fields, xmlField{name, value})
	return e
}

func newOSSError(status int, code, message string) *ossError {
	return &ossError{status: status, code: code, message: message}
}

func errNoSuchBucket(bucket string) *ossError {
	e := newOSSError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.").with("BucketName", bucket)
	e.ec = "0015-00000101"
	return e
}

func errNoSuchKey(key string) *ossError {
	e := newOSSError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.").with("Key", key)
	e.ec = "0026-00000001"
	return e
}

func errNoSuchUpload(id string) *ossError {
	return newOSSError(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.").with("UploadId", id)
}

func errAccessDenied(message string) *ossError {
	return newOSSError(http.StatusForbidden, "AccessDenied", message)
}

func errInvalidArgument(message, name, value string) *ossError {
	return newOSSError(http.StatusBadRequest, "InvalidArgument", message).with("ArgumentName", name).with("ArgumentValue", value)
}

func errMalformedXML() *ossError {
	return newOSSError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
}

func errInvalidDigest(ec string) *ossError {
	e := newOSSError(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
	e.ec = ec
	return e
}

func errFileAlreadyExists(key string) *ossError {
	return newOSSError(http.StatusConflict, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.").with("Key", key)
}

// ossFaultError is the answer of an injected error fault. Throttling follows the OSS 503 error
// page: management (bucket) operations are limited as MetaOperationQpsLimitExceeded, data
// operations as TotalQpsLimitExceeded.
func ossFaultError(kind FaultKind, action string) *ossError {
	switch kind {
	case FaultThrottling:
		if ossMetaOperations[action] {
			return newOSSError(http.StatusServiceUnavailable, "MetaOperationQpsLimitExceeded", "Qps limit for the meta operation is exceeded.")
		}
		return newOSSError(http.StatusServiceUnavailable, "TotalQpsLimitExceeded", "Max total qps limit is exceeded.")
	case FaultServiceUnavailable:
		return newOSSError(http.StatusServiceUnavailable, "ServiceUnavailable", "Thread pool is almost full, please retry later.")
	default:
		return newOSSError(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	}
}

var ossMetaOperations = map[string]bool{
	"ListBuckets": true, "PutBucket": true, "DeleteBucket": true, "GetBucketInfo": true,
	"GetBucketLocation": true, "GetBucketAcl": true, "PutBucketAcl": true,
}

// ossErrorXML renders the error document.
func ossErrorXML(e *ossError, requestID, hostID string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error>\n")
	el := func(name, value string) {
		b.WriteString("  <" + name + ">")
		_ = xml.EscapeText(&b, []byte(value)) // a bytes.Buffer never fails a write
		b.WriteString("</" + name + ">\n")
	}
	el("Code", e.code)
	el("Message", e.message)
	el("RequestId", requestID)
	el("HostId", hostID)
	for _, f := range e.fields {
		el(f.name, f.value)
	}
	if e.ec != "" {
		el("EC", e.ec)
	}
	b.WriteString("</Error>\n")
	return b.Bytes()
}

// writeOSSError answers an error. A HEAD answer has no body, so the document travels base64
// encoded in x-oss-err, where the SDK looks for it.
func (s *Server) writeOSSError(w http.ResponseWriter, r *http.Request, c *call, e *ossError) {
	c.errCode = e.code
	body := ossErrorXML(e, c.requestID, r.Host)
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Md5", "X-Oss-Hash-Crc64ecma", "Content-Range"} {
		h.Del(k)
	}
	s.ossCommonHeaders(w, c)
	h.Set("Content-Type", "application/xml")
	if e.ec != "" {
		h.Set("x-oss-ec", e.ec)
	}
	if r.Method == http.MethodHead || e.status == http.StatusNotModified {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		w.WriteHeader(e.status)
		return
	}
	h.Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(e.status)
	_, _ = w.Write(body) // the status is sent: a failed write means the client left
}
