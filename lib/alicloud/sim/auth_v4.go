package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

const (
	v4Algorithm       = "OSS4-HMAC-SHA256"
	v4DateTimeFormat  = "20060102T150405Z"
	v4Terminator      = "aliyun_v4_request"
	v4UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// v4Fields are the parts of a V4 Authorization header or presigned query.
type v4Fields struct {
	credential        string // AccessKeyId/date/region/product/aliyun_v4_request
	additionalHeaders []string
	signature         string
}

// parseV4Authorization reads "OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…".
func parseV4Authorization(h string) (v4Fields, error) {
	var f v4Fields
	for _, part := range strings.Split(strings.TrimPrefix(h, v4Algorithm+" "), ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return f, errors.New("malformed element " + part)
		}
		switch name {
		case "Credential":
			f.credential = value
		case "AdditionalHeaders":
			f.additionalHeaders = splitAdditionalHeaders(value)
		case "Signature":
			f.signature = value
		}
	}
	if f.credential == "" || f.signature == "" {
		return f, errors.New("Credential and Signature are required")
	}
	return f, nil
}

func splitAdditionalHeaders(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ";") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// v4Scope is the credential scope: date/region/product/aliyun_v4_request.
type v4Scope struct {
	accessKeyID, date, region, product string
}

func parseV4Credential(cred string) (v4Scope, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != v4Terminator || parts[0] == "" {
		return v4Scope{}, errors.New("want AccessKeyId/yyyymmdd/region/oss/aliyun_v4_request")
	}
	return v4Scope{accessKeyID: parts[0], date: parts[1], region: parts[2], product: parts[3]}, nil
}

func (sc v4Scope) String() string {
	return sc.date + "/" + sc.region + "/" + sc.product + "/" + v4Terminator
}

// v4CanonicalRequest builds
//
//	VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n AdditionalHeaders \n HashedPayload
//
// CanonicalURI is /bucket/key URI-encoded with '/' kept; CanonicalQuery is every parameter but
// x-oss-signature, names and values RFC 3986 encoded, sorted by name, "name" alone when the
// value is empty; CanonicalHeaders are x-oss-*, Content-Type, Content-MD5 and the additional
// headers, each as "name:value\n".
func v4CanonicalRequest(r *http.Request, bucket, key string, additional []string) string {
	uri := "/"
	if bucket != "" {
		uri += bucket + "/"
	}
	uri += key

	type pair struct{ k, v string }
	var pairs []pair
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = queryUnescapeLenient(k), queryUnescapeLenient(v)
		if k == "x-oss-signature" {
			continue
		}
		pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var query strings.Builder
	for i, p := range pairs {
		if i > 0 {
			query.WriteByte('&')
		}
		query.WriteString(p.k)
		if p.v != "" {
			query.WriteString("=" + p.v)
		}
	}

	extra := map[string]bool{"content-type": true, "content-md5": true}
	for _, h := range additional {
		extra[h] = true
	}
	headers := canonicalOSSHeaders(r.Header, extra)
	if extra["host"] {
		// net/http keeps Host out of the header map; put it back in sorted position.
		lines := strings.SplitAfter(headers, "\n")
		lines = append(lines[:len(lines)-1], "host:"+r.Host+"\n")
		sort.Strings(lines)
		headers = strings.Join(lines, "")
	}

	payload := r.Header.Get("x-oss-content-sha256")
	if payload == "" {
		payload = v4UnsignedPayload
	}
	return r.Method + "\n" + uriEncodePath(uri) + "\n" + query.String() + "\n" + headers + "\n" +
		strings.Join(additional, ";") + "\n" + payload
}

// v4StringToSign is OSS4-HMAC-SHA256 \n datetime \n scope \n hex(sha256(canonical request)).
func v4StringToSign(datetime string, scope v4Scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return v4Algorithm + "\n" + datetime + "\n" + scope.String() + "\n" + hex.EncodeToString(sum[:])
}

// v4Signature derives the signing key HMAC chain ("aliyun_v4"+secret, date, region, product,
// "aliyun_v4_request") and signs the string to sign, in lower-case hex.
func v4Signature(secret string, scope v4Scope, stringToSign string) string {
	key := []byte("aliyun_v4" + secret)
	for _, part := range []string{scope.date, scope.region, scope.product, v4Terminator, stringToSign} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	return hex.EncodeToString(key)
}

// uriEncodePath is RFC 3986 encoding that keeps '/'.
func uriEncodePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = percentEncode(s)
	}
	return strings.Join(segs, "/")
}

func queryUnescapeLenient(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
