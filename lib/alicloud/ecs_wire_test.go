package alicloud_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// fastImages makes imports and copies take a moment, not minutes.
func fastImages(cfg *sim.Config) {
	cfg.ImportDuration = 200 * time.Millisecond
	cfg.CopyDuration = 300 * time.Millisecond
}

// importImage uploads a raw disk to the test bucket and imports it in its region.
func importImage(t testing.TB, c *cloud, s *alicloud.Session, name string, tags map[string]string) string {
	t.Helper()
	st, err := s.Store()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), "images/"+name+".img", []byte("raw disk"), alicloud.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	id, err := s.ImportImage(context.Background(), testRegion, alicloud.ImportRequest{
		Name: name, Bucket: c.bucket, Object: "images/" + name + ".img", DiskSizeGiB: 5, Format: "RAW",
		Architecture: "x86_64", OSType: "linux", Platform: "Ubuntu", Tags: tags,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testImages(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		s      *alicloud.Session
		ctx    = context.Background()
	)
	it.Before(func() {
		c = newCloud(t, fastImages)
		s = c.session(c.source())
	})

	it("lists the real regions", func() {
		regions, err := s.Regions(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(regions)).To(BeNumerically(">=", 25))
		var ids []string
		for _, r := range regions {
			ids = append(ids, r.ID)
		}
		Expect(ids).To(ContainElements("cn-hangzhou", "ap-southeast-1", "eu-central-1"))
	})

	it("lists every page of images, and an unknown id as nothing", func() {
		var wg sync.WaitGroup
		for i := 0; i < 105; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				importImage(t, c, s, fmt.Sprintf("bosh-stemcell-%03d", i), map[string]string{"batch": "paging"})
			}()
			if i%8 == 7 {
				wg.Wait()
			}
		}
		wg.Wait()
		before := c.calls("ecs", "DescribeImages")
		images, err := s.Images(ctx, testRegion, alicloud.ImageQuery{Tags: map[string]string{"batch": "paging"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(images).To(HaveLen(105))
		Expect(c.calls("ecs", "DescribeImages")-before).To(Equal(2), "100 per page")

		none, err := s.Images(ctx, testRegion, alicloud.ImageQuery{IDs: []string{"m-doesnotexist"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(none).To(BeEmpty())
		_, err = s.Image(ctx, testRegion, "m-doesnotexist")
		Expect(alicloud.HasCode(err, "ImageNotFound")).To(BeTrue())
	})

	it("finds images by tag, shares them and verifies the sharing", func() {
		id := importImage(t, c, s, "light", map[string]string{"stemcell": "bosh-alicloud-kvm-ubuntu-noble"})
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.TagImage(ctx, testRegion, id, map[string]string{"version": "1.484", "stage": "candidate"})).To(Succeed())
		found, err := s.Images(ctx, testRegion, alicloud.ImageQuery{Tags: map[string]string{"version": "1.484", "stage": "candidate"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(HaveLen(1))
		Expect(found[0].TagMap()).To(HaveKeyWithValue("stemcell", "bosh-alicloud-kvm-ubuntu-noble"))

		Expect(s.ShareImage(ctx, testRegion, id, alicloud.Sharing{Accounts: []string{"1234567890123456"}})).To(Succeed())
		sharing, err := s.ImageSharing(ctx, testRegion, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(sharing).To(Equal(alicloud.Sharing{Accounts: []string{"1234567890123456"}}))

		Expect(s.ShareImage(ctx, testRegion, id, alicloud.Sharing{Public: true})).To(Succeed())
		sharing, err = s.ImageSharing(ctx, testRegion, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(sharing).To(Equal(alicloud.Sharing{Public: true}))
	})

	it("deletes a shared or public image by making it private first, and its snapshots once it is gone", func() {
		for _, sharing := range []alicloud.Sharing{{Accounts: []string{"1234567890123456"}}, {Public: true}} {
			id := importImage(t, c, s, "published", nil)
			_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
			Expect(err).NotTo(HaveOccurred())
			image, err := s.Image(ctx, testRegion, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(s.ShareImage(ctx, testRegion, id, sharing)).To(Succeed())
			before := c.calls("ecs", "DeleteSnapshot")

			Expect(s.DeleteImage(ctx, testRegion, id)).To(Succeed())
			left, err := s.Images(ctx, testRegion, alicloud.ImageQuery{IDs: []string{id}})
			Expect(err).NotTo(HaveOccurred())
			Expect(left).To(BeEmpty())
			Expect(c.calls("ecs", "DeleteSnapshot") - before).To(Equal(len(image.SnapshotIDs())))
			Expect(c.sim.Journal()).NotTo(ContainElement(And(HaveField("Action", "DeleteSnapshot"), HaveField("ErrorCode", "SnapshotCreatedImage"))),
				"the snapshots are deleted only once the image has gone")
		}
	})

	it("refuses to delete an image while it is being copied, then deletes it with its snapshots", func() {
		id := importImage(t, c, s, "source", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		image, err := s.Image(ctx, testRegion, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(image.SnapshotIDs()).NotTo(BeEmpty())
		copyID, err := s.CopyImage(ctx, testRegion, id, "cn-beijing", "source-copy", nil)
		Expect(err).NotTo(HaveOccurred())

		err = s.DeleteImage(ctx, testRegion, id)
		Expect(alicloud.HasCode(err, "OperationDenied.ImageCopying")).To(BeTrue(), "%v", err)

		_, err = s.WaitImage(ctx, "cn-beijing", copyID, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(s.DeleteImage(ctx, testRegion, id)).To(Succeed())
		Expect(c.calls("ecs", "DeleteSnapshot")).To(Equal(len(image.SnapshotIDs())))
		left, err := s.Images(ctx, testRegion, alicloud.ImageQuery{IDs: []string{id}})
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty())
		Expect(s.DeleteImage(ctx, testRegion, id)).To(Succeed(), "deleting what is gone is fine")
	})

	it("imports once when the answer to ImportImage is lost and the call is retried", func() {
		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "ImportImage", Nth: 1, Kind: sim.FaultLostAnswer})
		id := importImage(t, c, s, "lost-import", map[string]string{"run": "lost"})
		images, err := s.Images(ctx, testRegion, alicloud.ImageQuery{Name: "lost-import"})
		Expect(err).NotTo(HaveOccurred())
		Expect(images).To(HaveLen(1))
		Expect(images[0].ID).To(Equal(id))
		Expect(c.calls("ecs", "ImportImage")).To(Equal(2), "the retry carried the same ClientToken")
	})

	it("returns the copy a lost CopyImage answer made, instead of failing on the duplicate name", func() {
		source := importImage(t, c, s, "lost-copy", nil)
		_, err := s.WaitImage(ctx, testRegion, source, alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "CopyImage", Nth: 1, Kind: sim.FaultLostAnswer})
		tags := map[string]string{"source-image": source}
		id, err := s.CopyImage(ctx, testRegion, source, "eu-central-1", "lost-copy", tags)
		Expect(err).NotTo(HaveOccurred())
		images, err := s.Images(ctx, "eu-central-1", alicloud.ImageQuery{Name: "lost-copy"})
		Expect(err).NotTo(HaveOccurred())
		Expect(images).To(HaveLen(1))
		Expect(images[0].ID).To(Equal(id))
		Expect(c.log.String()).To(ContainSubstring("an earlier try made " + id))
	})

	it("returns a copy whose CopyImage was sent even when the context ends meanwhile, and sends none once it has ended", func() {
		source := importImage(t, c, s, "ctx-copy", nil)
		_, err := s.WaitImage(ctx, testRegion, source, alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())

		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "CopyImage", Nth: 1, Kind: sim.FaultLatency, Latency: 400 * time.Millisecond})
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		id, err := s.CopyImage(short, testRegion, source, "eu-central-1", "ctx-copy", nil)
		Expect(err).NotTo(HaveOccurred(), "the id of a copy ECS accepted comes back")
		Expect(id).To(HavePrefix("m-"))

		ended, cancelNow := context.WithCancel(ctx)
		cancelNow()
		_, err = s.CopyImage(ended, testRegion, source, "eu-west-1", "ctx-copy", nil)
		Expect(err).To(MatchError(context.Canceled))
		Expect(c.calls("ecs", "CopyImage")).To(Equal(1))
	})

	it("never sends a CopyImage whose try gave up waiting for the region's client", func() {
		source := importImage(t, c, s, "slow-region", nil)
		_, err := s.WaitImage(ctx, testRegion, source, alicloud.WaitOptions{FirstPoll: 100 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		slow := c.session(c.source(), func(o *alicloud.Options) { o.CallTimeout = 300 * time.Millisecond })
		// Two slow DescribeImages hold the region's client longer than a try may wait.
		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "DescribeImages", Count: 2, Kind: sim.FaultLatency, Latency: 700 * time.Millisecond})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = slow.Images(ctx, testRegion, alicloud.ImageQuery{Name: "slow-region"}) // only holds the client: times out
			}()
		}
		time.Sleep(50 * time.Millisecond)
		id, err := slow.CopyImage(ctx, testRegion, source, "eu-central-1", "slow-copy", map[string]string{"source-image": source})
		wg.Wait()
		Expect(err).NotTo(HaveOccurred())
		time.Sleep(time.Second) // anything sent late would have arrived by now
		images, err := s.Images(ctx, "eu-central-1", alicloud.ImageQuery{Name: "slow-copy"})
		Expect(err).NotTo(HaveOccurred())
		Expect(images).To(HaveLen(1))
		Expect(images[0].ID).To(Equal(id))
		for _, e := range c.sim.Journal() {
			if e.Action == "CopyImage" {
				Expect(e.ErrorCode).To(BeEmpty(), "no CopyImage was sent late into a duplicate name")
			}
		}
	})

	it("queues a sixth copy out of one source region", func() {
		id := importImage(t, c, s, "fanout", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		var copies []string
		var regions []string
		for _, region := range []string{"cn-beijing", "cn-shanghai", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou", "ap-southeast-1"} {
			copyID, err := s.CopyImage(ctx, testRegion, id, region, "fanout", nil)
			Expect(err).NotTo(HaveOccurred())
			copies, regions = append(copies, copyID), append(regions, region)
		}
		sixth, err := s.Image(ctx, regions[5], copies[5])
		Expect(err).NotTo(HaveOccurred())
		Expect(sixth.Status).To(Equal(alicloud.ImageWaiting))
		first, err := s.Image(ctx, regions[0], copies[0])
		Expect(err).NotTo(HaveOccurred())
		Expect(first.Status).To(Equal(alicloud.ImageCreating))
	})
}

func testWaiting(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		ctx    = context.Background()
	)

	it("waits for a copy with no more than 6 looks, following its progress", func() {
		c := newCloud(t, func(cfg *sim.Config) { cfg.ImportDuration = 100 * time.Millisecond; cfg.CopyDuration = 3 * time.Second })
		s := c.session(c.source())
		id := importImage(t, c, s, "waited", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		copyID, err := s.CopyImage(ctx, testRegion, id, "eu-central-1", "waited", nil)
		Expect(err).NotTo(HaveOccurred())

		before := c.calls("ecs", "DescribeImages")
		var progress []string
		image, err := s.WaitImage(ctx, "eu-central-1", copyID, alicloud.WaitOptions{OnPoll: func(i alicloud.Image) {
			progress = append(progress, i.Status+" "+i.Progress)
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(image.Status).To(Equal(alicloud.ImageAvailable))
		Expect(c.calls("ecs", "DescribeImages")-before).To(BeNumerically("<=", 6), "looks: %v", progress)
		Expect(len(progress)).To(BeNumerically(">=", 2), "it saw the copy in progress: %v", progress)
	})

	it("waits for a new image that ECS does not list yet", func() {
		c := newCloud(t, fastImages)
		s := c.session(c.source())
		id := importImage(t, c, s, "late", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		c.sim.SetImageVisibilityDelay(time.Second)
		copyID, err := s.CopyImage(ctx, testRegion, id, "cn-shanghai", "late", nil)
		Expect(err).NotTo(HaveOccurred())
		image, err := s.WaitImage(ctx, "cn-shanghai", copyID, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(image.Status).To(Equal(alicloud.ImageAvailable))

		hidden, err := s.CopyImage(ctx, testRegion, id, "cn-qingdao", "hidden", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.DeleteImage(ctx, "cn-qingdao", hidden)).To(Succeed(), "a copy in progress, not listed yet, is cancelled")
		Expect(c.calls("ecs", "CancelCopyImage")).To(Equal(1))
		time.Sleep(1100 * time.Millisecond)
		gone, err := s.Images(ctx, "cn-qingdao", alicloud.ImageQuery{IDs: []string{hidden}})
		Expect(err).NotTo(HaveOccurred())
		Expect(gone).To(BeEmpty())
	})

	it("absorbs throttling and 5xx while waiting", func() {
		c := newCloud(t, fastImages)
		s := c.session(c.source())
		id := importImage(t, c, s, "flaky", nil)
		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "DescribeImages", Nth: 1, Kind: sim.FaultThrottling})
		c.sim.AddFault(sim.Fault{Service: "ecs", Action: "DescribeImages", Nth: 2, Kind: sim.FaultServiceUnavailable})
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(c.log.Lines(), "\n")).To(ContainSubstring("ecs DescribeImages: Throttling"))
	})

	it("reports a copy that failed, naming its region", func() {
		c := newCloud(t, fastImages)
		s := c.session(c.source())
		id := importImage(t, c, s, "doomed", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(c.sim.FailCopyTo("ap-northeast-1", 1)).To(Succeed())
		copyID, err := s.CopyImage(ctx, testRegion, id, "ap-northeast-1", "doomed", nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = s.WaitImage(ctx, "ap-northeast-1", copyID, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).To(MatchError(fmt.Sprintf("image %s in ap-northeast-1 is CreateFailed", copyID)))
	})

	it("gives up when its context ends, saying where the image was", func() {
		c := newCloud(t, func(cfg *sim.Config) { cfg.ImportDuration = time.Hour })
		s := c.session(c.source())
		id := importImage(t, c, s, "slow", nil)
		deadline, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := s.WaitImage(deadline, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).To(MatchError(ContainSubstring("waiting for image " + id + " in cn-hangzhou")))
	})
}

func testInstances(t *testing.T, when spec.G, it spec.S) {
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

	it("chooses a zone with stock for every instance type, and says what each zone lacks", func() {
		zones := map[string]bool{}
		for _, z := range c.sim.Zones() {
			if z.Region == testRegion {
				zones[z.ID] = true
			}
		}
		Expect(len(zones)).To(BeNumerically(">=", 2))
		first, err := s.ZoneWithStock(ctx, testRegion, []string{"ecs.g6.large", "ecs.c6.large"})
		Expect(err).NotTo(HaveOccurred())

		Expect(c.sim.SetStock(first, "ecs.g6.large", false)).To(Succeed())
		second, err := s.ZoneWithStock(ctx, testRegion, []string{"ecs.g6.large", "ecs.c6.large"})
		Expect(err).NotTo(HaveOccurred())
		Expect(second).NotTo(Equal(first))

		for zone := range zones {
			Expect(c.sim.SetStock(zone, "ecs.g6.large", false)).To(Succeed())
		}
		_, err = s.ZoneWithStock(ctx, testRegion, []string{"ecs.g6.large"})
		Expect(err).To(MatchError(ContainSubstring("no zone in cn-hangzhou has [ecs.g6.large] in stock")))
		Expect(err).To(MatchError(ContainSubstring(first + " lacks [ecs.g6.large]")))
	})

	it("lists instances by VPC and tag, and deletes them within a bounded wait", func() {
		id := importImage(t, c, s, "vm", nil)
		_, err := s.WaitImage(ctx, testRegion, id, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		zone, err := s.ZoneWithStock(ctx, testRegion, []string{"ecs.g6.large"})
		Expect(err).NotTo(HaveOccurred())
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, createInstance(t, c, zone, id, map[string]string{"director": "bats", "n": fmt.Sprint(i)}))
		}
		createInstance(t, c, zone, id, map[string]string{"director": "other"})

		tagged, err := s.Instances(ctx, testRegion, alicloud.InstanceQuery{Tags: map[string]string{"director": "bats"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(tagged).To(HaveLen(3))
		Expect(tagged[0].VPC.VpcID).To(Equal("vpc-bats"))
		inVPC, err := s.Instances(ctx, testRegion, alicloud.InstanceQuery{VpcID: "vpc-bats"})
		Expect(err).NotTo(HaveOccurred())
		Expect(inVPC).To(HaveLen(4))
		elsewhere, err := s.Instances(ctx, testRegion, alicloud.InstanceQuery{VpcID: "vpc-other"})
		Expect(err).NotTo(HaveOccurred())
		Expect(elsewhere).To(BeEmpty())

		Expect(s.DeleteInstances(ctx, testRegion, ids, 30*time.Second)).To(Succeed())
		left, err := s.Instances(ctx, testRegion, alicloud.InstanceQuery{Tags: map[string]string{"director": "bats"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty())
	})
}

// createInstance creates an instance through the SDK directly: the pack never creates VMs itself
// (the CPI does), but its sweepers find and delete them.
func createInstance(t *testing.T, c *cloud, zone, image string, tags map[string]string) string {
	t.Helper()
	client, err := sdk.NewClientWithOptions(testRegion, sdk.NewConfig(), credentials.NewAccessKeyCredential(testKeyID, testKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	request := requests.NewCommonRequest()
	request.Method, request.Scheme, request.Domain = "POST", "http", strings.TrimPrefix(c.url, "http://")
	request.Product, request.Version, request.ApiName = "Ecs", "2014-05-26", "CreateInstance"
	request.QueryParams["RegionId"] = testRegion
	request.QueryParams["ZoneId"] = zone
	request.QueryParams["InstanceType"] = "ecs.g6.large"
	request.QueryParams["ImageId"] = image
	request.QueryParams["VSwitchId"] = "vsw-bats"
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
	var answer struct{ InstanceId string }
	if err := jsonUnmarshal(response.GetHttpContentBytes(), &answer); err != nil {
		t.Fatal(err)
	}
	return answer.InstanceId
}
