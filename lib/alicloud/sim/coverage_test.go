package sim_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// allowedGaps are the differences between the emulator's answers and the official SDK's typed
// responses that are known and accepted, as "Action path" (lacking in the answer) or
// "Action +path" (a key the struct lacks). At most 10, and none of the DescribeImages fields
// that issue 13 found missing (item6Fields).
var allowedGaps = []string{
	// The SDK's Tag struct is shared with ListTagResources/DescribeTags, whose answers count
	// tagged resources by type; an image's tag has no such count.
	"DescribeImages Images.Image[].Tags.Tag[].ResourceTypeCount",
	"DescribeDisks Disks.Disk[].Tags.Tag[].ResourceTypeCount",
}

// item6Fields are the DescribeImages fields the emulator once lacked: never an allowed gap.
var item6Fields = []string{"DiskImageSize", "OSSBucket", "OSSObject", "ImageFamily", "ImageVersion",
	"ResourceGroupId", "IsSubscribed", "LoginAsNonRootSupported", "ProductCode", "SupplierName",
	"DetectionOptions", "Tag[].Key", "Tag[].Value", "TagKey", "TagValue", "Features", "Encrypted"}

// jsonPaths lists every key path of a decoded JSON value: objects by key, array elements as
// "[]" (the union over the elements; an empty array has no element paths).
func jsonPaths(v any, prefix string, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			p := prefix + "." + k
			out[p] = true
			jsonPaths(c, p, out)
		}
	case []any:
		for _, c := range t {
			out[prefix+"[]"] = true
			jsonPaths(c, prefix+"[]", out)
		}
	}
}

// structPaths lists every JSON key path of a typed SDK response, by its json tags; embedded
// fields (the SDK's BaseResponse) are not part of the body.
func structPaths(t reflect.Type, prefix string, out map[string]bool) {
	switch t.Kind() {
	case reflect.Pointer:
		structPaths(t.Elem(), prefix, out)
	case reflect.Slice:
		out[prefix+"[]"] = true
		structPaths(t.Elem(), prefix+"[]", out)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous || !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			p := prefix + "." + name
			out[p] = true
			structPaths(f.Type, p, out)
		}
	}
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "[]") {
		return strings.TrimSuffix(p, "[]")
	}
	return p[:strings.LastIndex(p, ".")]
}

// coverage compares one answer with a typed response: struct paths lacking in the answer (where
// their parent is present: an empty list says nothing about its elements' fields) and answer
// keys the struct lacks.
func coverage(action, body string, typed any) []string {
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return []string{action + " answer is not JSON: " + err.Error()}
	}
	have, want := map[string]bool{"": true}, map[string]bool{}
	jsonPaths(doc, "", have)
	structPaths(reflect.TypeOf(typed), "", want)
	var gaps []string
	for p := range want {
		// An empty list is a whole answer: its elements' fields are checked where there are some.
		if !have[p] && have[parentPath(p)] && !strings.HasSuffix(p, "[]") {
			gaps = append(gaps, action+" "+strings.TrimPrefix(p, "."))
		}
	}
	for p := range have {
		if p != "" && !want[p] {
			gaps = append(gaps, action+" +"+strings.TrimPrefix(p, "."))
		}
	}
	sort.Strings(gaps)
	return gaps
}

