package alicloud

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/problems"
)

// Cloud is the block every resource's source embeds: who we are, where the bucket lives, and
// where the APIs answer.
type Cloud struct {
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret" secret:"true"`
	SecurityToken   string `json:"security_token" secret:"true"`
	RAMRole         string `json:"ram_role"`
	Region          string `json:"region" required:"true"`
	Bucket          string `json:"bucket" required:"true"`
	Prefix          string `json:"prefix"`
	AssumeRoleARN   string `json:"assume_role_arn"`
	ECSEndpoint     string `json:"ecs_endpoint"`
	OSSEndpoint     string `json:"oss_endpoint"`
	STSEndpoint     string `json:"sts_endpoint"`
}

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
)

// Validate lists every problem with the block at once.
func (c Cloud) Validate() error {
	var found problems.List
	switch {
	case c.RAMRole != "" && (c.AccessKeyID != "" || c.AccessKeySecret != ""):
		found.Add("ram_role", "use either ram_role or access_key_id/access_key_secret, not both")
	case c.RAMRole == "" && c.AccessKeyID == "" && c.AccessKeySecret == "":
		found.Add("access_key_id", "missing: give access_key_id and access_key_secret, or ram_role to use the worker's ECS RAM role")
	case c.RAMRole == "" && c.AccessKeyID == "":
		found.Add("access_key_id", "missing: access_key_secret is set without it")
	case c.RAMRole == "" && c.AccessKeySecret == "":
		found.Add("access_key_secret", "missing: access_key_id is set without it")
	}
	if c.SecurityToken != "" && c.RAMRole != "" {
		found.Add("security_token", "goes with access keys from STS, not with ram_role")
	}
	if c.Region != "" && !regionPattern.MatchString(c.Region) {
		found.Add("region", "expected a region id such as cn-hangzhou, got %s", problems.Quote(c.Region))
	}
	if c.Bucket != "" && (!bucketPattern.MatchString(c.Bucket) || strings.Contains(c.Bucket, "--")) {
		found.Add("bucket", "expected an OSS bucket name (3-63 lowercase letters, digits and single hyphens, no hyphen at either end), got %s", problems.Quote(c.Bucket))
	}
	if c.Prefix != "" && !validPrefix(c.Prefix) {
		found.Add("prefix", "expected names of letters, digits, '-', '_' and '.' separated by '/', such as releases/ (no leading '/', no empty, '.' or '..' part), got %s", problems.Quote(c.Prefix))
	}
	if c.AssumeRoleARN != "" && !strings.HasPrefix(c.AssumeRoleARN, "acs:ram::") {
		found.Add("assume_role_arn", "expected a RAM role ARN such as acs:ram::123456789:role/ci, got %s", problems.Quote(c.AssumeRoleARN))
	}
	for _, e := range []struct{ key, value string }{
		{"ecs_endpoint", c.ECSEndpoint}, {"oss_endpoint", c.OSSEndpoint}, {"sts_endpoint", c.STSEndpoint},
	} {
		if e.value != "" {
			if _, err := parseEndpoint(e.value, "cn-hangzhou"); err != nil {
				found.Add(e.key, "%s", err)
			}
		}
	}
	return found.Err()
}

// IsRegionID reports whether s has the form of an Alibaba Cloud region id (cn-hangzhou,
// ap-southeast-1): the one check of every region a source or params names.
func IsRegionID(s string) bool { return regionPattern.MatchString(s) }

// prefixPart is one '/'-separated name of a key prefix.
var prefixPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// validPrefix accepts "releases/", "ci/light-stemcells" and refuses "/x", "../", "a//b", "./".
func validPrefix(prefix string) bool {
	for _, part := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
		if !prefixPart.MatchString(part) || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// Log is where the package reports progress and retries: the resource's redacting logger.
type Log interface {
	Printf(format string, args ...any)
	Warnf(format string, args ...any)
}

// Secrets learns credentials the package obtains at run time, so logs never show them.
type Secrets interface {
	Register(secrets ...string)
}

// Options tune a Session; the zero value is ready for production.
type Options struct {
	Log     Log
	Secrets Secrets
	Retry   RetryPolicy
	// CallTimeout bounds each try of a call that moves no bulk data (ECS, STS, the metadata
	// service; OSS heads, lists, records, locks); default 12s, so a call against an endpoint
	// that never answers fails within 80 s (see worstCase).
	CallTimeout time.Duration
	// StallTimeout ends a try of a transfer (an upload part, a download range, a large PUT) when
	// no byte has moved for this long; a transfer that moves is never cut short. Default 1m.
	StallTimeout time.Duration
	// MetadataURL is the ECS instance metadata service; empty means $ALIBABA_CLOUD_METADATA_URL,
	// then http://100.100.100.200.
	MetadataURL string
	// AssumeRoleDuration is how long assumed-role credentials last (the cache renews them well
	// before); default one hour.
	AssumeRoleDuration time.Duration
	// Clock is used for credential expiry; tests move it.
	Clock func() time.Time
}

// Discard is a Log that drops everything, for callers that want no progress.
var Discard Log = discard{}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Warnf(string, ...any)  {}
func (discard) Register(...string)    {}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = discard{}
	}
	if o.Secrets == nil {
		o.Secrets = discard{}
	}
	o.Retry = o.Retry.withDefaults()
	if o.CallTimeout <= 0 {
		o.CallTimeout = 12 * time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AssumeRoleDuration <= 0 {
		o.AssumeRoleDuration = time.Hour
	}
	return o
}

// endpoint is a parsed endpoint override.
type endpoint struct {
	scheme string // http or https
	host   string // host[:port]
	path   string
}

// parseEndpoint expands {region} and checks the result is an http(s) URL with a host.
func parseEndpoint(raw, region string) (endpoint, error) {
	expanded := strings.ReplaceAll(raw, "{region}", region)
	u, err := url.Parse(expanded)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return endpoint{}, fmt.Errorf("expected an http(s) URL such as http://127.0.0.1:18090 or https://oss-{region}-internal.aliyuncs.com, got %s", problems.Quote(raw))
	}
	if u.RawQuery != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("expected a URL without credentials or query, got %s", problems.Quote(raw))
	}
	return endpoint{scheme: u.Scheme, host: u.Host, path: strings.TrimRight(u.Path, "/")}, nil
}

func (e endpoint) String() string { return e.scheme + "://" + e.host + e.path }
