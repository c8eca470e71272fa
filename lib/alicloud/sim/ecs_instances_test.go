package sim_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testECSInstances(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *ecs.Client
		image  string
	)

	expectServerError := func(err error, status int, code string) {
		t.Helper()
		se := rpcServerError(err)
		Expect(se).NotTo(BeNil(), fmt.Sprintf("want %d %s, got %v", status, code, err))
		Expect(se.ErrorCode()).To(Equal(code), se.Message())
		Expect(se.HttpStatus()).To(Equal(status))
	}
	setup := func(tweaks ...func(*sim.Config)) {
		e = newEnv(t, tweaks...)
		c = e.ecsClient(keyID, keySecret)
		image = e.mustAvailable(c, homeRegion, "director-stemcell")
	}
	createReq := func(zone, itype, vswitch string) *ecs.CreateInstanceRequest {
		req := ecs.CreateCreateInstanceRequest()
		req.RegionId, req.ZoneId, req.InstanceType, req.ImageId, req.VSwitchId = homeRegion, zone, itype, image, vswitch
		return req
	}
	create := func(req *ecs.CreateInstanceRequest) string {
		t.Helper()
		resp, err := c.CreateInstance(req)
		Expect(err).NotTo(HaveOccurred())
		return resp.InstanceId
	}
	describe := func(tweak func(*ecs.DescribeInstancesRequest)) *ecs.DescribeInstancesResponse {
		t.Helper()
		req := ecs.CreateDescribeInstancesRequest()
		req.RegionId = homeRegion
		if tweak != nil {
			tweak(req)
		}
		resp, err := c.DescribeInstances(req)
		Expect(err).NotTo(HaveOccurred())
		return resp
	}
	instanceIDs := func(resp *ecs.DescribeInstancesResponse) []string {
		var out []string
		for _, in := range resp.Instances.Instance {
			out = append(out, in.InstanceId)
		}
		return out
	}
	statusOf := func(id string) string {
		t.Helper()
		resp := describe(func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = jsonArrayString(id) })
		Expect(resp.Instances.Instance).To(HaveLen(1))
		return resp.Instances.Instance[0].Status
	}

	context("with the default zones", func() {
		it.Before(func() { setup() })

		it("describes two zones per region with the common instance types in stock", func() {
			req := ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId, req.DestinationResource = homeRegion, "InstanceType"
			resp, err := c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			zones := resp.AvailableZones.AvailableZone
			Expect(zones).To(HaveLen(2))
			Expect(zones[0].ZoneId).To(Equal("cn-hangzhou-a"))
			Expect(zones[0].RegionId).To(Equal(homeRegion))
			Expect(zones[0].Status).To(Equal("Available"))
			Expect(zones[0].StatusCategory).To(Equal("WithStock"))
			res := zones[0].AvailableResources.AvailableResource
			Expect(res).To(HaveLen(1))
			Expect(res[0].Type).To(Equal("InstanceType"))
			Expect(res[0].SupportedResources.SupportedResource).To(ContainElement(
				ecs.SupportedResource{Value: "ecs.g6.large", Status: "Available", StatusCategory: "WithStock"}))

			// A used request keeps its RegionId in the SDK: take a fresh one.
			req = ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId, req.DestinationResource = remoteRegion, "InstanceType"
			resp, err = c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.AvailableZones.AvailableZone[1].ZoneId).To(Equal("eu-central-1b"))

			req = ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId = remoteRegion
			_, err = c.DescribeAvailableResource(req)
			expectServerError(err, 400, "MissingParameter")
		})

		it("creates a Stopped instance that starts, stops and is deleted as the real API allows", func() {
			req := createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-director")
			req.VSwitchId = "vsw-director"
			req.InstanceName = "bosh-director"
			req.Tag = &[]ecs.CreateInstanceTag{{Key: "director", Value: "ci"}}
			id := create(req)
			Expect(id).To(MatchRegexp(`^i-[a-z0-9]{20}$`))
			resp := describe(nil)
			Expect(resp.TotalCount).To(Equal(1))
			in := resp.Instances.Instance[0]
			Expect(in.Status).To(Equal("Stopped"))
			Expect(in.InstanceName).To(Equal("bosh-director"))
			Expect(in.ZoneId).To(Equal("cn-hangzhou-a"))
			Expect(in.InstanceType).To(Equal("ecs.g6.large"))
			Expect(in.ImageId).To(Equal(image))
			Expect(in.VpcAttributes.VSwitchId).To(Equal("vsw-director"))
			Expect(in.VpcAttributes.VpcId).To(HavePrefix("vpc-"))
			Expect(in.VpcAttributes.PrivateIpAddress.IpAddress).To(HaveLen(1))
			Expect(in.Tags.Tag).To(ConsistOf(ecs.Tag{TagKey: "director", TagValue: "ci", Key: "director", Value: "ci"}))
			_, err := time.Parse("2006-01-02T15:04Z", in.CreationTime)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, homeRegion, image).Usage).To(Equal("instance"))

			start := ecs.CreateStartInstanceRequest()
			start.RegionId, start.InstanceId = homeRegion, id
			_, err = c.StartInstance(start)
			Expect(err).NotTo(HaveOccurred())
			Expect(statusOf(id)).To(Equal("Starting"))
			_, err = c.StartInstance(start)
			expectServerError(err, 403, "IncorrectInstanceStatus")
			e.clock.Advance(time.Second)
			Expect(statusOf(id)).To(Equal("Running"))

			// The image of an instance is kept unless forced.
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, image
			_, err = c.DeleteImage(di)
			expectServerError(err, 403, "ImageUsingByInstance")

			del := ecs.CreateDeleteInstanceRequest()
			del.RegionId, del.InstanceId = homeRegion, id
			_, err = c.DeleteInstance(del)
			expectServerError(err, 403, "IncorrectInstanceStatus")

			stop := ecs.CreateStopInstanceRequest()
			stop.RegionId, stop.InstanceId = homeRegion, id
			_, err = c.StopInstance(stop)
			Expect(err).NotTo(HaveOccurred())
			Expect(statusOf(id)).To(Equal("Stopping"))
			e.clock.Advance(time.Second)
			Expect(statusOf(id)).To(Equal("Stopped"))
			_, err = c.StopInstance(stop)
			expectServerError(err, 403, "IncorrectInstanceStatus")

			_, err = c.DeleteInstance(del)
			Expect(err).NotTo(HaveOccurred())
			Expect(describe(nil).TotalCount).To(Equal(0))
			_, err = c.DeleteInstance(del)
			expectServerError(err, 404, "InvalidInstanceId.NotFound")
			Expect(imageByID(c, homeRegion, image).Usage).To(Equal("none"))
		})

		it("force-deletes a Running instance", func() {
			id := create(createReq("cn-hangzhou-b", "ecs.c6.large", "vsw-a"))
			start := ecs.CreateStartInstanceRequest()
			start.RegionId, start.InstanceId = homeRegion, id
			_, err := c.StartInstance(start)
			Expect(err).NotTo(HaveOccurred())
			e.clock.Advance(time.Second)
			del := ecs.CreateDeleteInstanceRequest()
			del.RegionId, del.InstanceId, del.Force = homeRegion, id, requests.NewBoolean(true)
			_, err = c.DeleteInstance(del)
			Expect(err).NotTo(HaveOccurred())
		})

		it("needs an Available image the caller can use, a known zone, an offered type and a vswitch", func() {
			busy := e.mustImport(c, homeRegion, "busy-stemcell")
			req := createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a")
			req.ImageId = busy
			_, err := c.CreateInstance(req)
			expectServerError(err, 400, "IncorrectImageStatus")
			req.ImageId = "m-nosuchimage0000000000"
			_, err = c.CreateInstance(req)
			expectServerError(err, 404, "InvalidImageId.NotFound")

			other := e.ecsClient(otherKeyID, otherSecret)
			_, err = other.CreateInstance(createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a"))
			expectServerError(err, 404, "InvalidImageId.NotFound")
			otherAccount, _ := e.srv.AccountID(otherKeyID)
			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId, share.AddAccount = homeRegion, image, &[]string{otherAccount}
			_, err = c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())
			_, err = other.CreateInstance(createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a"))
			Expect(err).NotTo(HaveOccurred())

			_, err = c.CreateInstance(createReq("eu-central-1a", "ecs.g6.large", "vsw-a"))
			expectServerError(err, 404, "InvalidZoneId.NotFound")
			_, err = c.CreateInstance(createReq("cn-hangzhou-a", "ecs.ebmgn7.32xlarge", "vsw-a"))
			expectServerError(err, 403, "InvalidInstanceType.ZoneNotSupported")
			_, err = c.CreateInstance(createReq("cn-hangzhou-a", "ecs.g6.large", ""))
			expectServerError(err, 400, "InvalidVSwitchId.Necessary")
		})

		it("answers OperationDenied.NoStock, and shows the zone without stock, once the stock is gone", func() {
			Expect(e.srv.SetStock("cn-hangzhou-b", "ecs.g6.large", false)).To(Succeed())
			_, err := c.CreateInstance(createReq("cn-hangzhou-b", "ecs.g6.large", "vsw-b"))
			expectServerError(err, 403, "OperationDenied.NoStock")
			create(createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a"))

			req := ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId, req.DestinationResource, req.InstanceType = homeRegion, "InstanceType", "ecs.g6.large"
			resp, err := c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			zones := resp.AvailableZones.AvailableZone
			Expect(zones).To(HaveLen(2))
			Expect(zones[1].ZoneId).To(Equal("cn-hangzhou-b"))
			Expect(zones[1].Status).To(Equal("SoldOut"))
			Expect(zones[1].StatusCategory).To(Equal("WithoutStock"))
			Expect(zones[1].AvailableResources.AvailableResource[0].SupportedResources.SupportedResource).To(Equal(
				[]ecs.SupportedResource{{Value: "ecs.g6.large", Status: "SoldOut", StatusCategory: "WithoutStock"}}))

			// Over the admin API, the stock comes back.
			resp2, err := rawDo(http.MethodPost, e.url+"/_sim/ecs/stock", `{"zone":"cn-hangzhou-b","instance_type":"ecs.g6.large","in_stock":true}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp2.status).To(Equal(204))
			create(createReq("cn-hangzhou-b", "ecs.g6.large", "vsw-b"))
			resp2, err = rawDo(http.MethodPost, e.url+"/_sim/ecs/stock", `{"zone":"moon-1a","instance_type":"ecs.g6.large"}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp2.status).To(Equal(400))
		})

		it("filters instances by VpcId, tags and ids, and pages them", func() {
			var inA, inB []string
			for i := range 12 {
				req := createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a")
				req.Tag = &[]ecs.CreateInstanceTag{{Key: "env", Value: fmt.Sprint("env-", i%3)}}
				inA = append(inA, create(req))
			}
			for range 3 {
				inB = append(inB, create(createReq("cn-hangzhou-b", "ecs.c6.large", "vsw-b")))
			}
			vpcA := describe(func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = jsonArrayString(inA[0]) }).Instances.Instance[0].VpcAttributes.VpcId

			var paged []string
			for p, n := range []int{5, 5, 2} {
				resp := describe(func(r *ecs.DescribeInstancesRequest) {
					r.VpcId, r.PageNumber, r.PageSize = vpcA, requests.NewInteger(p+1), requests.NewInteger(5)
				})
				Expect(resp.TotalCount).To(Equal(12))
				Expect(resp.PageNumber).To(Equal(p + 1))
				Expect(resp.Instances.Instance).To(HaveLen(n))
				paged = append(paged, instanceIDs(resp)...)
			}
			Expect(paged).To(ConsistOf(inA))

			resp := describe(func(r *ecs.DescribeInstancesRequest) {
				r.Tag = &[]ecs.DescribeInstancesTag{{Key: "env", Value: "env-1"}}
				r.PageSize = requests.NewInteger(100)
			})
			Expect(instanceIDs(resp)).To(ConsistOf(inA[1], inA[4], inA[7], inA[10]))
			resp = describe(func(r *ecs.DescribeInstancesRequest) {
				r.InstanceIds = jsonArrayString(inB[0], inA[0], "i-nosuchinstance000000")
			})
			Expect(instanceIDs(resp)).To(ConsistOf(inB[0], inA[0]))
			resp = describe(func(r *ecs.DescribeInstancesRequest) { r.VpcId = "vpc-nosuchvpc" })
			Expect(resp.Instances.Instance).To(BeEmpty())

			// Addresses are unique within the VPC.
			ips := map[string]bool{}
			for _, in := range describe(func(r *ecs.DescribeInstancesRequest) { r.VpcId, r.PageSize = vpcA, requests.NewInteger(100) }).Instances.Instance {
				ip := in.VpcAttributes.PrivateIpAddress.IpAddress[0]
				Expect(ips).NotTo(HaveKey(ip))
				ips[ip] = true
			}

			req := ecs.CreateDescribeInstancesRequest()
			req.RegionId, req.InstanceIds = homeRegion, "i-123,i-456"
			_, err := c.DescribeInstances(req)
			expectServerError(err, 400, "InvalidInstanceIds.Malformed")
			req = ecs.CreateDescribeInstancesRequest()
			req.RegionId, req.PageSize = homeRegion, requests.NewInteger(101)
			_, err = c.DescribeInstances(req)
			expectServerError(err, 400, "InvalidParameter")

			// Another account sees none of them.
			req = ecs.CreateDescribeInstancesRequest()
			req.RegionId = homeRegion
			other, err := e.ecsClient(otherKeyID, otherSecret).DescribeInstances(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(other.TotalCount).To(Equal(0))
		})

		it("tags instances with TagResources", func() {
			id := create(createReq("cn-hangzhou-a", "ecs.g6.large", "vsw-a"))
			tr := ecs.CreateTagResourcesRequest()
			tr.RegionId, tr.ResourceType, tr.ResourceId = homeRegion, "instance", &[]string{id}
			tr.Tag = &[]ecs.TagResourcesTag{{Key: "lease", Value: "build-7"}}
			_, err := c.TagResources(tr)
			Expect(err).NotTo(HaveOccurred())
			resp := describe(func(r *ecs.DescribeInstancesRequest) { r.Tag = &[]ecs.DescribeInstancesTag{{Key: "lease"}} })
			Expect(instanceIDs(resp)).To(Equal([]string{id}))
			tr.ResourceType = "securitygroup"
			_, err = c.TagResources(tr)
			expectServerError(err, 400, "InvalidResourceType.NotSupported")
		})
	})

	context("with seeded zones and vswitches", func() {
		it.Before(func() {
			setup(func(cfg *sim.Config) {
				cfg.Zones = []sim.Zone{
					{Region: homeRegion, ID: "cn-hangzhou-h", InstanceTypes: []string{"ecs.g6.large"}},
					{Region: homeRegion, ID: "cn-hangzhou-i", SoldOut: []string{"ecs.g6.large", "ecs.c6.large"}},
				}
				cfg.VSwitches = []sim.VSwitch{{ID: "vsw-h", VpcID: "vpc-ci", ZoneID: "cn-hangzhou-h"}, {ID: "vsw-i", VpcID: "vpc-ci", ZoneID: "cn-hangzhou-i"}}
			})
		})

		it("describes a zone without stock and refuses instances there", func() {
			req := ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId, req.DestinationResource = homeRegion, "InstanceType"
			resp, err := c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			zones := resp.AvailableZones.AvailableZone
			Expect(zones).To(HaveLen(2))
			Expect(zones[1].ZoneId).To(Equal("cn-hangzhou-i"))
			Expect(zones[1].Status).To(Equal("SoldOut"))
			Expect(zones[1].StatusCategory).To(Equal("WithoutStock"))
			Expect(zones[1].AvailableResources.AvailableResource[0].SupportedResources.SupportedResource).To(HaveLen(2))

			req.ZoneId = "cn-hangzhou-h"
			resp, err = c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.AvailableZones.AvailableZone).To(HaveLen(1))
			Expect(resp.AvailableZones.AvailableZone[0].StatusCategory).To(Equal("WithStock"))

			req = ecs.CreateDescribeAvailableResourceRequest()
			req.RegionId, req.DestinationResource = remoteRegion, "InstanceType"
			resp, err = c.DescribeAvailableResource(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.AvailableZones.AvailableZone).To(BeEmpty())

			// The zone comes from the vswitch; its VPC too.
			_, err = c.CreateInstance(createReq("", "ecs.g6.large", "vsw-i"))
			expectServerError(err, 403, "OperationDenied.NoStock")
			id := create(createReq("", "ecs.g6.large", "vsw-h"))
			in := describe(func(r *ecs.DescribeInstancesRequest) { r.VpcId = "vpc-ci" }).Instances.Instance
			Expect(in).To(HaveLen(1))
			Expect(in[0].InstanceId).To(Equal(id))
			Expect(in[0].ZoneId).To(Equal("cn-hangzhou-h"))
			_, err = c.CreateInstance(createReq("cn-hangzhou-i", "ecs.g6.large", "vsw-h"))
			expectServerError(err, 400, "InvalidParameter.Mismatch")
			_, err = c.CreateInstance(createReq("", "ecs.g6.large", "vsw-unknown"))
			expectServerError(err, 404, "InvalidVSwitchId.NotFound")

			admin, err := rawDo(http.MethodGet, e.url+"/_sim/ecs/stock", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(admin.body).To(MatchJSON(`[
				{"region":"cn-hangzhou","zone":"cn-hangzhou-h","instance_types":["ecs.g6.large"],"sold_out":[]},
				{"region":"cn-hangzhou","zone":"cn-hangzhou-i","instance_types":[],"sold_out":["ecs.g6.large","ecs.c6.large"]}
			]`))
		})
	})
}
