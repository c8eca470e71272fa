package testtools

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscredentials "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

// The emulator's account and bucket in tests.
const (
	KeyID     = "LTAI-testtools"
	KeySecret = "testtools-secret-value"
	Region    = "cn-hangzhou"
	Bucket    = "cpi-pipeline"
)

// Cloud is an emulator on 127.0.0.1 with one bucket, for tests of the client and the resources.
type Cloud struct {
	Sim    *sim.Server
	URL    string // http://127.0.0.1:PORT
	KeyID  string
	Secret string
	Region string
	Bucket string
	oss    *oss.Client
}

// NewCloud starts an emulator for the test, with the bucket Bucket in Region.
func NewCloud(t testing.TB, tweaks ...func(*sim.Config)) *Cloud {
	t.Helper()
	c := &Cloud{KeyID: KeyID, Secret: KeySecret, Region: Region, Bucket: Bucket}
	cfg := sim.Config{Credentials: []sim.Credential{{AccessKeyID: c.KeyID, AccessKeySecret: c.Secret}}, DataDir: t.TempDir()}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	server, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(server)
	t.Cleanup(func() {
		web.Close()
		if err := server.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	c.Sim, c.URL = server, web.URL
	c.oss = oss.NewClient(oss.LoadDefaultConfig().WithRegion(c.Region).WithEndpoint(c.URL).WithUsePathStyle(true).
		WithCredentialsProvider(osscredentials.NewStaticCredentialsProvider(c.KeyID, c.Secret)))
	if _, err := c.oss.PutBucket(context.Background(), &oss.PutBucketRequest{Bucket: oss.Ptr(c.Bucket)}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Source is the cloud block of a resource source pointing at the emulator.
func (c *Cloud) Source() map[string]any {
	return map[string]any{
		"access_key_id": c.KeyID, "access_key_secret": c.Secret, "region": c.Region, "bucket": c.Bucket,
		"oss_endpoint": c.URL, "ecs_endpoint": c.URL, "sts_endpoint": c.URL,
	}
}

// Keys lists the bucket's keys under prefix, sorted.
func (c *Cloud) Keys(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	paginator := c.oss.NewListObjectsV2Paginator(&oss.ListObjectsV2Request{Bucket: oss.Ptr(c.Bucket), Prefix: oss.Ptr(prefix)})
	for paginator.HasNext() {
		page, err := paginator.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, oss.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// PutObject writes an object behind the resource's back: a fixture, or corruption and tampering.
func (c *Cloud) PutObject(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := c.oss.PutObject(context.Background(), &oss.PutObjectRequest{Bucket: oss.Ptr(c.Bucket), Key: oss.Ptr(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

// SetBucketACL changes the bucket's ACL ("private", "public-read"): what objects written without
// an ACL of their own get.
func (c *Cloud) SetBucketACL(t testing.TB, acl string) {
	t.Helper()
	if _, err := c.oss.PutBucketAcl(context.Background(), &oss.PutBucketAclRequest{Bucket: oss.Ptr(c.Bucket), Acl: oss.BucketACLType(acl)}); err != nil {
		t.Fatal(err)
	}
}

// GetObject reads an object behind the resource's back.
func (c *Cloud) GetObject(t testing.TB, key string) []byte {
	t.Helper()
	result, err := c.oss.GetObject(context.Background(), &oss.GetObjectRequest{Bucket: oss.Ptr(c.Bucket), Key: oss.Ptr(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = result.Body.Close() }() // read-only: its close has nothing to report
	data, err := io.ReadAll(result.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// StartUpload initiates a multipart upload of key and sends it one part, behind the resource's
// back: what a run killed in the middle of an upload leaves. It returns the upload id.
func (c *Cloud) StartUpload(t testing.TB, key string) string {
	t.Helper()
	ctx := context.Background()
	started, err := c.oss.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: oss.Ptr(c.Bucket), Key: oss.Ptr(key)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.oss.UploadPart(ctx, &oss.UploadPartRequest{Bucket: oss.Ptr(c.Bucket), Key: oss.Ptr(key), UploadId: started.UploadId,
		PartNumber: 1, Body: bytes.NewReader(bytes.Repeat([]byte("part"), 1024))}); err != nil {
		t.Fatal(err)
	}
	return oss.ToString(started.UploadId)
}

// PendingUploads lists the keys of the bucket's multipart uploads in progress under prefix,
// sorted (a key appears once per upload).
func (c *Cloud) PendingUploads(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	paginator := c.oss.NewListMultipartUploadsPaginator(&oss.ListMultipartUploadsRequest{Bucket: oss.Ptr(c.Bucket), Prefix: oss.Ptr(prefix)})
	for paginator.HasNext() {
		page, err := paginator.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Uploads {
			keys = append(keys, oss.ToString(u.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// DeleteObject removes an object behind the resource's back (a lost tarball).
func (c *Cloud) DeleteObject(t testing.TB, key string) {
	t.Helper()
	if _, err := c.oss.DeleteObject(context.Background(), &oss.DeleteObjectRequest{Bucket: oss.Ptr(c.Bucket), Key: oss.Ptr(key)}); err != nil {
		t.Fatal(err)
	}
}

// Fired says how many times the emulator's fault id has fired (read through its admin API).
func (c *Cloud) Fired(t testing.TB, id string) int {
	t.Helper()
	response, err := http.Get(c.URL + "/_sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = response.Body.Close() }() // read-only: its close has nothing to report
	var faults []struct {
		ID    string `json:"id"`
		Fired int    `json:"fired"`
	}
	if err := json.NewDecoder(response.Body).Decode(&faults); err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		if f.ID == id {
			return f.Fired
		}
	}
	t.Fatalf("the emulator has no fault %s", id)
	return 0
}

// TaskParams are a cloud task's params (docs/tasks.md, "Credentials") pointing at the emulator
// with static keys.
func (c *Cloud) TaskParams() map[string]string {
	return map[string]string{
		"ALICLOUD_REGION": c.Region, "ALICLOUD_ACCESS_KEY_ID": c.KeyID, "ALICLOUD_ACCESS_KEY_SECRET": c.Secret,
		"ALICLOUD_ECS_ENDPOINT": c.URL, "ALICLOUD_OSS_ENDPOINT": c.URL, "ALICLOUD_STS_ENDPOINT": c.URL,
	}
}

// RAMRoleTaskParams are TaskParams with the worker's RAM role (the emulator's metadata service,
// through ALIBABA_CLOUD_METADATA_URL) instead of keys.
func (c *Cloud) RAMRoleTaskParams() map[string]string {
	return map[string]string{
		"ALICLOUD_REGION": c.Region, "ALICLOUD_RAM_ROLE": "ConcourseWorker", "ALIBABA_CLOUD_METADATA_URL": c.URL,
		"ALICLOUD_ECS_ENDPOINT": c.URL, "ALICLOUD_OSS_ENDPOINT": c.URL, "ALICLOUD_STS_ENDPOINT": c.URL,
	}
}
