package alicloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// Error is a failed cloud call as a user needs to see it: which service and operation, the
// cloud's own code and message, and the request id to quote to Alibaba Cloud support.
type Error struct {
	Service   string // oss, ecs, sts, metadata
	Operation string // PutObject, AssumeRole, …
	Status    int    // HTTP status; 0 when no response came back
	Code      string // the cloud's error code, or a transport failure such as "ConnectionReset"
	Message   string
	RequestID string
	Attempts  int // how many times the call was tried
	cause     error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Service, e.Operation, e.Code)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + strings.TrimSuffix(e.Message, "."))
	}
	if e.RequestID != "" {
		b.WriteString(" [request id " + e.RequestID + "]")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.cause }

// HasCode reports whether err is a cloud error with one of the codes.
func HasCode(err error, codes ...string) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err says the object does not exist. A missing bucket is not a
// missing object: "version 1.0 is not published" would send a user looking for the wrong thing.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != "NoSuchBucket" && (e.Status == 404 || e.Code == "NoSuchKey")
}

// retryableCodes are the cloud codes worth another try; everything 5xx is too.
var retryableCodes = map[string]bool{
	"Throttling": true, "Throttling.User": true, "Throttling.Api": true, "Throttling.Resource": true,
	"ServiceUnavailable": true, "InternalError": true, "SlowDown": true, "RequestTimeout": true,
	"ServiceBusy": true, "RequestTimeTooSkewed": true, "Timeout": true,
}

// classify turns any error from an SDK or the network into an *Error and says whether trying
// again could help. A cancelled or expired context is never retryable.
func classify(service, operation string, err error) (*Error, bool) {
	var already *Error
	if errors.As(err, &already) {
		return already, already.Status >= 500 || already.Status == 429 || retryableCodes[already.Code]
	}
	e := &Error{Service: service, Operation: operation, cause: err}
	var ossErr *oss.ServiceError
	var serverErr *sdkerrors.ServerError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Code, e.Message = "Cancelled", withoutQuery(err.Error())
		return e, false
	case errors.Is(err, context.DeadlineExceeded):
		// A try's own deadline (or an SDK's client timeout): worth another try, which the retry
		// loops only make while the caller's context lasts.
		e.Code, e.Message = "Timeout", withoutQuery(err.Error())
		return e, true
	case errors.As(err, &ossErr):
		e.Status, e.Code, e.Message, e.RequestID = ossErr.StatusCode, ossErr.Code, ossErr.Message, ossErr.RequestID
	case errors.As(err, &serverErr):
		e.Status, e.Code, e.Message, e.RequestID = serverErr.HttpStatus(), serverErr.ErrorCode(), serverErr.Message(), serverErr.RequestId()
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		containsAny(err.Error(), "connection reset", "broken pipe", "use of closed network connection",
			"server closed idle connection", "transport connection broken"):
		e.Code, e.Message = "ConnectionReset", withoutQuery(err.Error())
		return e, true
	case strings.Contains(err.Error(), "crc is inconsistent"):
		e.Code, e.Message = "CRCMismatch", err.Error() // corrupted in transit: sending again helps
		return e, true
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused"):
		e.Code, e.Message = "ConnectionRefused", withoutQuery(err.Error())
		return e, true
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF"):
		e.Code, e.Message = "ConnectionClosed", withoutQuery(err.Error())
		return e, true
	case errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(err.Error(), "Timeout"), strings.Contains(err.Error(), "timeout"):
		e.Code, e.Message = "Timeout", withoutQuery(err.Error())
		return e, true
	default:
		e.Code, e.Message = "ClientError", withoutQuery(err.Error())
		return e, false
	}
	e.Message = withoutStringToSign(e.Message)
	return e, e.Status >= 500 || e.Status == 429 || retryableCodes[e.Code]
}

// withoutStringToSign drops the string to sign that a SignatureDoesNotMatch message quotes: it
// holds every request parameter, the security token among them, encoded in ways no redactor can
// know. The cause (a wrong secret) is in the code.
func withoutStringToSign(message string) string {
	if i := strings.Index(message, "server string to sign is:"); i >= 0 {
		return strings.TrimSpace(message[:i]) + " (the server's string to sign is left out: it quotes the request's credentials)"
	}
	return message
}

func asError(err error, target **Error) bool { return errors.As(err, target) }

func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// urlQuery matches the query of a URL quoted in a transport error: RPC requests carry every
// parameter there, an STS token and a signature among them.
var urlQuery = regexp.MustCompile(`(https?://[^\s"?]+)\?[^\s"]*`)

// withoutQuery keeps a failed request's address in a message but drops its query.
func withoutQuery(message string) string { return urlQuery.ReplaceAllString(message, "$1?…") }
