package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// adminPrefix starts the admin API. OSS bucket names cannot start with '_', so it never shadows
// a bucket.
const adminPrefix = "/_sim/"

const maxAdminBody = 64 << 10

// qpsRequest is the body of POST /_sim/qps.
type qpsRequest struct {
	Service string  `json:"service"`
	Action  string  `json:"action"`
	QPS     float64 `json:"qps"`
}

// serveAdmin is the unsigned admin API. It answers loopback callers only: anyone who can reach
// it can inject faults and read the journal.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !loopbackAddr(r.RemoteAddr) {
		adminJSON(w, http.StatusForbidden, map[string]string{"error": "the admin API answers loopback callers only"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case path == "faults" && r.Method == http.MethodPost:
		var j faultJSON
		if err := decodeStrict(r.Body, &j); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		f, err := j.fault()
		if err == nil {
			var id string
			if id, err = s.addFault(f); err == nil {
				adminJSON(w, http.StatusCreated, map[string]string{"id": id})
				return
			}
		}
		adminError(w, http.StatusBadRequest, err)
	case path == "faults" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.faults.list())
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "faults/") && r.Method == http.MethodDelete:
		if !s.RemoveFault(strings.TrimPrefix(path, "faults/")) {
			adminError(w, http.StatusNotFound, fmt.Errorf("no fault %q", strings.TrimPrefix(path, "faults/")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "qps" && r.Method == http.MethodPost:
		var q qpsRequest
		if err := decodeStrict(r.Body, &q); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		switch q.Service {
		case serviceOSS, serviceECS, serviceSTS, serviceMetadata:
		default:
			adminError(w, http.StatusBadRequest, fmt.Errorf("qps service %q: want oss, ecs, sts or metadata", q.Service))
			return
		}
		s.SetQPS(q.Service, q.Action, q.QPS)
		w.WriteHeader(http.StatusNoContent)
	case path == "journal" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.Journal())
	case path == "accounts" && r.Method == http.MethodGet:
		type acct struct {
			AccessKeyID string `json:"access_key_id"`
			AccountID   string `json:"account_id"`
		}
		out := []acct{}
		for _, c := range s.cfg.Credentials {
			out = append(out, acct{AccessKeyID: c.AccessKeyID, AccountID: s.accounts[c.AccessKeyID].id})
		}
		adminJSON(w, http.StatusOK, out)
	case strings.HasPrefix(path, "ecs/"):
		s.serveECSAdmin(w, r, strings.TrimPrefix(path, "ecs/"))
	case path == "reset" && r.Method == http.MethodPost:
		s.Reset()
		if r.URL.Query().Get("state") == "true" {
			if err := s.ResetState(); err != nil {
				adminError(w, http.StatusInternalServerError, err)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		adminError(w, http.StatusNotFound, fmt.Errorf("no admin route %s %s", r.Method, r.URL.Path))
	}
}

func decodeStrict(body io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding the request body: %w", err)
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // the status is sent: a failed write means the client left
}

func adminError(w http.ResponseWriter, status int, err error) {
	adminJSON(w, status, map[string]string{"error": err.Error()})
}

func loopbackAddr(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// copyFailureRequest is the body of POST /_sim/ecs/copy-failures.
type copyFailureRequest struct {
	Region string `json:"region"`
	Count  int    `json:"count"`
}

// visibilityRequest is the body of POST /_sim/ecs/visibility-delay.
type visibilityRequest struct {
	Delay json.RawMessage `json:"delay"`
}

// stockRequest is the body of POST /_sim/ecs/stock.
type stockRequest struct {
	Zone         string `json:"zone"`
	InstanceType string `json:"instance_type"`
	InStock      bool   `json:"in_stock"`
}

func (s *Server) serveECSAdmin(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "copy-failures" && r.Method == http.MethodPost:
		var q copyFailureRequest
		if err := decodeStrict(r.Body, &q); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.FailCopyTo(q.Region, q.Count); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "copy-failures" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.CopyFailures())
	case path == "visibility-delay" && r.Method == http.MethodPost:
		var q visibilityRequest
		if err := decodeStrict(r.Body, &q); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		d, err := parseJSONDuration(q.Delay)
		if err == nil && d < 0 {
			err = fmt.Errorf("delay must not be negative")
		}
		if err != nil {
			adminError(w, http.StatusBadRequest, fmt.Errorf("visibility delay: %w", err))
			return
		}
		s.SetImageVisibilityDelay(d)
		w.WriteHeader(http.StatusNoContent)
	case path == "stock" && r.Method == http.MethodPost:
		var q stockRequest
		if err := decodeStrict(r.Body, &q); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetStock(q.Zone, q.InstanceType, q.InStock); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "stock" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.Zones())
	case path == "image-events" && r.Method == http.MethodGet:
		adminJSON(w, http.StatusOK, s.ImageEvents())
	default:
		adminError(w, http.StatusNotFound, fmt.Errorf("no admin route %s %s", r.Method, r.URL.Path))
	}
}
