package sim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	stsDefaultDuration = time.Hour
	stsMaxDuration     = 12 * time.Hour
	stsMaxPolicyBytes  = 2048
)

var (
	roleArnPattern     = regexp.MustCompile(`^acs:ram::(\d+):role/([A-Za-z0-9.-]{1,64})$`)
	sessionNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]{2,64}$`)
)

// AssumeRole response shapes (services/sts in alibaba-cloud-sdk-go).
type stsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"`
}

type assumedRoleUser struct {
	Arn           string `json:"Arn"`
	AssumedRoleID string `json:"AssumedRoleId"`
}

type assumeRoleResponse struct {
	RequestID       string          `json:"RequestId"`
	AssumedRoleUser assumedRoleUser `json:"AssumedRoleUser"`
	Credentials     stsCredentials  `json:"Credentials"`
}

// assumeRole issues STS credentials to the caller's account. Any well-formed role ARN is accepted:
// the emulator has no RAM roles or trust policies to check.
func (s *Server) assumeRole(c *rpcCall) (any, *rpcError) {
	arn := c.Params["RoleArn"]
	if arn == "" {
		return nil, &rpcError{http.StatusBadRequest, "MissingRoleArn", "RoleArn is mandatory for this action."}
	}
	m := roleArnPattern.FindStringSubmatch(arn)
	if m == nil {
		return nil, &rpcError{http.StatusBadRequest, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."}
	}
	session := c.Params["RoleSessionName"]
	if session == "" {
		return nil, &rpcError{http.StatusBadRequest, "MissingRoleSessionName", "RoleSessionName is mandatory for this action."}
	}
	if !sessionNamePattern.MatchString(session) {
		return nil, &rpcError{http.StatusBadRequest, "InvalidParameter.RoleSessionName",
			"The parameter RoleSessionName is wrongly formed: 2 to 64 letters, digits, '.', '@', '-' or '_'."}
	}
	d := stsDefaultDuration
	if raw := c.Params["DurationSeconds"]; raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		d = time.Duration(n) * time.Second
		if err != nil || d < s.cfg.STSMinDuration || d > stsMaxDuration {
			return nil, &rpcError{http.StatusBadRequest, "InvalidParameter.DurationSeconds",
				fmt.Sprintf("The Min/Max value of DurationSeconds is %ds/%ds.", int64(s.cfg.STSMinDuration/time.Second), int64(stsMaxDuration/time.Second))}
		}
	}
	if p := c.Params["Policy"]; p != "" && (len(p) > stsMaxPolicyBytes || !json.Valid([]byte(p))) {
		return nil, &rpcError{http.StatusBadRequest, "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check."}
	}
	issued := s.creds.issue(c.Caller.account, arn, session, c.Now.Add(d).UTC().Truncate(time.Second))
	return assumeRoleResponse{
		RequestID: c.RequestID,
		AssumedRoleUser: assumedRoleUser{
			Arn:           arn + "/" + session,
			AssumedRoleID: roleID(m[1], strings.ToLower(m[2])) + ":" + session,
		},
		Credentials: stsCredentials{
			AccessKeyID:     issued.accessKeyID,
			AccessKeySecret: issued.secret,
			SecurityToken:   issued.token,
			Expiration:      issued.expires.Format(rpcTimeFormat),
		},
	}, nil
}

// roleID derives a stable 19-digit role id, the form RAM uses.
func roleID(account, role string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(account + "/" + role)) // a hash never fails a write
	return fmt.Sprintf("3%018d", h.Sum64()%1_000_000_000_000_000_000)
}
