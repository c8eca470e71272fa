package alicloud

import (
	"context"
	"fmt"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
)

// rpcCredential turns credentials into what the RPC SDK signs with.
func rpcCredential(c Credentials) auth.Credential {
	if c.SecurityToken != "" {
		return sdkcredentials.NewStsTokenCredential(c.AccessKeyID, c.AccessKeySecret, c.SecurityToken)
	}
	return sdkcredentials.NewAccessKeyCredential(c.AccessKeyID, c.AccessKeySecret)
}

// rpcConfig is the RPC SDK's configuration: its own retries off (the session's policy retries),
// every call bounded.
func (s *Session) rpcConfig() *sdk.Config {
	return sdk.NewConfig().WithAutoRetry(false).WithMaxRetryTime(0).WithTimeout(s.opts.CallTimeout)
}

// assumeRole calls STS AssumeRole with base credentials. Each try gets its own client and
// request: the SDK writes both while it sends, and a try that timed out may still be sending.
func (s *Session) assumeRole(ctx context.Context, base Credentials, arn string) (Credentials, error) {
	var response *sts.AssumeRoleResponse
	err := s.call(ctx, "sts", "AssumeRole", func(ctx context.Context) error {
		client, err := sts.NewClientWithOptions(s.cloud.Region, s.rpcConfig(), rpcCredential(base))
		if err != nil {
			return fmt.Errorf("creating the STS client: %w", err)
		}
		request := sts.CreateAssumeRoleRequest()
		request.RoleArn = arn
		request.RoleSessionName = "concourse-pack"
		request.DurationSeconds = requests.NewInteger(int(s.opts.AssumeRoleDuration.Seconds()))
		if s.cloud.STSEndpoint != "" {
			ep, err := parseEndpoint(s.cloud.STSEndpoint, s.cloud.Region)
			if err != nil {
				return err
			}
			request.Domain, request.Scheme = ep.host, ep.scheme
		} else {
			request.Scheme = "https"
		}
		answer, err := detached(ctx, func() (*sts.AssumeRoleResponse, error) { return client.AssumeRole(request) })
		if err == nil {
			response = answer
		}
		return err
	})
	if err != nil {
		return Credentials{}, err
	}
	expires, err := time.Parse(time.RFC3339, response.Credentials.Expiration)
	if err != nil {
		return Credentials{}, fmt.Errorf("sts AssumeRole: bad Expiration %q: %w", response.Credentials.Expiration, err)
	}
	return Credentials{
		AccessKeyID:     response.Credentials.AccessKeyId,
		AccessKeySecret: response.Credentials.AccessKeySecret,
		SecurityToken:   response.Credentials.SecurityToken,
		Expires:         expires,
	}, nil
}
