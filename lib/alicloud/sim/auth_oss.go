package sim

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	ossMaxSkew          = 15 * time.Minute
	ossMaxPresignExpiry = 7 * 24 * time.Hour
	signatureMismatch   = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)

// ossAuth is who an OSS request comes from.
type ossAuth struct {
	caller    *principal // nil: anonymous
	version   int        // 0 anonymous, 1 or 4
	region    string     // the V4 scope region; "" otherwise
	presigned bool
}

// hasOSSQueryAuth reports a presigned URL (V1 or V4).
func hasOSSQueryAuth(q url.Values) bool {
	return q.Has("OSSAccessKeyId") || q.Has("Signature") || q.Has("x-oss-signature-version") || q.Has("x-oss-signature")
}

// authenticateOSS checks the request's V1 or V4 signature (header or presigned query) and
// returns the caller; a request without any signature is anonymous.
func (s *Server) authenticateOSS(r *http.Request, q url.Values, bucket, key string) (*ossAuth, *ossError) {
	authz := r.Header.Get("Authorization")
	now := s.now()
	switch {
	case strings.HasPrefix(authz, v4Algorithm+" "):
		f, err := parseV4Authorization(authz)
		if err != nil {
			return nil, errInvalidArgument("Authorization header is invalid: "+err.Error(), "Authorization", authz)
		}
		// The signing time is x-oss-date; without it, the Date header as it was sent (the v1
		// SDK's V4 signer signs that).
		datetime := r.Header.Get("x-oss-date")
		t, err := time.Parse(v4DateTimeFormat, datetime)
		if datetime == "" {
			datetime = r.Header.Get("Date")
			t, err = http.ParseTime(datetime)
		}
		if err != nil {
			return nil, errAccessDenied("The x-oss-date header is missing or not in the yyyymmddTHHMMSSZ format.")
		}
		if e := checkSkew(t, now); e != nil {
			return nil, e
		}
		return s.checkV4(r, bucket, key, f, datetime, t.UTC().Format("20060102"), r.Header.Get("x-oss-security-token"), false)

	case strings.HasPrefix(authz, "OSS "):
		id, sig, ok := strings.Cut(strings.TrimPrefix(authz, "OSS "), ":")
		if !ok || id == "" || sig == "" {
			return nil, errInvalidArgument("Authorization header is invalid: want OSS AccessKeyId:Signature.", "Authorization", authz)
		}
		date := r.Header.Get("Date")
		t, err := http.ParseTime(date)
		if err != nil {
			return nil, errAccessDenied("The Date header is missing or not an HTTP date.")
		}
		if e := checkSkew(t, now); e != nil {
			return nil, e
		}
		return s.checkV1(r, q, bucket, key, id, sig, date, r.Header.Get("x-oss-security-token"), false)

	case authz != "":
		return nil, errInvalidArgument("Authorization header is invalid: want OSS or OSS4-HMAC-SHA256.", "Authorization", authz)

	case q.Has("x-oss-signature-version"):
		if v := q.Get("x-oss-signature-version"); v != v4Algorithm {
			return nil, errInvalidArgument("Unsupported signature version.", "x-oss-signature-version", v)
		}
		datetime := q.Get("x-oss-date")
		t, err := time.Parse(v4DateTimeFormat, datetime)
		if err != nil {
			return nil, errInvalidArgument("x-oss-date is missing or not in the yyyymmddTHHMMSSZ format.", "x-oss-date", datetime)
		}
		secs, err := strconv.ParseInt(q.Get("x-oss-expires"), 10, 64)
		if err != nil || secs <= 0 || time.Duration(secs)*time.Second > ossMaxPresignExpiry {
			return nil, errInvalidArgument("x-oss-expires must be 1 to 604800 seconds.", "x-oss-expires", q.Get("x-oss-expires"))
		}
		if t.Sub(now) > ossMaxSkew {
			return nil, errAccessDenied("The x-oss-date of the presigned URL is in the future.")
		}
		if expires := t.Add(time.Duration(secs) * time.Second); now.After(expires) {
			return nil, errAccessDenied("Request has expired.").
				with("Expires", expires.UTC().Format(time.RFC3339)).with("ServerTime", now.UTC().Format(time.RFC3339))
		}
		f := v4Fields{
			credential:        q.Get("x-oss-credential"),
			additionalHeaders: splitAdditionalHeaders(q.Get("x-oss-additional-headers")),
			signature:         q.Get("x-oss-signature"),
		}
		return s.checkV4(r, bucket, key, f, datetime, datetime[:8], q.Get("x-oss-security-token"), true)

	case q.Has("OSSAccessKeyId") || q.Has("Signature"):
		id, sig, exp := q.Get("OSSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
		if id == "" || sig == "" || exp == "" {
			return nil, errAccessDenied("A presigned URL needs OSSAccessKeyId, Expires and Signature.")
		}
		secs, err := strconv.ParseInt(exp, 10, 64)
		if err != nil {
			return nil, errInvalidArgument("Expires must be a Unix time in seconds.", "Expires", exp)
		}
		if expires := time.Unix(secs, 0); now.After(expires) {
			return nil, errAccessDenied("Request has expired.").
				with("Expires", expires.UTC().Format(time.RFC3339)).with("ServerTime", now.UTC().Format(time.RFC3339))
		}
		return s.checkV1(r, q, bucket, key, id, sig, exp, q.Get("security-token"), true)
	}
	return &ossAuth{}, nil
}

func checkSkew(t, now time.Time) *ossError {
	if d := now.Sub(t); d > ossMaxSkew || d < -ossMaxSkew {
		return newOSSError(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time and the current time is too large.").
			with("RequestTime", t.UTC().Format(time.RFC3339)).
			with("ServerTime", now.UTC().Format(time.RFC3339)).
			with("MaxAllowedSkewMilliseconds", "900000")
	}
	return nil
}

// principalFor resolves an access key id and checks the security token that comes with it.
func (s *Server) principalFor(accessKeyID, token string) (*principal, *ossError) {
	unknown := func() *ossError {
		e := newOSSError(http.StatusForbidden, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.").
			with("OSSAccessKeyId", accessKeyID)
		if strings.HasPrefix(accessKeyID, stsKeyPrefix) || token != "" {
			e.ec = "0002-00000002"
		}
		return e
	}
	p, ok := s.lookup(accessKeyID)
	switch {
	case !ok:
		return nil, unknown()
	// A token with a static key, or an STS key without one, names no credentials OSS knows.
	case p.temporary() != (token != ""):
		return nil, unknown()
	case p.temporary() && !p.tokenMatches(token):
		e := newOSSError(http.StatusForbidden, "InvalidSecurityToken", "The security token you provided is invalid.")
		e.ec = "0002-00000006"
		return nil, e
	case p.temporary() && !s.now().Before(p.expires):
		e := newOSSError(http.StatusForbidden, "SecurityTokenExpired", "The security token you provided has expired.")
		e.ec = "0002-00000007"
		return nil, e
	}
	return p, nil
}

func (s *Server) checkV1(r *http.Request, q url.Values, bucket, key, id, sig, date, token string, presigned bool) (*ossAuth, *ossError) {
	p, e := s.principalFor(id, token)
	if e != nil {
		return nil, e
	}
	sts := v1StringToSign(r, q, date, bucket, key)
	if subtle.ConstantTimeCompare([]byte(v1Signature(p.secret, sts)), []byte(sig)) != 1 {
		return nil, newOSSError(http.StatusForbidden, "SignatureDoesNotMatch", signatureMismatch+" server string to sign is:"+sts).
			with("OSSAccessKeyId", id).with("StringToSign", sts)
	}
	return &ossAuth{caller: p, version: 1, presigned: presigned}, nil
}

func (s *Server) checkV4(r *http.Request, bucket, key string, f v4Fields, datetime, day, token string, presigned bool) (*ossAuth, *ossError) {
	scope, err := parseV4Credential(f.credential)
	if err != nil {
		return nil, errInvalidArgument("Invalid credential: "+err.Error(), "Credential", f.credential)
	}
	if scope.product != "oss" {
		return nil, errInvalidArgument("Invalid signing product in the credential: want oss.", "Credential", f.credential)
	}
	if scope.date != day {
		return nil, errInvalidArgument("Invalid credential date: it is not the date of x-oss-date.", "Credential", f.credential)
	}
	if !s.regions[scope.region] {
		return nil, errInvalidArgument("Invalid signing region in the credential: "+scope.region+" is not a region.", "Credential", f.credential)
	}
	p, e := s.principalFor(scope.accessKeyID, token)
	if e != nil {
		return nil, e
	}
	canonical := v4CanonicalRequest(r, bucket, key, f.additionalHeaders)
	sts := v4StringToSign(datetime, scope, canonical)
	if subtle.ConstantTimeCompare([]byte(v4Signature(p.secret, scope, sts)), []byte(f.signature)) != 1 {
		return nil, newOSSError(http.StatusForbidden, "SignatureDoesNotMatch", signatureMismatch+" server string to sign is:"+sts).
			with("OSSAccessKeyId", scope.accessKeyID).with("StringToSign", sts).with("CanonicalRequest", canonical)
	}
	return &ossAuth{caller: p, version: 4, region: scope.region, presigned: presigned}, nil
}
