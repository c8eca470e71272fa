package sim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// v1SubResources are the query parameters an OSS V1 signature covers (besides every x-oss-*
// parameter), from the OSS "Include a V1 signature in the Authorization header" page. Any other
// parameter (prefix, marker, max-keys, encoding-type, list-type, …) is not signed.
var v1SubResources = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`
		acl uploads location cors logging website referer lifecycle delete append tagging
		objectMeta uploadId partNumber security-token position img style styleName replication
		replicationProgress replicationLocation cname bucketInfo comp qos live status vod
		startTime endTime symlink x-oss-process response-content-type x-oss-traffic-limit
		response-content-language response-expires response-cache-control
		response-content-disposition response-content-encoding udf udfName udfImage udfId
		udfImageDesc udfApplication udfApplicationLog restore callback callback-var qosInfo
		policy stat encryption versions versioning versionId requestPayment
		x-oss-request-payer sequential inventory inventoryId continuation-token asyncFetch
		worm wormId wormExtend withHashContext x-oss-enable-md5 x-oss-enable-sha1
		x-oss-enable-sha256 x-oss-hash-ctx x-oss-md5-ctx transferAcceleration regionList
		cloudboxes x-oss-ac-source-ip x-oss-ac-subnet-mask x-oss-ac-vpc-id
		x-oss-ac-forward-allow metaQuery resourceGroup rtc x-oss-async-process responseHeader`) {
		v1SubResources[k] = true
	}
}

// v1StringToSign builds VERB \n Content-MD5 \n Content-Type \n date \n
// CanonicalizedOSSHeaders CanonicalizedResource, where date is the Date header (header
// signatures) or the Expires parameter (presigned URLs).
func v1StringToSign(r *http.Request, q url.Values, date, bucket, key string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-MD5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(date + "\n")
	b.WriteString(canonicalOSSHeaders(r.Header, nil))
	b.WriteString("/")
	if bucket != "" {
		b.WriteString(bucket + "/")
	}
	b.WriteString(key)
	var subs []string
	for k := range q {
		if v1SubResources[k] || strings.HasPrefix(k, "x-oss-") {
			subs = append(subs, k)
		}
	}
	sort.Strings(subs)
	for i, k := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

// canonicalOSSHeaders renders "name:value\n" for every x-oss-* header (and the extra names),
// lower-cased and sorted, several values trimmed and joined with commas.
func canonicalOSSHeaders(h http.Header, extra map[string]bool) string {
	var names []string
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") || extra[lk] {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		vals := h.Values(k)
		trimmed := make([]string, len(vals))
		for i, v := range vals {
			trimmed[i] = strings.TrimSpace(v)
		}
		b.WriteString(k + ":" + strings.Join(trimmed, ",") + "\n")
	}
	return b.String()
}

// v1Signature is Base64(HMAC-SHA1(secret, stringToSign)).
func v1Signature(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
