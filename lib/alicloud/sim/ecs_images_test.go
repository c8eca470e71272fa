package sim_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testECSImages(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *ecs.Client
	)

	it.Before(func() {
		e = newEnv(t)
		c = e.ecsClient(keyID, keySecret)
	})

	expectServerError := func(err error, status int, code string) {
		t.Helper()
		se := rpcServerError(err)
		Expect(se).NotTo(BeNil(), fmt.Sprintf("want %d %s, got %v", status, code, err))
		Expect(se.ErrorCode()).To(Equal(code), se.Message())
		Expect(se.HttpStatus()).To(Equal(status))
	}

	context("DescribeRegions", func() {
		it("lists the public regions with their local names and endpoints", func() {
			req := ecs.CreateDescribeRegionsRequest()
			resp, err := c.DescribeRegions(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Regions.Region).To(HaveLen(29))
			var hangzhou ecs.Region
			for _, r := range resp.Regions.Region {
				if r.RegionId == "cn-hangzhou" {
					hangzhou = r
				}
			}
			Expect(hangzhou.LocalName).To(Equal("华东1（杭州）"))
			Expect(hangzhou.RegionEndpoint).To(Equal("ecs-cn-hangzhou.aliyuncs.com"))

			req = ecs.CreateDescribeRegionsRequest()
			req.AcceptLanguage = "en-US"
			resp, err = c.DescribeRegions(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Regions.Region).To(ContainElement(ecs.Region{RegionId: "eu-central-1", LocalName: "Germany (Frankfurt)",
				RegionEndpoint: "ecs.eu-central-1.aliyuncs.com", Status: "available"}))
		})
	})

	context("ImportImage", func() {
		it("creates an image that runs Creating with linear progress, then becomes Available", func() {
			e.imageObject(homeRegion, "stemcells", "bosh-stemcell-1.484/root.img")
			req := importRequest(homeRegion, "bosh-alicloud-kvm-ubuntu-noble-1.484", "stemcells", "bosh-stemcell-1.484/root.img")
			req.Tag = &[]ecs.ImportImageTag{{Key: "stemcell", Value: "1.484"}}
			resp, err := c.ImportImage(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.ImageId).To(MatchRegexp(`^m-[a-z0-9]{20}$`))
			Expect(resp.TaskId).To(HavePrefix("t-"))
			Expect(resp.RegionId).To(Equal(homeRegion))

			// Without a Status filter only Available images are listed.
			list, err := describeImages(c, homeRegion, withImageID(resp.ImageId))
			Expect(err).NotTo(HaveOccurred())
			Expect(list.Images.Image).To(BeEmpty())

			img := imageByID(c, homeRegion, resp.ImageId)
			Expect(img).NotTo(BeNil())
			// The test clock is real time plus what the test advances: allow the few hundred
			// milliseconds a slow (race-detector, shared machine) run spends between calls.
			Expect(img.Status).To(Equal("Creating"))
			Expect(img.Progress).To(MatchRegexp(`^1?[0-9]%$`))

			e.clock.Advance(time.Second)
			img = imageByID(c, homeRegion, resp.ImageId)
			Expect(img.Status).To(Equal("Creating"))
			Expect(img.Progress).To(MatchRegexp(`^[56][0-9]%$`))
			Expect(img.DiskDeviceMappings.DiskDeviceMapping[0].RemainTime).To(BeNumerically("<=", 1))

			e.clock.Advance(time.Second)
			img = imageByID(c, homeRegion, resp.ImageId)
			Expect(img.Status).To(Equal("Available"))
			Expect(img.Progress).To(Equal("100%"))
			Expect(img.ImageName).To(Equal("bosh-alicloud-kvm-ubuntu-noble-1.484"))
			Expect(img.Description).To(Equal("light stemcell image"))
			Expect(img.ImageOwnerAlias).To(Equal("self"))
			Expect(img.Architecture).To(Equal("x86_64"))
			Expect(img.OSType).To(Equal("linux"))
			Expect(img.Platform).To(Equal("Ubuntu"))
			Expect(img.Size).To(Equal(5))
			Expect(img.IsCopied).To(BeFalse())
			Expect(img.Usage).To(Equal("none"))
			Expect(img.Tags.Tag).To(ConsistOf(ecs.Tag{TagKey: "stemcell", TagValue: "1.484", Key: "stemcell", Value: "1.484"}))
			disk := img.DiskDeviceMappings.DiskDeviceMapping[0]
			Expect(disk.SnapshotId).To(MatchRegexp(`^s-[a-z0-9]{20}$`))
			Expect(disk.ImportOSSBucket).To(Equal("stemcells"))
			Expect(disk.ImportOSSObject).To(Equal("bosh-stemcell-1.484/root.img"))
			Expect(disk.Device).To(Equal("/dev/xvda"))
			Expect(disk.Size).To(Equal("5"))
			Expect(disk.Format).To(Equal("RAW"))
			created, err := time.Parse("2006-01-02T15:04:05Z", img.CreationTime)
			Expect(err).NotTo(HaveOccurred())
			Expect(created).To(BeTemporally("~", e.clock.Now().Add(-2*time.Second), 2*time.Second))

			// The emulator records when the image became Available, exactly ImportDuration after it started.
			evs := eventsOf(e.srv, resp.ImageId)
			Expect(eventStatuses(evs)).To(Equal([]string{"Creating", "Available"}))
			Expect(eventAt(evs, "Available").Sub(eventAt(evs, "Creating"))).To(Equal(2 * time.Second))
			Expect(evs[0].Region).To(Equal(homeRegion))
		})

		it("answers with the JSON types of the real API", func() {
			id := e.mustAvailable(c, homeRegion, "typed")
			body, err := e.ecsCommon(e.commonClient(keyID, keySecret), "DescribeImages", homeRegion, map[string]string{"ImageId": id})
			Expect(err).NotTo(HaveOccurred())
			Expect(jsonPath(body, "TotalCount")).To(BeNumerically("==", 1))
			Expect(jsonPath(body, "Images", "Image", "0", "Size")).To(BeNumerically("==", 5))
			Expect(jsonPath(body, "Images", "Image", "0", "IsPublic")).To(Equal(false))
			Expect(jsonPath(body, "Images", "Image", "0", "Progress")).To(Equal("100%"))
			Expect(jsonPath(body, "Images", "Image", "0", "DiskDeviceMappings", "DiskDeviceMapping", "0", "Size")).To(Equal("5"))
			Expect(jsonPath(body, "Images", "Image", "0", "Tags", "Tag")).To(Equal([]any{}))
			Expect(jsonPath(body, "RequestId")).To(MatchRegexp(`^[0-9A-F-]{36}$`))
		})

		it("refuses an object in a bucket of another region, a missing object and a missing mapping", func() {
			e.imageObject(remoteRegion, "frankfurt-images", "root.img")
			_, err := c.ImportImage(importRequest(homeRegion, "elsewhere", "frankfurt-images", "root.img"))
			expectServerError(err, 400, "InvalidOSSBucket.NotFound")

			e.imageObject(homeRegion, "hangzhou-images", "root.img")
			_, err = c.ImportImage(importRequest(homeRegion, "missing", "hangzhou-images", "no-such.img"))
			expectServerError(err, 400, "InvalidOSSObject.NotFound")

			_, err = c.ImportImage(importRequest(homeRegion, "nobucket", "no-such-bucket", "root.img"))
			expectServerError(err, 400, "InvalidOSSBucket.NotFound")

			req := importRequest(homeRegion, "nomapping", "", "")
			req.DiskDeviceMapping = nil
			_, err = c.ImportImage(req)
			expectServerError(err, 403, "MissingParameter.DiskDeviceMapping")

			// Another account's private object cannot be read by ECS on the caller's behalf.
			_, err = e.ecsClient(otherKeyID, otherSecret).ImportImage(importRequest(homeRegion, "stolen", "hangzhou-images", "root.img"))
			expectServerError(err, 400, "InvalidOSSObject.NotFound")

			// The same request in the bucket's region works.
			_, err = c.ImportImage(importRequest(remoteRegion, "elsewhere", "frankfurt-images", "root.img"))
			Expect(err).NotTo(HaveOccurred())
		})

		it("refuses a name the account already uses in the region, and malformed names", func() {
			e.mustImport(c, homeRegion, "bosh-1.484")
			_, err := c.ImportImage(importRequest(homeRegion, "bosh-1.484", "images-"+homeRegion, "bosh-1.484.img"))
			expectServerError(err, 400, "InvalidImageName.Duplicated")
			_, err = c.ImportImage(importRequest(homeRegion, "1-starts-with-a-digit", "images-"+homeRegion, "bosh-1.484.img"))
			expectServerError(err, 400, "InvalidImageName.Malformed")
			_, err = c.ImportImage(importRequest(homeRegion, "has/slash", "images-"+homeRegion, "bosh-1.484.img"))
			expectServerError(err, 400, "InvalidImageName.Malformed")
			// The same name in another region is fine.
			e.mustImport(c, remoteRegion, "bosh-1.484")
		})

		it("answers a retried request with the same ClientToken with the first image", func() {
			e.imageObject(homeRegion, "tokens", "root.img")
			req := importRequest(homeRegion, "idempotent", "tokens", "root.img")
			req.ClientToken = "build-42-import"
			first, err := c.ImportImage(req)
			Expect(err).NotTo(HaveOccurred())
			req = importRequest(homeRegion, "idempotent", "tokens", "root.img")
			req.ClientToken = "build-42-import"
			second, err := c.ImportImage(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(second.ImageId).To(Equal(first.ImageId))
		})

		it("stops a DryRun request before doing anything", func() {
			e.imageObject(homeRegion, "dry", "root.img")
			req := importRequest(homeRegion, "dry-run", "dry", "root.img")
			req.DryRun = requests.NewBoolean(true)
			_, err := c.ImportImage(req)
			expectServerError(err, 400, "DryRunOperation")
			list, err := describeImages(c, homeRegion, withStatus(allStatuses))
			Expect(err).NotTo(HaveOccurred())
			Expect(list.TotalCount).To(Equal(0))
		})
	})

	context("DescribeImages", func() {
		it("pages past one page and refuses a PageSize above 100", func() {
			var want []string
			for i := range 25 {
				want = append(want, e.mustImport(c, homeRegion, fmt.Sprintf("paged-%02d", i)))
			}
			e.clock.Advance(2 * time.Second)
			var got []string
			for page, size := range []int{10, 10, 5} {
				resp, err := describeImages(c, homeRegion, withPage(page+1, 10))
				Expect(err).NotTo(HaveOccurred())
				Expect(resp.TotalCount).To(Equal(25))
				Expect(resp.PageNumber).To(Equal(page + 1))
				Expect(resp.PageSize).To(Equal(10))
				Expect(resp.RegionId).To(Equal(homeRegion))
				Expect(resp.Images.Image).To(HaveLen(size))
				got = append(got, imageIDs(resp.Images.Image)...)
			}
			Expect(got).To(ConsistOf(want))
			// Newest first.
			Expect(got[0]).To(Equal(want[24]))

			resp, err := describeImages(c, homeRegion, withPage(4, 10))
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Images.Image).To(BeEmpty())
			Expect(resp.TotalCount).To(Equal(25))

			resp, err = describeImages(c, homeRegion)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.PageSize).To(Equal(10)) // the default
			Expect(resp.Images.Image).To(HaveLen(10))

			resp, err = describeImages(c, homeRegion, withPage(1, 100))
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Images.Image).To(HaveLen(25))

			_, err = describeImages(c, homeRegion, withPage(1, 101))
			expectServerError(err, 400, "InvalidParameter")
			_, err = describeImages(c, homeRegion, withPage(0, 10))
			expectServerError(err, 400, "InvalidParameter")
		})

		it("answers an unknown ImageId with an empty list, not an error", func() {
			id := e.mustAvailable(c, homeRegion, "known")
			resp, err := describeImages(c, homeRegion, withImageID("m-doesnotexist000000000"))
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Images.Image).To(BeEmpty())
			Expect(resp.TotalCount).To(Equal(0))

			resp, err = describeImages(c, homeRegion, withImageID("m-doesnotexist000000000, "+id))
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{id}))

			// An image of another region is unknown here.
			resp, err = describeImages(c, remoteRegion, withImageID(id))
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Images.Image).To(BeEmpty())
		})

		it("lists only Available images unless Status says otherwise", func() {
			ready := e.mustAvailable(c, homeRegion, "ready")
			busy := e.mustImport(c, homeRegion, "busy")
			resp, err := describeImages(c, homeRegion)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{ready}))
			resp, err = describeImages(c, homeRegion, withStatus("Creating"))
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{busy}))
			resp, err = describeImages(c, homeRegion, withStatus("Creating,Available"))
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(ConsistOf(ready, busy))
			_, err = describeImages(c, homeRegion, withStatus("Ready"))
			expectServerError(err, 400, "InvalidParameter")
			_, err = describeImages(c, homeRegion, func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "mine" })
			expectServerError(err, 400, "InvalidImageOwnerAlias.ValueNotSupported")
		})

		it("filters by tags, set at import or later with TagResources and AddTags", func() {
			a := e.mustImport(c, homeRegion, "tagged-a", ecs.ImportImageTag{Key: "stemcell", Value: "ubuntu-noble"}, ecs.ImportImageTag{Key: "version", Value: "1.484"})
			b := e.mustImport(c, homeRegion, "tagged-b", ecs.ImportImageTag{Key: "stemcell", Value: "ubuntu-jammy"})
			untagged := e.mustImport(c, homeRegion, "untagged")
			e.clock.Advance(2 * time.Second)
			byTags := func(tags ...ecs.DescribeImagesTag) []string {
				resp, err := describeImages(c, homeRegion, func(r *ecs.DescribeImagesRequest) { r.Tag = &tags })
				Expect(err).NotTo(HaveOccurred())
				return imageIDs(resp.Images.Image)
			}
			Expect(byTags(ecs.DescribeImagesTag{Key: "stemcell", Value: "ubuntu-noble"})).To(Equal([]string{a}))
			Expect(byTags(ecs.DescribeImagesTag{Key: "stemcell"})).To(ConsistOf(a, b))
			Expect(byTags(ecs.DescribeImagesTag{Key: "stemcell"}, ecs.DescribeImagesTag{Key: "version", Value: "1.484"})).To(Equal([]string{a}))

			tr := ecs.CreateTagResourcesRequest()
			tr.RegionId, tr.ResourceType = homeRegion, "image"
			tr.ResourceId = &[]string{b, untagged}
			tr.Tag = &[]ecs.TagResourcesTag{{Key: "version", Value: "1.484"}}
			_, err := c.TagResources(tr)
			Expect(err).NotTo(HaveOccurred())
			Expect(byTags(ecs.DescribeImagesTag{Key: "version", Value: "1.484"})).To(ConsistOf(a, b, untagged))

			at := ecs.CreateAddTagsRequest()
			at.RegionId, at.ResourceType, at.ResourceId = homeRegion, "image", untagged
			at.Tag = &[]ecs.AddTagsTag{{Key: "stemcell", Value: "windows"}, {Key: "version", Value: "2019"}}
			_, err = c.AddTags(at)
			Expect(err).NotTo(HaveOccurred())
			Expect(byTags(ecs.DescribeImagesTag{Key: "version", Value: "1.484"})).To(ConsistOf(a, b))
			Expect(byTags(ecs.DescribeImagesTag{Key: "stemcell", Value: "windows"})).To(Equal([]string{untagged}))

			tr.ResourceId = &[]string{a, "m-nosuchimage0000000000"}
			_, err = c.TagResources(tr)
			expectServerError(err, 404, "InvalidResourceId.NotFound")
			tr = ecs.CreateTagResourcesRequest() // the SDK keeps a used request's parameters
			tr.RegionId, tr.ResourceType, tr.ResourceId = homeRegion, "image", &[]string{a}
			tr.Tag = &[]ecs.TagResourcesTag{{Key: "aliyun-reserved", Value: "x"}}
			_, err = c.TagResources(tr)
			expectServerError(err, 400, "InvalidTagKey.Malformed")
		})

		it("matches ImageName as a substring, as the documented fuzzy match allows", func() {
			noble := e.mustImport(c, homeRegion, "bosh-alicloud-kvm-ubuntu-noble-1.484")
			nobleNext := e.mustImport(c, homeRegion, "bosh-alicloud-kvm-ubuntu-noble-1.4841")
			e.clock.Advance(2 * time.Second)
			resp, err := describeImages(c, homeRegion, func(r *ecs.DescribeImagesRequest) { r.ImageName = "ubuntu-noble-1.484" })
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(ConsistOf(noble, nobleNext))
		})
	})

	context("ModifyImageAttribute", func() {
		it("renames and redescribes an image, keeping names unique", func() {
			id := e.mustAvailable(c, homeRegion, "old-name")
			e.mustImport(c, homeRegion, "taken")
			req := ecs.CreateModifyImageAttributeRequest()
			req.RegionId, req.ImageId, req.ImageName, req.Description = homeRegion, id, "new-name", "renamed"
			_, err := c.ModifyImageAttribute(req)
			Expect(err).NotTo(HaveOccurred())
			img := imageByID(c, homeRegion, id)
			Expect(img.ImageName).To(Equal("new-name"))
			Expect(img.Description).To(Equal("renamed"))
			req.ImageName = "taken"
			_, err = c.ModifyImageAttribute(req)
			expectServerError(err, 400, "InvalidImageName.Duplicated")
		})
	})

	context("deleting images and snapshots", func() {
		it("keeps the snapshots of a deleted image, and refuses to delete a snapshot behind an image", func() {
			id := e.mustAvailable(c, homeRegion, "backed")
			snap := imageByID(c, homeRegion, id).DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId
			ds := ecs.CreateDeleteSnapshotRequest()
			ds.RegionId, ds.SnapshotId = homeRegion, snap
			_, err := c.DeleteSnapshot(ds)
			expectServerError(err, 403, "SnapshotCreatedImage")
			ds.Force = requests.NewBoolean(true)
			_, err = c.DeleteSnapshot(ds)
			expectServerError(err, 403, "SnapshotCreatedImage")

			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
			// The image goes after the default DeleteDuration; until then it stays listed.
			Expect(imageByID(c, homeRegion, id)).NotTo(BeNil())
			e.clock.Advance(time.Second)
			Expect(imageByID(c, homeRegion, id)).To(BeNil())
			Expect(eventStatuses(eventsOf(e.srv, id))).To(Equal([]string{"Creating", "Available", "Deleting", "Deleted"}))

			_, err = c.DeleteImage(di)
			expectServerError(err, 404, "InvalidImageId.NotFound")

			// The snapshot outlived its image; now it can go.
			_, err = c.DeleteSnapshot(ds)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.DeleteSnapshot(ds)
			expectServerError(err, 404, "InvalidSnapshotId.NotFound")
		})

		it("refuses to delete an image while it is imported", func() {
			id := e.mustImport(c, homeRegion, "importing")
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err := c.DeleteImage(di)
			expectServerError(err, 403, "ImageIsImporting")
			e.clock.Advance(2 * time.Second)
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
		})

		it("answers another account's image as unknown", func() {
			id := e.mustAvailable(c, homeRegion, "private")
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err := e.ecsClient(otherKeyID, otherSecret).DeleteImage(di)
			expectServerError(err, 404, "InvalidImageId.NotFound")
		})
	})

	context("sharing", func() {
		it("shows a shared image to the other account as others, until it is unshared", func() {
			other := e.ecsClient(otherKeyID, otherSecret)
			otherAccount, ok := e.srv.AccountID(otherKeyID)
			Expect(ok).To(BeTrue())
			Expect(otherAccount).To(MatchRegexp(`^\d{16}$`))
			id := e.mustAvailable(c, homeRegion, "shared")
			Expect(imageByID(other, homeRegion, id)).To(BeNil())

			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId = homeRegion, id
			share.AddAccount = &[]string{otherAccount}
			_, err := c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())

			seen := imageByID(other, homeRegion, id)
			Expect(seen).NotTo(BeNil())
			Expect(seen.ImageOwnerAlias).To(Equal("others"))
			ownerAccount, _ := e.srv.AccountID(keyID)
			Expect(fmt.Sprint(seen.ImageOwnerId)).To(Equal(ownerAccount))
			resp, err := describeImages(other, homeRegion, func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "others" })
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{id}))
			resp, err = describeImages(other, homeRegion, func(r *ecs.DescribeImagesRequest) { r.ImageOwnerAlias = "self" })
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Images.Image).To(BeEmpty())
			Expect(imageByID(c, homeRegion, id).IsSelfShared).To(Equal("true"))

			perm := ecs.CreateDescribeImageSharePermissionRequest()
			perm.RegionId, perm.ImageId = homeRegion, id
			pr, err := c.DescribeImageSharePermission(perm)
			Expect(err).NotTo(HaveOccurred())
			Expect(pr.ImageId).To(Equal(id))
			Expect(pr.RegionId).To(Equal(homeRegion))
			Expect(pr.TotalCount).To(Equal(1))
			Expect(pr.Accounts.Account).To(HaveLen(1))
			Expect(pr.Accounts.Account[0].AliyunId).To(Equal(otherAccount))
			Expect(pr.ShareGroups.ShareGroup).To(BeEmpty())
			// Only the owner manages sharing.
			_, err = other.DescribeImageSharePermission(perm)
			expectServerError(err, 404, "InvalidImageId.NotFound")

			// A shared image is not deleted by accident.
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err = c.DeleteImage(di)
			expectServerError(err, 403, "ImageUseShared")

			unshare := ecs.CreateModifyImageSharePermissionRequest()
			unshare.RegionId, unshare.ImageId = homeRegion, id
			unshare.RemoveAccount = &[]string{otherAccount}
			_, err = c.ModifyImageSharePermission(unshare)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(other, homeRegion, id)).To(BeNil())
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
		})

		it("publishes a community image to every account", func() {
			other := e.ecsClient(otherKeyID, otherSecret)
			id := e.mustAvailable(c, homeRegion, "community")
			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId, share.IsPublic = homeRegion, id, requests.NewBoolean(true)
			_, err := c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())

			resp, err := describeImages(other, homeRegion, func(r *ecs.DescribeImagesRequest) {
				r.ImageOwnerAlias, r.IsPublic = "others", requests.NewBoolean(true)
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{id}))
			Expect(resp.Images.Image[0].IsPublic).To(BeTrue())
			_, err = describeImages(other, homeRegion, func(r *ecs.DescribeImagesRequest) { r.IsPublic = requests.NewBoolean(true) })
			expectServerError(err, 400, "InvalidImageOwnerAlias.PublicImageUnsupported")

			perm := ecs.CreateDescribeImageSharePermissionRequest()
			perm.RegionId, perm.ImageId = homeRegion, id
			pr, err := c.DescribeImageSharePermission(perm)
			Expect(err).NotTo(HaveOccurred())
			Expect(pr.ShareGroups.ShareGroup).To(Equal([]ecs.ShareGroup{{Group: "all"}}))

			share.AddAccount = &[]string{"not-an-account"}
			_, err = c.ModifyImageSharePermission(share)
			expectServerError(err, 400, "InvalidAccount.Malformed")
		})

		it("tells the account ids over the admin API", func() {
			resp, err := rawDo(http.MethodGet, e.url+"/_sim/accounts", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(200))
			other, _ := e.srv.AccountID(otherKeyID)
			Expect(jsonPath(resp.body, "1", "account_id")).To(Equal(other))
			Expect(jsonPath(resp.body, "1", "access_key_id")).To(Equal(otherKeyID))
			Expect(resp.body).NotTo(ContainSubstring(otherSecret))
		})
	})
}
