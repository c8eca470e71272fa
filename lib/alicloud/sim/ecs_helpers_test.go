package sim_test

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

// allStatuses lists images whatever their status (DescribeImages shows only Available ones
// without a Status filter).
const allStatuses = "Waiting,Creating,Available,CreateFailed"

// ecsClient is the official ECS SDK's typed client pointed at the emulator (plain HTTP is the
// SDK's default scheme).
func (e *env) ecsClient(id, secret string) *ecs.Client {
	e.t.Helper()
	c, err := ecs.NewClientWithAccessKey(homeRegion, id, secret)
	if err != nil {
		e.t.Fatalf("ecs client: %v", err)
	}
	c.Domain = e.host
	return c
}

// sdkClient is the SDK's generic client signing with an access key, or with STS credentials
// when token is set.
func sdkClient(id, secret, token string) (*sdk.Client, error) {
	var credential auth.Credential = credentials.NewAccessKeyCredential(id, secret)
	if token != "" {
		credential = credentials.NewStsTokenCredential(id, secret, token)
	}
	return sdk.NewClientWithOptions(homeRegion, sdk.NewConfig(), credential)
}

// commonClient is the SDK's generic client, for CommonRequest calls.
func (e *env) commonClient(id, secret string) *sdk.Client {
	e.t.Helper()
	c, err := sdkClient(id, secret, "")
	if err != nil {
		e.t.Fatalf("sdk client: %v", err)
	}
	return c
}

// ecsCommon sends an ECS action through ProcessCommonRequest and returns the raw JSON body.
func (e *env) ecsCommon(c *sdk.Client, action, region string, params map[string]string) (string, error) {
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = "POST", "http", e.host
	req.Product, req.Version, req.ApiName = "Ecs", "2014-05-26", action
	req.QueryParams["RegionId"] = region
	for k, v := range params {
		req.QueryParams[k] = v
	}
	resp, err := c.ProcessCommonRequest(req)
	if err != nil {
		return "", err
	}
	return resp.GetHttpContentString(), nil
}

// imageObject puts a small disk image into bucket (created in region if needed).
func (e *env) imageObject(region, bucket, key string) {
	e.t.Helper()
	if _, ok := e.srv.BucketRegion(bucket); !ok {
		if err := e.srv.CreateBucket(sim.Bucket{Name: bucket, Region: region}); err != nil {
			e.t.Fatalf("CreateBucket: %v", err)
		}
	}
	e.mustPut(e.ossClient(withRegion(region)), bucket, key, "root.img contents")
}

func importRequest(region, name, bucket, key string) *ecs.ImportImageRequest {
	req := ecs.CreateImportImageRequest()
	req.RegionId = region
	req.ImageName = name
	req.Description = "light stemcell image"
	req.Architecture = "x86_64"
	req.OSType = "linux"
	req.Platform = "Ubuntu"
	req.DiskDeviceMapping = &[]ecs.ImportImageDiskDeviceMapping{{OSSBucket: bucket, OSSObject: key, Format: "RAW", DiskImageSize: "5"}}
	return req
}

// mustImport imports an image in region from a fresh object and returns its id.
func (e *env) mustImport(c *ecs.Client, region, name string, tags ...ecs.ImportImageTag) string {
	e.t.Helper()
	bucket := "images-" + region
	e.imageObject(region, bucket, name+".img")
	req := importRequest(region, name, bucket, name+".img")
	if len(tags) > 0 {
		req.Tag = &tags
	}
	resp, err := c.ImportImage(req)
	if err != nil {
		e.t.Fatalf("ImportImage %s: %v", name, err)
	}
	return resp.ImageId
}

// mustAvailable imports an image and lets the clock run until it is Available.
func (e *env) mustAvailable(c *ecs.Client, region, name string) string {
	e.t.Helper()
	id := e.mustImport(c, region, name)
	e.clock.Advance(2 * time.Second)
	return id
}

func describeImages(c *ecs.Client, region string, tweak ...func(*ecs.DescribeImagesRequest)) (*ecs.DescribeImagesResponse, error) {
	req := ecs.CreateDescribeImagesRequest()
	req.RegionId = region
	for _, tw := range tweak {
		tw(req)
	}
	return c.DescribeImages(req)
}

func withStatus(s string) func(*ecs.DescribeImagesRequest) {
	return func(r *ecs.DescribeImagesRequest) { r.Status = s }
}

func withImageID(id string) func(*ecs.DescribeImagesRequest) {
	return func(r *ecs.DescribeImagesRequest) { r.ImageId = id }
}

func withPage(number, size int) func(*ecs.DescribeImagesRequest) {
	return func(r *ecs.DescribeImagesRequest) {
		r.PageNumber = requests.NewInteger(number)
		r.PageSize = requests.NewInteger(size)
	}
}

// imageByID describes one image whatever its status; nil when the caller cannot see it.
func imageByID(c *ecs.Client, region, id string) *ecs.Image {
	resp, err := describeImages(c, region, withImageID(id), withStatus(allStatuses))
	if err != nil || len(resp.Images.Image) == 0 {
		return nil
	}
	return &resp.Images.Image[0]
}

func copyRequest(src, id, dest string) *ecs.CopyImageRequest {
	req := ecs.CreateCopyImageRequest()
	req.RegionId = src
	req.ImageId = id
	req.DestinationRegionId = dest
	return req
}

func imageIDs(images []ecs.Image) []string {
	var out []string
	for _, img := range images {
		out = append(out, img.ImageId)
	}
	return out
}

// eventsOf returns the image's status transitions, in order.
func eventsOf(srv *sim.Server, id string) []sim.ImageEvent {
	var out []sim.ImageEvent
	for _, ev := range srv.ImageEvents() {
		if ev.ImageID == id {
			out = append(out, ev)
		}
	}
	return out
}

func eventStatuses(evs []sim.ImageEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Status)
	}
	return out
}

func eventAt(evs []sim.ImageEvent, status string) time.Time {
	for _, ev := range evs {
		if ev.Status == status {
			return ev.Time
		}
	}
	return time.Time{}
}

// jsonPath walks a decoded JSON document: keys for objects, indexes for arrays.
func jsonPath(doc string, path ...string) any {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return nil
	}
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func jsonArrayString(ids ...string) string {
	b, _ := json.Marshal(ids) // a []string always marshals
	return string(b)
}
