package alicloud_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

func testDisks(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		s      *alicloud.Session
		ctx    = context.Background()
	)
	it.Before(func() {
		c = newCloud(t, fastImages, func(cfg *sim.Config) {
			cfg.VSwitches = []sim.VSwitch{{ID: "vsw-bats", VpcID: "vpc-bats"}}
		})
		s = c.session(c.source())
	})

	it("lists disks by tag over every page (more than 100), and deletes them within a bounded wait", func() {
		var mine []string
		for i := range 101 {
			mine = append(mine, createDisk(t, c, map[string]string{"director": "bats", "n": fmt.Sprint(i)}))
		}
		other := createDisk(t, c, map[string]string{"director": "other"})

		tagged, err := s.Disks(ctx, testRegion, alicloud.DiskQuery{Tags: map[string]string{"director": "bats"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(tagged).To(HaveLen(101))
		var ids []string
		for _, d := range tagged {
			ids = append(ids, d.ID)
			Expect(d.Status).To(Equal("Available"))
			Expect(d.Type).To(Equal("data"))
		}
		Expect(ids).To(ConsistOf(mine))

		Expect(s.DeleteDisks(ctx, testRegion, ids, 30*time.Second)).To(Succeed())
		left, err := s.Disks(ctx, testRegion, alicloud.DiskQuery{})
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(HaveLen(1))
		Expect(left[0].ID).To(Equal(other))
		none, err := s.Disks(ctx, testRegion, alicloud.DiskQuery{IDs: []string{}})
		Expect(err).NotTo(HaveOccurred())
		Expect(none).To(BeEmpty())
	})

	it("names an attached disk that is still there when the wait runs out", func() {
		id := importImage(t, c, s, "vm", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		zone, err := s.ZoneWithStock(ctx, testRegion, []string{"ecs.g6.large"})
		Expect(err).NotTo(HaveOccurred())
		vm := createInstance(t, c, zone, id, nil)
		disks, err := s.Disks(ctx, testRegion, alicloud.DiskQuery{})
		Expect(err).NotTo(HaveOccurred())
		Expect(disks).To(HaveLen(1))
		Expect(disks[0].Status).To(Equal("In_use"))
		Expect(disks[0].InstanceID).To(Equal(vm))

		err = s.DeleteDisks(ctx, testRegion, []string{disks[0].ID}, 100*time.Millisecond)
		Expect(err).To(MatchError(ContainSubstring("disks in cn-hangzhou still exist 100ms after deletion: [" + disks[0].ID + " (In_use)]")))
	})
}

// createDisk creates a data disk through the SDK directly (the CPI makes disks, not the pack).
func createDisk(t *testing.T, c *cloud, tags map[string]string) string {
	t.Helper()
	client, err := sdk.NewClientWithOptions(testRegion, sdk.NewConfig(), credentials.NewAccessKeyCredential(testKeyID, testKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	request := requests.NewCommonRequest()
	request.Method, request.Scheme, request.Domain = "POST", "http", strings.TrimPrefix(c.url, "http://")
	request.Product, request.Version, request.ApiName = "Ecs", "2014-05-26", "CreateDisk"
	request.QueryParams["RegionId"] = testRegion
	request.QueryParams["ZoneId"] = "cn-hangzhou-a"
	request.QueryParams["Size"] = "20"
	i := 1
	for k, v := range tags {
		request.QueryParams[fmt.Sprintf("Tag.%d.Key", i)] = k
		request.QueryParams[fmt.Sprintf("Tag.%d.Value", i)] = v
		i++
	}
	response, err := client.ProcessCommonRequest(request)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ DiskId string }
	if err := jsonUnmarshal(response.GetHttpContentBytes(), &answer); err != nil {
		t.Fatal(err)
	}
	return answer.DiskId
}
