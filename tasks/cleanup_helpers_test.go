package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/director"
)

// cleanCloud is an emulator whose imports finish at once, for the tasks that clean up after a
// director (teardown, ensure-terminated).
func cleanCloud(t testing.TB) (*testtools.Cloud, *alicloud.Session) {
	t.Helper()
	c := testtools.NewCloud(t, func(cfg *sim.Config) { cfg.ImportDuration = 10 * time.Millisecond })
	s, err := alicloud.NewSession(alicloud.Cloud{Region: c.Region, AccessKeyID: c.KeyID, AccessKeySecret: c.Secret,
		ECSEndpoint: c.URL, OSSEndpoint: c.URL, Bucket: c.Bucket}, alicloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// cleanImage imports an Available image with tags.
func cleanImage(t testing.TB, c *testtools.Cloud, s *alicloud.Session, name string, tags map[string]string) string {
	t.Helper()
	ctx := context.Background()
	c.PutObject(t, "images/"+name+".img", []byte("raw disk"))
	id, err := s.ImportImage(ctx, c.Region, alicloud.ImportRequest{Name: name, Bucket: c.Bucket, Object: "images/" + name + ".img",
		DiskSizeGiB: 5, Format: "RAW", Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu", Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitImage(ctx, c.Region, id, alicloud.WaitOptions{FirstPoll: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return id
}

// cleanECS calls an ECS action through the SDK directly (the CPI makes VMs and disks, not the
// pack) and returns the answer.
func cleanECS(t testing.TB, c *testtools.Cloud, action string, params map[string]string) map[string]any {
	t.Helper()
	client, err := sdk.NewClientWithOptions(c.Region, sdk.NewConfig(), credentials.NewAccessKeyCredential(c.KeyID, c.Secret))
	if err != nil {
		t.Fatal(err)
	}
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = "POST", "http", strings.TrimPrefix(c.URL, "http://")
	req.Product, req.Version, req.ApiName = "Ecs", "2014-05-26", action
	req.QueryParams["RegionId"] = c.Region
	for k, v := range params {
		req.QueryParams[k] = v
	}
	resp, err := client.ProcessCommonRequest(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cleanInstance creates a VM in vpc tagged director=env, as the CPI would.
func cleanInstance(t testing.TB, c *testtools.Cloud, image, vpc, env string) string {
	t.Helper()
	out := cleanECS(t, c, "CreateInstance", map[string]string{"ZoneId": "cn-hangzhou-a", "InstanceType": "ecs.g6.large",
		"ImageId": image, "VpcId": vpc, "VSwitchId": "vsw-" + strings.TrimPrefix(vpc, "vpc-"),
		"Tag.1.Key": "director", "Tag.1.Value": env})
	id, _ := out["InstanceId"].(string)
	return id
}

// cleanDisk creates a data disk tagged director=env.
func cleanDisk(t testing.TB, c *testtools.Cloud, env string) string {
	t.Helper()
	out := cleanECS(t, c, "CreateDisk", map[string]string{"ZoneId": "cn-hangzhou-a", "Size": "20",
		"Tag.1.Key": "director", "Tag.1.Value": env})
	id, _ := out["DiskId"].(string)
	return id
}

// cleanRevision records a revision of a director env with status in the store at prefix.
func cleanRevision(t testing.TB, s *alicloud.Session, c *testtools.Cloud, prefix, env string, status director.Status) {
	t.Helper()
	objects, err := s.StoreIn(c.Region, c.Bucket, prefix)
	if err != nil {
		t.Fatal(err)
	}
	store := director.Store{Objects: objects}
	latest, _, err := store.Latest(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Write(context.Background(), director.Revision{Env: env, Base: latest.Number, Status: status,
		Action: fmt.Sprint(status), Who: "test"}); err != nil {
		t.Fatal(err)
	}
}
