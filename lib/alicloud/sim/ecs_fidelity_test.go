package sim_test

import (
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testECSFidelity covers what real clients (the BOSH CPI, terraform) rely on beyond the basics:
// image features, encrypted copies, asynchronous deletion, the full DescribeImages answer and
// the documented DeleteImage/DescribeImages rules.
func testECSFidelity(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *ecs.Client
	)
	const kmsKey = "0b6e9a51-6f56-4f4c-9e1f-3c1d2e6a7b8c"

	it.Before(func() {
		e = newEnv(t, func(cfg *sim.Config) {
			cfg.KMSKeys = []sim.KMSKey{{Region: remoteRegion, ID: kmsKey}}
			cfg.DeleteDuration = 200 * time.Millisecond
		})
		c = e.ecsClient(keyID, keySecret)
	})

	expectServerError := func(err error, status int, code string) {
		t.Helper()
		se := rpcServerError(err)
		Expect(se).NotTo(BeNil(), "want %d %s, got %v", status, code, err)
		Expect(se.HttpStatus()).To(Equal(status), se.Message())
		Expect(se.ErrorCode()).To(Equal(code), se.Message())
	}

	context("Features.NvmeSupport", func() {
		it("is stored by ImportImage, changed by ModifyImageAttribute, returned and carried by CopyImage", func() {
			plain := e.mustAvailable(c, homeRegion, "plain")
			Expect(imageByID(c, homeRegion, plain).Features.NvmeSupport).To(Equal("unsupported"))

			e.imageObject(homeRegion, "images-"+homeRegion, "nvme.img")
			req := importRequest(homeRegion, "nvme", "images-"+homeRegion, "nvme.img")
			req.Features = ecs.ImportImageFeatures{NvmeSupport: "supported"}
			resp, err := c.ImportImage(req)
			Expect(err).NotTo(HaveOccurred())
			e.clock.Advance(2 * time.Second)
			Expect(imageByID(c, homeRegion, resp.ImageId).Features.NvmeSupport).To(Equal("supported"))

			mod := ecs.CreateModifyImageAttributeRequest()
			mod.RegionId, mod.ImageId = homeRegion, plain
			mod.Features = ecs.ModifyImageAttributeFeatures{NvmeSupport: "supported"}
			_, err = c.ModifyImageAttribute(mod)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, homeRegion, plain).Features.NvmeSupport).To(Equal("supported"))

			cp, err := c.CopyImage(copyRequest(homeRegion, plain, remoteRegion))
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, remoteRegion, cp.ImageId).Features.NvmeSupport).To(Equal("supported"))

			mod.Features = ecs.ModifyImageAttributeFeatures{NvmeSupport: "maybe"}
			_, err = c.ModifyImageAttribute(mod)
			expectServerError(err, 400, "InvalidParameter")
		})
	})

	context("encrypted copies", func() {
		it("encrypts a copy with an existing KMS key, and refuses a made-up one with the documented code", func() {
			id := e.mustAvailable(c, homeRegion, "secret")
			Expect(imageByID(c, homeRegion, id).DiskDeviceMappings.DiskDeviceMapping[0].Encrypted).To(BeFalse())

			req := copyRequest(homeRegion, id, remoteRegion)
			req.Encrypted, req.KMSKeyId = requests.NewBoolean(true), "made-up-key"
			_, err := c.CopyImage(req)
			expectServerError(err, 404, "InvalidParameter.KMSKeyId.NotFound")

			req = copyRequest(homeRegion, id, remoteRegion)
			req.KMSKeyId = kmsKey
			_, err = c.CopyImage(req)
			expectServerError(err, 400, "InvalidParameter.EncryptedIllegal")

			req = copyRequest(homeRegion, id, remoteRegion)
			req.Encrypted, req.KMSKeyId = requests.NewBoolean(true), kmsKey
			cp, err := c.CopyImage(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, remoteRegion, cp.ImageId).DiskDeviceMappings.DiskDeviceMapping[0].Encrypted).To(BeTrue())

			// The key lives in the destination region only.
			req = copyRequest(remoteRegion, cp.ImageId, homeRegion)
			req.DestinationImageName = "secret-back"
			e.clock.Advance(3 * time.Second)
			req.Encrypted, req.KMSKeyId = requests.NewBoolean(true), kmsKey
			_, err = c.CopyImage(req)
			expectServerError(err, 404, "InvalidParameter.KMSKeyId.NotFound")

			// Encrypted alone uses the service key; an encrypted source stays encrypted.
			req = copyRequest(remoteRegion, cp.ImageId, homeRegion)
			req.DestinationImageName = "secret-back"
			back, err := c.CopyImage(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, homeRegion, back.ImageId).DiskDeviceMappings.DiskDeviceMapping[0].Encrypted).To(BeTrue())
		})
	})

	context("DeleteImage", func() {
		it("takes time: the image stays listed and its snapshots refused until it is gone", func() {
			id := e.mustAvailable(c, homeRegion, "slow-delete")
			snap := imageByID(c, homeRegion, id).DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err := c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())

			Expect(imageByID(c, homeRegion, id)).NotTo(BeNil())
			ds := ecs.CreateDeleteSnapshotRequest()
			ds.RegionId, ds.SnapshotId = homeRegion, snap
			_, err = c.DeleteSnapshot(ds)
			expectServerError(err, 403, "SnapshotCreatedImage")
			_, err = c.CopyImage(copyRequest(homeRegion, id, remoteRegion))
			expectServerError(err, 404, "InvalidImageId.NotFound")

			e.clock.Advance(200 * time.Millisecond)
			Expect(imageByID(c, homeRegion, id)).To(BeNil())
			_, err = c.DeleteSnapshot(ds)
			Expect(err).NotTo(HaveOccurred())
		})

		it("takes Config.DeleteDuration, 200 ms by default", func() {
			e = newEnv(t, func(cfg *sim.Config) { cfg.DeleteDuration = 5 * time.Second })
			c = e.ecsClient(keyID, keySecret)
			id := e.mustAvailable(c, homeRegion, "slower")
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err := c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
			e.clock.Advance(4 * time.Second)
			Expect(imageByID(c, homeRegion, id)).NotTo(BeNil())
			e.clock.Advance(time.Second)
			Expect(imageByID(c, homeRegion, id)).To(BeNil())

			e = newEnv(t)
			c = e.ecsClient(keyID, keySecret)
			id = e.mustAvailable(c, homeRegion, "by-default")
			di = ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, id
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
			Expect(imageByID(c, homeRegion, id)).NotTo(BeNil(), "the default takes 200 ms")
			e.clock.Advance(200 * time.Millisecond)
			Expect(imageByID(c, homeRegion, id)).To(BeNil())
		})

		it("refuses a shared image even with Force: Force only overrides the use by instances", func() {
			id := e.mustAvailable(c, homeRegion, "shared-force")
			other, _ := e.srv.AccountID(otherKeyID)
			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId, share.AddAccount = homeRegion, id, &[]string{other}
			_, err := c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())

			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId, di.Force = homeRegion, id, requests.NewBoolean(true)
			_, err = c.DeleteImage(di)
			expectServerError(err, 403, "ImageUseShared")
		})
	})

	context("DescribeImages", func() {
		it("answers every field of the SDK's Image for an imported image", func() {
			id := e.mustAvailable(c, homeRegion, "full")
			body, err := e.ecsCommon(e.commonClient(keyID, keySecret), "DescribeImages", homeRegion, map[string]string{"ImageId": id})
			Expect(err).NotTo(HaveOccurred())
			img := []string{"Images", "Image", "0"}
			disk := append(append([]string(nil), img...), "DiskDeviceMappings", "DiskDeviceMapping", "0")
			for _, k := range []string{"ImageFamily", "ImageVersion", "ResourceGroupId", "IsSubscribed",
				"LoginAsNonRootSupported", "ProductCode", "SupplierName", "DetectionOptions", "Features"} {
				Expect(jsonPath(body, append(img, k)...)).NotTo(BeNil(), k)
			}
			Expect(jsonPath(body, append(disk, "DiskImageSize")...)).To(Equal(5.0), "a number, in GiB")
			Expect(jsonPath(body, append(disk, "OSSBucket")...)).To(Equal("images-" + homeRegion))
			Expect(jsonPath(body, append(disk, "OSSObject")...)).To(Equal("full.img"))
			Expect(jsonPath(body, append(disk, "Encrypted")...)).To(Equal(false))
			Expect(jsonPath(body, append(img, "ResourceGroupId")...)).To(MatchRegexp(`^rg-acfm[0-9a-z]{12}$`))
		})

		it("returns tags under Key/Value and TagKey/TagValue", func() {
			id := e.mustImport(c, homeRegion, "tagged", ecs.ImportImageTag{Key: "stemcell", Value: "1.484"})
			img := imageByID(c, homeRegion, id)
			Expect(img.Tags.Tag).To(HaveLen(1))
			Expect(img.Tags.Tag[0].Key).To(Equal("stemcell"))
			Expect(img.Tags.Tag[0].Value).To(Equal("1.484"))
			Expect(img.Tags.Tag[0].TagKey).To(Equal("stemcell"))
			Expect(img.Tags.Tag[0].TagValue).To(Equal("1.484"))
		})

		it("lists another account's community image only with IsPublic, even asked for by ImageId", func() {
			id := e.mustAvailable(c, homeRegion, "community-only")
			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId, share.IsPublic = homeRegion, id, requests.NewBoolean(true)
			_, err := c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())

			other := e.ecsClient(otherKeyID, otherSecret)
			Expect(imageByID(other, homeRegion, id)).To(BeNil())
			resp, err := describeImages(other, homeRegion, withImageID(id), func(r *ecs.DescribeImagesRequest) {
				r.ImageOwnerAlias, r.IsPublic = "others", requests.NewBoolean(true)
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(imageIDs(resp.Images.Image)).To(Equal([]string{id}))
		})
	})
}