func testCoverage(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("answers every action with what the SDK's typed response has, and nothing it lacks", func() {
		e := newEnv(t)
		cc := e.commonClient(keyID, keySecret)
		otherAccount, _ := e.srv.AccountID(otherKeyID)
		answers := map[string]string{}
		call := func(action, region string, params map[string]string) string {
			t.Helper()
			body, err := e.ecsCommon(cc, action, region, params)
			Expect(err).NotTo(HaveOccurred(), action)
			answers[action] = body
			return body
		}

		// One image with everything: tags, a copy in progress, sharing; one instance.
		e.imageObject(homeRegion, "cov-"+homeRegion, "cov.img")
		imported := call("ImportImage", homeRegion, map[string]string{"ImageName": "cov", "Tag.1.Key": "k", "Tag.1.Value": "v",
			"DiskDeviceMapping.1.OSSBucket": "cov-" + homeRegion, "DiskDeviceMapping.1.OSSObject": "cov.img"})
		id, _ := jsonPath(imported, "ImageId").(string)
		e.clock.Advance(2 * time.Second)
		call("DescribeRegions", homeRegion, nil)
		call("DescribeImages", homeRegion, map[string]string{"ImageId": id})
		call("ModifyImageAttribute", homeRegion, map[string]string{"ImageId": id, "Description": "covered"})
		call("TagResources", homeRegion, map[string]string{"ResourceType": "image", "ResourceId.1": id, "Tag.1.Key": "a", "Tag.1.Value": "b"})
		call("AddTags", homeRegion, map[string]string{"ResourceType": "image", "ResourceId": id, "Tag.1.Key": "c", "Tag.1.Value": "d"})
		call("ModifyImageSharePermission", homeRegion, map[string]string{"ImageId": id, "AddAccount.1": otherAccount})
		call("DescribeImageSharePermission", homeRegion, map[string]string{"ImageId": id})
		copied := call("CopyImage", homeRegion, map[string]string{"ImageId": id, "DestinationRegionId": remoteRegion})
		copyID, _ := jsonPath(copied, "ImageId").(string)
		call("CancelCopyImage", remoteRegion, map[string]string{"ImageId": copyID})
		call("DescribeAvailableResource", homeRegion, map[string]string{"DestinationResource": "InstanceType"})
		created := call("CreateInstance", homeRegion, map[string]string{"ImageId": id, "InstanceType": "ecs.g6.large",
			"ZoneId": "cn-hangzhou-a", "VSwitchId": "vsw-cov"})
		instance, _ := jsonPath(created, "InstanceId").(string)
		disk := call("CreateDisk", homeRegion, map[string]string{"ZoneId": "cn-hangzhou-a", "Size": "20", "Tag.1.Key": "k", "Tag.1.Value": "v"})
		diskID, _ := jsonPath(disk, "DiskId").(string)
		call("DescribeDisks", homeRegion, map[string]string{"DiskIds": jsonArrayString(diskID)})
		call("DeleteDisk", homeRegion, map[string]string{"DiskId": diskID})
		call("StartInstance", homeRegion, map[string]string{"InstanceId": instance})
		e.clock.Advance(time.Second)
		call("DescribeInstances", homeRegion, map[string]string{"InstanceIds": jsonArrayString(instance)})
		call("StopInstance", homeRegion, map[string]string{"InstanceId": instance})
		e.clock.Advance(time.Second)
		call("DeleteInstance", homeRegion, map[string]string{"InstanceId": instance})
		call("ModifyImageSharePermission", homeRegion, map[string]string{"ImageId": id, "RemoveAccount.1": otherAccount})
		snapshot, _ := jsonPath(answers["DescribeImages"], "Images", "Image", "0", "DiskDeviceMappings", "DiskDeviceMapping", "0", "SnapshotId").(string)
		call("DeleteImage", homeRegion, map[string]string{"ImageId": id})
		e.clock.Advance(time.Second)
		call("DeleteSnapshot", homeRegion, map[string]string{"SnapshotId": snapshot})

		ar := sts.CreateAssumeRoleRequest()
		ar.RoleArn, ar.RoleSessionName, ar.DurationSeconds = "acs:ram::1234567890123456:role/ci", "coverage", requests.NewInteger(900)
		sc, err := sts.NewClientWithAccessKey(homeRegion, keyID, keySecret)
		Expect(err).NotTo(HaveOccurred())
		sc.Domain = e.host
		assumed, err := sc.AssumeRole(ar)
		Expect(err).NotTo(HaveOccurred())
		answers["AssumeRole"] = assumed.GetHttpContentString()

		typed := map[string]any{
			"DescribeRegions": ecs.DescribeRegionsResponse{}, "DescribeImages": ecs.DescribeImagesResponse{},
			"ImportImage": ecs.ImportImageResponse{}, "CopyImage": ecs.CopyImageResponse{},
			"CancelCopyImage": ecs.CancelCopyImageResponse{}, "DeleteImage": ecs.DeleteImageResponse{},
			"DeleteSnapshot": ecs.DeleteSnapshotResponse{}, "ModifyImageAttribute": ecs.ModifyImageAttributeResponse{},
			"ModifyImageSharePermission":   ecs.ModifyImageSharePermissionResponse{},
			"DescribeImageSharePermission": ecs.DescribeImageSharePermissionResponse{},
			"TagResources":                 ecs.TagResourcesResponse{}, "AddTags": ecs.AddTagsResponse{},
			"DescribeInstances": ecs.DescribeInstancesResponse{}, "CreateInstance": ecs.CreateInstanceResponse{},
			"StartInstance": ecs.StartInstanceResponse{}, "StopInstance": ecs.StopInstanceResponse{},
			"DeleteInstance": ecs.DeleteInstanceResponse{}, "DescribeAvailableResource": ecs.DescribeAvailableResourceResponse{},
			"CreateDisk": ecs.CreateDiskResponse{}, "DescribeDisks": ecs.DescribeDisksResponse{},
			"DeleteDisk": ecs.DeleteDiskResponse{}, "AssumeRole": sts.AssumeRoleResponse{},
		}
		// Every action the emulator implements is covered.
		var implemented []string
		for _, actions := range e.srv.RPCActions() {
			implemented = append(implemented, actions...)
		}
		covered := make([]string, 0, len(typed))
		for a := range typed {
			covered = append(covered, a)
		}
		Expect(implemented).To(ConsistOf(covered))

		var gaps []string
		for action, body := range answers {
			gaps = append(gaps, coverage(action, body, typed[action])...)
		}
		Expect(len(allowedGaps)).To(BeNumerically("<=", 10))
		for _, g := range allowedGaps {
			for _, f := range item6Fields {
				Expect(g).NotTo(HaveSuffix("."+f), "the DescribeImages fields of issue 13 are never an allowed gap")
			}
		}
		allowed := map[string]bool{}
		for _, g := range allowedGaps {
			allowed[g] = true
		}
		for _, g := range gaps {
			if !allowed[g] {
				t.Logf("not an allowed gap: %s", g)
			}
		}
		Expect(gaps).To(ConsistOf(allowedGaps))
	})
}
