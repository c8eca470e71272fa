package alicloud

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
)

// ecsAPIVersion is the ECS RPC API version every call uses.
const ecsAPIVersion = "2014-05-26"

// rpcClients caches one RPC SDK client per region and credentials, so rotating STS credentials
// get a new signer while steady ones reuse connections.
type rpcClients struct {
	byKey map[string]*rpcClient
}

// rpcClient is an SDK client and the slot its calls take: the SDK writes the client's fields on
// every call, so one client serves one call at a time (fan-outs use a client per region). The
// slot is taken before a call starts and only while its try has time left, so a try that gave
// up waiting never sends its request late.
type rpcClient struct {
	slot   chan struct{}
	client *sdk.Client
}

// ecsCall calls one ECS action in a region: parameters in the query as the API expects, the
// session's credentials and retry policy, and the JSON answer decoded into out.
func (s *Session) ecsCall(ctx context.Context, region, action string, params map[string]string, out any) error {
	return s.call(ctx, "ecs", action, func(ctx context.Context) error {
		creds, err := s.creds.Get(ctx)
		if err != nil {
			return err
		}
		client, err := s.rpcClient(region, creds)
		if err != nil {
			return err
		}
		request := requests.NewCommonRequest()
		request.Method = "POST"
		request.Product = "Ecs"
		request.Version = ecsAPIVersion
		request.ApiName = action
		request.QueryParams["RegionId"] = region
		for k, v := range params {
			request.QueryParams[k] = v
		}
		if s.cloud.ECSEndpoint != "" {
			ep, err := parseEndpoint(s.cloud.ECSEndpoint, region)
			if err != nil {
				return fmt.Errorf("ecs_endpoint: %w", err)
			}
			request.Domain, request.Scheme = ep.host, ep.scheme
		} else {
			request.Scheme = "https"
		}
		select {
		case client.slot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		body, err := detached(ctx, func() ([]byte, error) {
			defer func() { <-client.slot }()
			response, err := client.client.ProcessCommonRequest(request)
			if err != nil {
				return nil, err
			}
			return response.GetHttpContentBytes(), nil
		})
		if err != nil || out == nil {
			return err
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("decoding the %s answer: %w", action, err)
		}
		return nil
	})
}

func (s *Session) rpcClient(region string, creds Credentials) (*rpcClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rpc.byKey == nil {
		s.rpc.byKey = map[string]*rpcClient{}
	}
	key := region + "\x00" + creds.AccessKeyID + "\x00" + creds.SecurityToken
	if c, ok := s.rpc.byKey[key]; ok {
		return c, nil
	}
	c, err := sdk.NewClientWithOptions(region, s.rpcConfig(), rpcCredential(creds))
	if err != nil {
		return nil, fmt.Errorf("creating the ECS client: %w", err)
	}
	s.rpc.byKey[key] = &rpcClient{client: c, slot: make(chan struct{}, 1)}
	return s.rpc.byKey[key], nil
}

// ecsPageSize is the largest page the Describe* actions give.
const ecsPageSize = 100

// ecsPage is one page of a Describe* answer.
type ecsPage[T any] interface {
	items() []T
	total() int
}

// ecsPaged calls a paged Describe* action until it has every item.
func ecsPaged[T any, P ecsPage[T]](ctx context.Context, s *Session, region, action string, params map[string]string) ([]T, error) {
	params["PageSize"] = strconv.Itoa(ecsPageSize)
	var out []T
	for page := 1; ; page++ {
		params["PageNumber"] = strconv.Itoa(page)
		var answer P
		if err := s.ecsCall(ctx, region, action, params, &answer); err != nil {
			return nil, err
		}
		out = append(out, answer.items()...)
		if len(answer.items()) < ecsPageSize || len(out) >= answer.total() {
			return out, nil
		}
	}
}

// Region is one ECS region.
type Region struct {
	ID        string `json:"RegionId"`
	LocalName string `json:"LocalName"`
}

// Regions lists the regions ECS offers the account, sorted by id.
func (s *Session) Regions(ctx context.Context) ([]Region, error) {
	var answer struct {
		Regions struct {
			Region []Region `json:"Region"`
		} `json:"Regions"`
	}
	if err := s.ecsCall(ctx, s.cloud.Region, "DescribeRegions", nil, &answer); err != nil {
		return nil, err
	}
	regions := answer.Regions.Region
	sort.Slice(regions, func(i, j int) bool { return regions[i].ID < regions[j].ID })
	return regions, nil
}
