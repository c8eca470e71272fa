package sim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// RPC API versions the emulator serves.
const (
	ecsVersion = "2014-05-26"
	stsVersion = "2015-04-01"
)

const (
	rpcMaxSkew      = 15 * time.Minute
	rpcMaxFormBytes = 1 << 20
	rpcTimeFormat   = "2006-01-02T15:04:05Z"
)

// rpcService is one RPC product: its actions by name.
type rpcService struct {
	name    string // journal and fault service name
	product string // as in the Recommend URL
	actions map[string]rpcHandler
}

// rpcCall is one authenticated RPC request as an action handler sees it.
type rpcCall struct {
	Action    string
	Version   string
	RegionID  string
	Params    map[string]string // every request parameter except Signature
	Caller    *principal
	RequestID string
	Now       time.Time // by Config.Clock
}

// rpcHandler serves one action. It returns the response body (marshalled to JSON; RequestId is
// added when the body lacks it) or an error answered in the RPC error format.
type rpcHandler func(*rpcCall) (any, *rpcError)

// rpcError is an RPC error answer.
type rpcError struct {
	Status  int
	Code    string
	Message string
}

func (e *rpcError) Error() string { return e.Code + ": " + e.Message }

// registerRPC adds an action to the product served under version.
func (s *Server) registerRPC(version, action string, h rpcHandler) {
	svc, ok := s.rpc[version]
	if !ok {
		panic(fmt.Sprintf("sim: no RPC product with version %s", version))
	}
	svc.actions[action] = h
}

func errMissing(param string) *rpcError {
	return &rpcError{http.StatusBadRequest, "MissingParameter",
		fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied.", param)}
}

func errInvalidParam(param, msg string) *rpcError {
	return &rpcError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("The specified parameter %q is not valid: %s", param, msg)}
}

