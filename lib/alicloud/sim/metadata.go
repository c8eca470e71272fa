package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	metadataTokenPath   = "/latest/api/token"
	metadataPrefix      = "/latest/meta-data/"
	roleCredentialsPath = metadataPrefix + "ram/security-credentials/"
	metadataTokenHeader = "X-Aliyun-Ecs-Metadata-Token"
	metadataTTLHeader   = "X-Aliyun-Ecs-Metadata-Token-Ttl-Seconds"
	metadataMaxTTL      = 21600 // seconds, as on ECS
	maxMetadataTokens   = 10_000
	// Role credentials live an hour and are replaced once less than half of that is left, so a
	// client that refreshes early gets new ones.
	roleCredentialLifetime = time.Hour
)

// isMetadataRequest tells metadata requests from OSS requests on a bucket named "latest": the
// metadata service is never signed.
func isMetadataRequest(r *http.Request) bool {
	if r.URL.Path != metadataTokenPath && !strings.HasPrefix(r.URL.Path, metadataPrefix) {
		return false
	}
	return r.Header.Get("Authorization") == "" && !hasOSSQueryAuth(r.URL.Query())
}

type metadataService struct {
	mu     sync.Mutex
	tokens map[string]time.Time // token → expiry
	order  []string
	roles  map[string]*principal // current credentials per role
}

func newMetadataService() *metadataService {
	return &metadataService{tokens: map[string]time.Time{}, roles: map[string]*principal{}}
}

func (m *metadataService) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens, m.order, m.roles = map[string]time.Time{}, nil, map[string]*principal{}
}

// metadataCredentials is the body of …/ram/security-credentials/<role> on ECS.
type metadataCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	Expiration      string `json:"Expiration"`
	SecurityToken   string `json:"SecurityToken"`
	LastUpdated     string `json:"LastUpdated"`
	Code            string `json:"Code"`
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	c.service = serviceMetadata
	path := r.URL.Path
	switch {
	case path == metadataTokenPath:
		c.action = "GetMetadataToken"
	case path == roleCredentialsPath:
		c.action = "ListRoles"
	case strings.HasPrefix(path, roleCredentialsPath):
		c.action = "GetRoleCredentials"
	default:
		c.action = "GetMetadata"
	}
	text := func(status int, body string) {
		if status >= 400 {
			c.errCode = http.StatusText(status)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body)) // the status is sent: a failed write means the client left
	}
	if s.inject(w, r, c.service, c.action, func(k FaultKind) {
		switch k {
		case FaultThrottling:
			text(http.StatusTooManyRequests, "Too Many Requests")
		case FaultServiceUnavailable:
			text(http.StatusServiceUnavailable, "Service Unavailable")
		default:
			text(http.StatusInternalServerError, "Internal Server Error")
		}
	}) {
		return
	}
	now := s.now()
	if path == metadataTokenPath {
		if r.Method != http.MethodPut {
			text(http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		ttl, err := strconv.Atoi(r.Header.Get(metadataTTLHeader))
		if err != nil || ttl < 1 || ttl > metadataMaxTTL {
			text(http.StatusBadRequest, "Bad Request: "+metadataTTLHeader+" must be 1.."+strconv.Itoa(metadataMaxTTL))
			return
		}
		text(http.StatusOK, s.meta.newToken(now.Add(time.Duration(ttl)*time.Second)))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		text(http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if token := r.Header.Get(metadataTokenHeader); token != "" && !s.meta.validToken(token, now) {
		text(http.StatusUnauthorized, "Unauthorized")
		return
	}
	switch {
	case path == roleCredentialsPath:
		if len(s.cfg.RAMRoles) == 0 {
			text(http.StatusNotFound, "Not Found")
			return
		}
		text(http.StatusOK, strings.Join(s.cfg.RAMRoles, "\n"))
	case strings.HasPrefix(path, roleCredentialsPath):
		role := strings.TrimPrefix(path, roleCredentialsPath)
		if !s.hasRole(role) {
			text(http.StatusNotFound, "Not Found")
			return
		}
		p := s.meta.roleCredentials(s, role, now)
		body, _ := json.Marshal(metadataCredentials{ // strings only: always marshals
			AccessKeyID:     p.accessKeyID,
			AccessKeySecret: p.secret,
			Expiration:      p.expires.Format(rpcTimeFormat),
			SecurityToken:   p.token,
			LastUpdated:     p.expires.Add(-roleCredentialLifetime).Format(rpcTimeFormat),
			Code:            "Success",
		})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body) // a failed write means the client left
	case path == metadataPrefix+"region-id":
		text(http.StatusOK, s.cfg.DefaultRegion)
	default:
		text(http.StatusNotFound, "Not Found")
	}
}

func (s *Server) hasRole(role string) bool {
	for _, r := range s.cfg.RAMRoles {
		if r == role {
			return true
		}
	}
	return false
}

func (m *metadataService) newToken(expires time.Time) string {
	token := randomAlnum(48)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[token] = expires
	m.order = append(m.order, token)
	for len(m.order) > maxMetadataTokens {
		delete(m.tokens, m.order[0])
		m.order = m.order[1:]
	}
	return token
}

func (m *metadataService) validToken(token string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.tokens[token]
	return ok && now.Before(exp)
}

// roleCredentials returns the role's current credentials, issuing new ones when they are past
// half their life. They belong to the account that owns the instance (the first credential).
func (m *metadataService) roleCredentials(s *Server, role string, now time.Time) *principal {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.roles[role]; ok && p.expires.Sub(now) > roleCredentialLifetime/2 {
		return p
	}
	arn := "acs:ram::" + s.owner.id + ":role/" + strings.ToLower(role)
	p := s.creds.issue(s.owner, arn, "ecs-instance", now.Add(roleCredentialLifetime).UTC().Truncate(time.Second))
	m.roles[role] = p
	return p
}
