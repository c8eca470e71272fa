package alicloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// defaultMetadataURL is the ECS instance metadata service, reachable from every ECS instance.
const defaultMetadataURL = "http://100.100.100.200"

func (s *Session) metadataURL() string {
	for _, u := range []string{s.opts.MetadataURL, os.Getenv("ALIBABA_CLOUD_METADATA_URL")} {
		if u != "" {
			return strings.TrimRight(u, "/")
		}
	}
	return defaultMetadataURL
}

// ramRoleCredentials reads the instance's RAM role credentials from the metadata service, in
// hardened mode (a session token first) when the service offers it. The SDKs hard-code the
// service's address, hence this provider of our own.
func (s *Session) ramRoleCredentials(ctx context.Context, role string) (Credentials, error) {
	base := s.metadataURL()
	var creds Credentials
	err := s.call(ctx, "metadata", "GetRAMRoleCredentials", func(ctx context.Context) error {
		token, err := s.metadataToken(ctx, base)
		if err != nil {
			return err
		}
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/latest/meta-data/ram/security-credentials/"+url.PathEscape(role), nil)
		if err != nil {
			return err
		}
		if token != "" {
			request.Header.Set("X-aliyun-ecs-metadata-token", token)
		}
		body, err := s.metadataDo(request)
		var e *Error
		if asError(err, &e) && e.Status == http.StatusNotFound {
			e.Code, e.Message = "RoleNotFound", fmt.Sprintf("this instance has no RAM role %q attached", role)
		}
		if err != nil {
			return err
		}
		var answer struct {
			AccessKeyID     string `json:"AccessKeyId"`
			AccessKeySecret string `json:"AccessKeySecret"`
			SecurityToken   string `json:"SecurityToken"`
			Expiration      string `json:"Expiration"`
			Code            string `json:"Code"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			return fmt.Errorf("reading the role's credentials: %w", err)
		}
		if answer.Code != "Success" || answer.AccessKeyID == "" {
			return &Error{Service: "metadata", Operation: "GetRAMRoleCredentials", Code: answer.Code, Message: "the metadata service did not hand out credentials"}
		}
		expires, err := time.Parse(time.RFC3339, answer.Expiration)
		if err != nil {
			return fmt.Errorf("reading the role's credentials: bad Expiration %q", answer.Expiration)
		}
		creds = Credentials{AccessKeyID: answer.AccessKeyID, AccessKeySecret: answer.AccessKeySecret, SecurityToken: answer.SecurityToken, Expires: expires}
		return nil
	})
	return creds, err
}

// metadataToken asks for a hardened-mode session token; "" when the service does not offer it.
func (s *Session) metadataToken(ctx context.Context, base string) (string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/latest/api/token", nil)
	if err != nil {
		return "", err
	}
	request.Header.Set("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
	body, err := s.metadataDo(request)
	var e *Error
	if asError(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed || e.Status == http.StatusForbidden) {
		return "", nil
	}
	return strings.TrimSpace(string(body)), err
}

func (s *Session) metadataDo(request *http.Request) ([]byte, error) {
	response, err := s.http.Do(request)
	if err != nil {
		return nil, err
	}
	defer func() { _ = response.Body.Close() }() // read-only: its close has nothing to report
	body, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if response.StatusCode != http.StatusOK {
		operation := "GetRAMRoleCredentials"
		if request.Method == http.MethodPut {
			operation = "GetToken"
		}
		return nil, &Error{Service: "metadata", Operation: operation, Status: response.StatusCode,
			Code: http.StatusText(response.StatusCode), Message: strings.TrimSpace(string(body))}
	}
	return body, nil
}