func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	c.requestID = rpcRequestID()
	query := r.URL.Query()
	version := query.Get("Version")
	svc := s.rpc[version]
	product := "Unknown"
	c.service = serviceRPC
	if svc != nil {
		c.service, product = svc.name, svc.product
	}
	c.action = query.Get("Action")
	fail := func(e *rpcError) { s.writeRPCError(w, r, c, product, e) }

	params, err := rpcParams(r)
	if err != nil {
		fail(&rpcError{http.StatusBadRequest, "InvalidParameter", err.Error()})
		return
	}
	c.region = params["RegionId"]
	c.accessKeyID = params["AccessKeyId"]
	if s.inject(w, r, c.service, c.action, func(k FaultKind) { fail(rpcFaultError(k)) }) {
		return
	}
	caller, e := s.authenticateRPC(r.Method, params)
	if e != nil {
		fail(e)
		return
	}
	if svc == nil {
		fail(&rpcError{http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid."})
		return
	}
	h, ok := svc.actions[c.action]
	if !ok {
		fail(&rpcError{http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
		return
	}
	delete(params, "Signature")
	resp, e := h(&rpcCall{
		Action: c.action, Version: version, RegionID: c.region, Params: params,
		Caller: caller, RequestID: c.requestID, Now: s.now(),
	})
	if e != nil {
		fail(e)
		return
	}
	body, err := rpcBody(resp, c.requestID)
	if err != nil {
		fail(&rpcError{http.StatusInternalServerError, "InternalError", "encoding the response: " + err.Error()})
		return
	}
	if c.lostAnswer {
		resetConnection(w)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", c.requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the status is sent: a failed write means the client left
}

// rpcParams merges the query with a form body; the SDK signs both together.
func rpcParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %v", err)
	}
	for k, v := range q {
		params[k] = v[0]
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return params, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")) // none or malformed: not a form
	if mt != "application/x-www-form-urlencoded" {
		return params, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, rpcMaxFormBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the form body: %v", err)
	}
	if len(raw) > rpcMaxFormBytes {
		return nil, fmt.Errorf("form body larger than %d bytes", rpcMaxFormBytes)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, fmt.Errorf("malformed form body: %v", err)
	}
	for k, v := range form {
		if _, inQuery := params[k]; !inQuery {
			params[k] = v[0]
		}
	}
	return params, nil
}

// authenticateRPC checks a V1 (HMAC-SHA1) signed RPC request.
func (s *Server) authenticateRPC(method string, p map[string]string) (*principal, *rpcError) {
	for _, name := range []string{"AccessKeyId", "Signature", "SignatureNonce", "Timestamp"} {
		if p[name] == "" {
			return nil, errMissing(name)
		}
	}
	if m := p["SignatureMethod"]; m != "HMAC-SHA1" {
		return nil, &rpcError{http.StatusBadRequest, "InvalidSignatureMethod",
			fmt.Sprintf("Specified signature method %q is not supported; use HMAC-SHA1.", m)}
	}
	if v := p["SignatureVersion"]; v != "1.0" {
		return nil, &rpcError{http.StatusBadRequest, "UnsupportedSignatureVersion",
			fmt.Sprintf("Specified signature version %q is not supported; use 1.0.", v)}
	}
	ts, err := time.Parse(rpcTimeFormat, p["Timestamp"])
	if err != nil {
		return nil, &rpcError{http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	now := s.now()
	if skew := now.Sub(ts); skew > rpcMaxSkew || skew < -rpcMaxSkew {
		return nil, &rpcError{http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	caller, ok := s.lookup(p["AccessKeyId"])
	if !ok {
		return nil, &rpcError{http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	token := p["SecurityToken"]
	switch {
	case caller.temporary() && !caller.tokenMatches(token), !caller.temporary() && token != "":
		return nil, &rpcError{http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey."}
	case caller.temporary() && !now.Before(caller.expires):
		return nil, &rpcError{http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."}
	}
	sts := rpcStringToSign(method, p)
	want := rpcSignature(caller.secret, sts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p["Signature"])) != 1 {
		return nil, &rpcError{http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:" + sts}
	}
	if !s.creds.useNonce(caller.accessKeyID, p["SignatureNonce"], now) {
		return nil, &rpcError{http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return caller, nil
}

func rpcFaultError(k FaultKind) *rpcError {
	switch k {
	case FaultThrottling:
		return &rpcError{http.StatusBadRequest, "Throttling", "Request was denied due to request throttling."}
	case FaultServiceUnavailable:
		return &rpcError{http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."}
	default:
		return &rpcError{http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error, exception or failure."}
	}
}

// rpcErrorBody is the POP gateway's JSON error.
type rpcErrorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func (s *Server) writeRPCError(w http.ResponseWriter, r *http.Request, c *call, product string, e *rpcError) {
	c.errCode = e.Code
	body, _ := json.Marshal(rpcErrorBody{ // strings only: always marshals
		RequestID: c.requestID,
		HostID:    r.Host,
		Code:      e.Code,
		Message:   e.Message,
		Recommend: fmt.Sprintf("https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s",
			url.QueryEscape(e.Code), product, c.requestID),
	})
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", c.requestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body) // the status is sent: a failed write means the client left
}

// rpcBody marshals a handler's response and adds RequestId when it is missing.
func rpcBody(resp any, requestID string) ([]byte, error) {
	raw, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("an RPC response must be a JSON object: %w", err)
	}
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	if _, ok := fields["RequestId"]; !ok {
		id, _ := json.Marshal(requestID) // a string always marshals
		fields["RequestId"] = id
		return json.Marshal(fields)
	}
	return raw, nil
}

// RPCActions returns the RPC actions the emulator implements, by product ("Ecs", "Sts"), sorted.
func (s *Server) RPCActions() map[string][]string {
	out := map[string][]string{}
	for _, svc := range s.rpc {
		for a := range svc.actions {
			out[svc.product] = append(out[svc.product], a)
		}
		sort.Strings(out[svc.product])
	}
	return out
}
