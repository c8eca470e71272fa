package sim_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testECSDisks(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *ecs.Client
	)

	it.Before(func() {
		e = newEnv(t)
		c = e.ecsClient(keyID, keySecret)
	})

	createDisk := func(tags map[string]string) string {
		t.Helper()
		req := ecs.CreateCreateDiskRequest()
		req.RegionId, req.ZoneId, req.Size = homeRegion, "cn-hangzhou-a", requests.NewInteger(20)
		var list []ecs.CreateDiskTag
		for k, v := range tags {
			list = append(list, ecs.CreateDiskTag{Key: k, Value: v})
		}
		req.Tag = &list
		resp, err := c.CreateDisk(req)
		Expect(err).NotTo(HaveOccurred())
		return resp.DiskId
	}
	describe := func(tweak func(*ecs.DescribeDisksRequest)) *ecs.DescribeDisksResponse {
		t.Helper()
		req := ecs.CreateDescribeDisksRequest()
		req.RegionId = homeRegion
		if tweak != nil {
			tweak(req)
		}
		resp, err := c.DescribeDisks(req)
		Expect(err).NotTo(HaveOccurred())
		return resp
	}
	ids := func(resp *ecs.DescribeDisksResponse) []string {
		out := []string{}
		for _, d := range resp.Disks.Disk {
			out = append(out, d.DiskId)
		}
		return out
	}

	it("creates Available data disks, filters them by tag and ids, and pages by 10 by default", func() {
		var mine []string
		for range 12 {
			mine = append(mine, createDisk(map[string]string{"director": "bats"}))
		}
		other := createDisk(map[string]string{"director": "other"})

		first := describe(func(r *ecs.DescribeDisksRequest) {
			r.Tag = &[]ecs.DescribeDisksTag{{Key: "director", Value: "bats"}}
		})
		Expect(first.TotalCount).To(Equal(12))
		Expect(first.PageSize).To(Equal(10))
		Expect(first.Disks.Disk).To(HaveLen(10))
		second := describe(func(r *ecs.DescribeDisksRequest) {
			r.Tag = &[]ecs.DescribeDisksTag{{Key: "director", Value: "bats"}}
			r.PageNumber = requests.NewInteger(2)
		})
		Expect(append(ids(first), ids(second)...)).To(ConsistOf(mine))
		d := first.Disks.Disk[0]
		Expect(d.Status).To(Equal("Available"))
		Expect(d.Type).To(Equal("data"))
		Expect(d.ZoneId).To(Equal("cn-hangzhou-a"))
		Expect(d.Size).To(Equal(20))
		Expect(d.InstanceId).To(BeEmpty())
		Expect(d.Tags.Tag).To(HaveLen(1))
		Expect(d.Tags.Tag[0].TagKey).To(Equal("director"))
		Expect(d.Tags.Tag[0].TagValue).To(Equal("bats"))

		byID := describe(func(r *ecs.DescribeDisksRequest) { r.DiskIds = jsonArrayString(other) })
		Expect(ids(byID)).To(Equal([]string{other}))
		none := describe(func(r *ecs.DescribeDisksRequest) { r.DiskIds = "[]" })
		Expect(none.Disks.Disk).To(BeEmpty())

		_, err := c.DescribeDisks(func() *ecs.DescribeDisksRequest {
			r := ecs.CreateDescribeDisksRequest()
			r.RegionId, r.PageSize = homeRegion, requests.NewInteger(101)
			return r
		}())
		Expect(rpcServerError(err)).NotTo(BeNil())
		Expect(rpcServerError(err).ErrorCode()).To(Equal("InvalidParameter"))
	})

	it("gives every instance an In_use system disk, refuses to delete it, and deletes it with the instance", func() {
		image := e.mustAvailable(c, homeRegion, "disk-stemcell")
		req := ecs.CreateCreateInstanceRequest()
		req.RegionId, req.ZoneId, req.InstanceType, req.ImageId, req.VSwitchId = homeRegion, "cn-hangzhou-b", "ecs.g6.large", image, "vsw-disks"
		created, err := c.CreateInstance(req)
		Expect(err).NotTo(HaveOccurred())

		resp := describe(func(r *ecs.DescribeDisksRequest) { r.InstanceId = created.InstanceId })
		Expect(resp.Disks.Disk).To(HaveLen(1))
		system := resp.Disks.Disk[0]
		Expect(system.Type).To(Equal("system"))
		Expect(system.Status).To(Equal("In_use"))
		Expect(system.ZoneId).To(Equal("cn-hangzhou-b"))
		Expect(system.DeleteWithInstance).To(BeTrue())
		Expect(system.Attachments.Attachment).To(HaveLen(1))
		Expect(system.Attachments.Attachment[0].InstanceId).To(Equal(created.InstanceId))
		Expect(ids(describe(func(r *ecs.DescribeDisksRequest) { r.Status = "Available" }))).To(BeEmpty())

		del := ecs.CreateDeleteDiskRequest()
		del.RegionId, del.DiskId = homeRegion, system.DiskId
		_, err = c.DeleteDisk(del)
		se := rpcServerError(err)
		Expect(se).NotTo(BeNil(), fmt.Sprint(err))
		Expect(se.ErrorCode()).To(Equal("IncorrectDiskStatus"))
		Expect(se.HttpStatus()).To(Equal(http.StatusForbidden))

		di := ecs.CreateDeleteInstanceRequest()
		di.RegionId, di.InstanceId = homeRegion, created.InstanceId
		_, err = c.DeleteInstance(di)
		Expect(err).NotTo(HaveOccurred())
		Expect(describe(nil).Disks.Disk).To(BeEmpty())
	})

	it("deletes an Available disk, and ignores one that does not exist, as the API documents", func() {
		id := createDisk(nil)
		del := ecs.CreateDeleteDiskRequest()
		del.RegionId, del.DiskId = homeRegion, id
		_, err := c.DeleteDisk(del)
		Expect(err).NotTo(HaveOccurred())
		Expect(describe(nil).Disks.Disk).To(BeEmpty())
		_, err = c.DeleteDisk(del)
		Expect(err).NotTo(HaveOccurred())
	})

	it("tags disks through TagResources", func() {
		id := createDisk(nil)
		tr := ecs.CreateTagResourcesRequest()
		tr.RegionId, tr.ResourceType, tr.ResourceId = homeRegion, "disk", &[]string{id}
		tr.Tag = &[]ecs.TagResourcesTag{{Key: "director", Value: "late"}}
		_, err := c.TagResources(tr)
		Expect(err).NotTo(HaveOccurred())
		resp := describe(func(r *ecs.DescribeDisksRequest) {
			r.Tag = &[]ecs.DescribeDisksTag{{Key: "director", Value: "late"}}
		})
		Expect(ids(resp)).To(Equal([]string{id}))
	})
}
