package sim_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// fanOut are six destination regions: one more than the default copy concurrency.
var fanOut = []string{"eu-central-1", "cn-shanghai", "cn-beijing", "ap-southeast-1", "us-west-1", "cn-shenzhen"}

func testECSCopies(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *ecs.Client
		source string
	)

	expectServerError := func(err error, status int, code string) {
		t.Helper()
		se := rpcServerError(err)
		Expect(se).NotTo(BeNil(), fmt.Sprintf("want %d %s, got %v", status, code, err))
		Expect(se.ErrorCode()).To(Equal(code), se.Message())
		Expect(se.HttpStatus()).To(Equal(status))
	}
	copyTo := func(dest string) string {
		t.Helper()
		resp, err := c.CopyImage(copyRequest(homeRegion, source, dest))
		Expect(err).NotTo(HaveOccurred())
		return resp.ImageId
	}
	imageOf := func(region, id string) *ecs.Image {
		t.Helper()
		img := imageByID(c, region, id)
		Expect(img).NotTo(BeNil(), id)
		return img
	}
	statusOf := func(region, id string) string { return imageOf(region, id).Status }
	progressOf := func(region, id string) (string, string) {
		img := imageOf(region, id)
		return img.Status, img.Progress
	}
	setup := func(tweaks ...func(*sim.Config)) {
		e = newEnv(t, tweaks...)
		c = e.ecsClient(keyID, keySecret)
		source = e.mustAvailable(c, homeRegion, "bosh-stemcell-1.484")
	}

	context("with the defaults", func() {
		it.Before(func() { setup() })

		it("creates the copy in the destination region, Waiting/Creating with linear progress, then Available, with the request's tags", func() {
			req := copyRequest(homeRegion, source, remoteRegion)
			req.DestinationImageName = "light-bosh-stemcell-1.484"
			req.DestinationDescription = "copied"
			req.Tag = &[]ecs.CopyImageTag{{Key: "stemcell", Value: "1.484"}}
			resp, err := c.CopyImage(req)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.ImageId).To(MatchRegexp(`^m-[a-z0-9]{20}$`))
			Expect(imageByID(c, homeRegion, resp.ImageId)).To(BeNil()) // it lives in the destination

			img := imageByID(c, remoteRegion, resp.ImageId)
			Expect(img.Status).To(Equal("Creating"))
			Expect(img.Progress).To(MatchRegexp(`^[0-4]%$`)) // real time passes between calls
			Expect(img.IsCopied).To(BeTrue())
			Expect(img.ImageName).To(Equal("light-bosh-stemcell-1.484"))
			Expect(img.Description).To(Equal("copied"))
			Expect(img.Tags.Tag).To(ConsistOf(ecs.Tag{TagKey: "stemcell", TagValue: "1.484", Key: "stemcell", Value: "1.484"}))
			Expect(img.DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId).NotTo(Equal(
				imageByID(c, homeRegion, source).DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId))

			e.clock.Advance(1500 * time.Millisecond)
			st, progress := progressOf(remoteRegion, resp.ImageId)
			Expect(st).To(Equal("Creating"))
			Expect(progress).To(Equal("50%"))
			e.clock.Advance(1500 * time.Millisecond)
			st, progress = progressOf(remoteRegion, resp.ImageId)
			Expect(st).To(Equal("Available"))
			Expect(progress).To(Equal("100%"))

			evs := eventsOf(e.srv, resp.ImageId)
			Expect(eventStatuses(evs)).To(Equal([]string{"Waiting", "Creating", "Available"}))
			Expect(evs[0].SourceRegion).To(Equal(homeRegion))
			Expect(evs[0].SourceImageID).To(Equal(source))
			Expect(evs[0].Region).To(Equal(remoteRegion))
			Expect(eventAt(evs, "Available").Sub(eventAt(evs, "Creating"))).To(Equal(3 * time.Second))

			// The copy is Available, so it can be a source itself.
			_, err = c.CopyImage(copyRequest(remoteRegion, resp.ImageId, "cn-shanghai"))
			Expect(err).NotTo(HaveOccurred())
		})

		it("needs an Available source image the caller can use", func() {
			busy := e.mustImport(c, homeRegion, "still-importing")
			_, err := c.CopyImage(copyRequest(homeRegion, busy, remoteRegion))
			expectServerError(err, 400, "IncorrectImageStatus")
			_, err = c.CopyImage(copyRequest(homeRegion, "m-nosuchimage0000000000", remoteRegion))
			expectServerError(err, 404, "InvalidImageId.NotFound")
			_, err = c.CopyImage(copyRequest(remoteRegion, source, "cn-shanghai")) // wrong source region
			expectServerError(err, 404, "InvalidImageId.NotFound")
			_, err = c.CopyImage(copyRequest(homeRegion, source, "mars-north-1"))
			expectServerError(err, 400, "DestinationRegion.NotFound")
			_, err = e.ecsClient(otherKeyID, otherSecret).CopyImage(copyRequest(homeRegion, source, remoteRegion))
			expectServerError(err, 404, "InvalidImageId.NotFound")

			// An image shared with another account can be copied by it only within the region.
			otherAccount, _ := e.srv.AccountID(otherKeyID)
			share := ecs.CreateModifyImageSharePermissionRequest()
			share.RegionId, share.ImageId, share.AddAccount = homeRegion, source, &[]string{otherAccount}
			_, err = c.ModifyImageSharePermission(share)
			Expect(err).NotTo(HaveOccurred())
			_, err = e.ecsClient(otherKeyID, otherSecret).CopyImage(copyRequest(homeRegion, source, remoteRegion))
			expectServerError(err, 403, "OperationDenied.SameRegionOnly")
		})

		it("refuses a destination name the account already uses there", func() {
			copyTo(remoteRegion)
			_, err := c.CopyImage(copyRequest(homeRegion, source, remoteRegion))
			expectServerError(err, 400, "InvalidImageName.Duplicated")
		})

		it("runs five copies out of one source region at once; the sixth waits at 0% and starts when a slot frees", func() {
			var copies []string
			for _, dest := range fanOut {
				copies = append(copies, copyTo(dest))
				e.clock.Advance(100 * time.Millisecond)
			}
			for i, id := range copies[:5] {
				Expect(statusOf(fanOut[i], id)).To(Equal("Creating"))
			}
			st, progress := progressOf(fanOut[5], copies[5])
			Expect(st).To(Equal("Waiting"))
			Expect(progress).To(Equal("0%"))

			e.clock.Advance(2500 * time.Millisecond) // the first copy ends 3s after it started
			Expect(statusOf(fanOut[0], copies[0])).To(Equal("Available"))
			Expect(statusOf(fanOut[5], copies[5])).To(Equal("Creating"))
			// The sixth started at the very moment the first finished, not when somebody looked.
			first, sixth := eventsOf(e.srv, copies[0]), eventsOf(e.srv, copies[5])
			Expect(eventAt(sixth, "Creating")).To(Equal(eventAt(first, "Available")))

			e.clock.Advance(3 * time.Second)
			for i, id := range copies {
				Expect(statusOf(fanOut[i], id)).To(Equal("Available"), fanOut[i])
			}
		})

		it("frees a slot when a running copy is cancelled in its destination region", func() {
			var copies []string
			for _, dest := range fanOut {
				copies = append(copies, copyTo(dest))
			}
			Expect(statusOf(fanOut[5], copies[5])).To(Equal("Waiting"))

			cancel := func(region, id string) error {
				req := ecs.CreateCancelCopyImageRequest() // a fresh request: the SDK keeps a used request's RegionId
				req.RegionId, req.ImageId = region, id
				_, err := c.CancelCopyImage(req)
				return err
			}
			expectServerError(cancel(homeRegion, copies[1]), 404, "InvalidImageId.NotFound") // the source region is the wrong one
			Expect(cancel(fanOut[1], copies[1])).To(Succeed())
			Expect(imageByID(c, fanOut[1], copies[1])).To(BeNil())
			Expect(statusOf(fanOut[5], copies[5])).To(Equal("Creating"))
			Expect(eventStatuses(eventsOf(e.srv, copies[1]))).To(Equal([]string{"Waiting", "Creating", "Cancelled"}))

			expectServerError(cancel(fanOut[1], copies[1]), 404, "InvalidImageId.NotFound")
			e.clock.Advance(3 * time.Second)
			expectServerError(cancel(fanOut[0], copies[0]), 400, "IncorrectImageStatus")
			expectServerError(cancel(homeRegion, source), 400, "ImageCreatedNotFromCopy")
		})

		it("refuses to delete the source of a running copy, or the copy in progress", func() {
			cp := copyTo(remoteRegion)
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = homeRegion, source
			_, err := c.DeleteImage(di)
			expectServerError(err, 403, "OperationDenied.ImageCopying")
			dc := ecs.CreateDeleteImageRequest()
			dc.RegionId, dc.ImageId = remoteRegion, cp
			_, err = c.DeleteImage(dc)
			expectServerError(err, 403, "OperationDenied.ImageCopying")

			e.clock.Advance(3 * time.Second)
			_, err = c.DeleteImage(dc)
			Expect(err).NotTo(HaveOccurred())
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())
		})

		it("ends copies into a chosen region CreateFailed, as often as asked", func() {
			Expect(e.srv.FailCopyTo(remoteRegion, 1)).To(Succeed())
			failing := copyTo(remoteRegion)
			other := copyTo("cn-shanghai")
			e.clock.Advance(1400 * time.Millisecond)
			Expect(statusOf(remoteRegion, failing)).To(Equal("Creating"))
			e.clock.Advance(200 * time.Millisecond)
			st, progress := progressOf(remoteRegion, failing)
			Expect(st).To(Equal("CreateFailed"))
			Expect(progress).To(Equal("50%"))
			Expect(e.srv.CopyFailures()).To(BeEmpty())
			// A failed copy cannot be cancelled, but it can be deleted.
			cancel := ecs.CreateCancelCopyImageRequest()
			cancel.RegionId, cancel.ImageId = remoteRegion, failing
			_, err := c.CancelCopyImage(cancel)
			expectServerError(err, 400, "IncorrectImageStatus")
			di := ecs.CreateDeleteImageRequest()
			di.RegionId, di.ImageId = remoteRegion, failing
			_, err = c.DeleteImage(di)
			Expect(err).NotTo(HaveOccurred())

			// Only one was asked for; the retry succeeds. The admin API sets the fault too.
			retry := copyTo(remoteRegion)
			resp, err := rawDo(http.MethodPost, e.url+"/_sim/ecs/copy-failures", `{"region":"cn-beijing","count":2}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(204))
			viaAdmin := copyTo("cn-beijing")
			e.clock.Advance(3 * time.Second)
			Expect(statusOf(remoteRegion, retry)).To(Equal("Available"))
			Expect(statusOf("cn-shanghai", other)).To(Equal("Available"))
			Expect(statusOf("cn-beijing", viaAdmin)).To(Equal("CreateFailed"))
			Expect(e.srv.CopyFailures()).To(Equal(map[string]int{"cn-beijing": 1}))

			resp, err = rawDo(http.MethodPost, e.url+"/_sim/ecs/copy-failures", `{"region":"mars-north-1","count":1}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(400))
		})

		it("hides new images from DescribeImages for the visibility delay", func() {
			e.srv.SetImageVisibilityDelay(5 * time.Second)
			cp := copyTo(remoteRegion)
			Expect(imageByID(c, remoteRegion, cp)).To(BeNil())
			e.clock.Advance(4 * time.Second)
			Expect(imageByID(c, remoteRegion, cp)).To(BeNil()) // Available by now, yet not listed
			e.clock.Advance(time.Second)
			Expect(statusOf(remoteRegion, cp)).To(Equal("Available"))

			// Over the admin API; 0 shows new images at once again.
			resp, err := rawDo(http.MethodPost, e.url+"/_sim/ecs/visibility-delay", `{"delay":"0s"}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(204))
			Expect(imageByID(c, "cn-shanghai", copyTo("cn-shanghai"))).NotTo(BeNil())
			resp, err = rawDo(http.MethodPost, e.url+"/_sim/ecs/visibility-delay", `{"delay":"later"}`, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(400))
		})

		it("serves the image events over the admin API", func() {
			cp := copyTo(remoteRegion)
			e.clock.Advance(3 * time.Second)
			resp, err := rawDo(http.MethodGet, e.url+"/_sim/ecs/image-events", "", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(200))
			Expect(resp.body).To(ContainSubstring(fmt.Sprintf(`"image_id": %q`, cp)))
			Expect(resp.body).To(ContainSubstring(`"status": "Available"`))

			// Reset clears the events and the ECS faults, not the images.
			Expect(e.srv.FailCopyTo("cn-shanghai", 3)).To(Succeed())
			e.srv.Reset()
			Expect(e.srv.ImageEvents()).To(BeEmpty())
			Expect(e.srv.CopyFailures()).To(BeEmpty())
			Expect(imageByID(c, remoteRegion, cp)).NotTo(BeNil())
			Expect(e.srv.ResetState()).To(Succeed())
			Expect(imageByID(c, remoteRegion, cp)).To(BeNil())
		})
	})

	context("with CopyLimitBy destination", func() {
		it.Before(func() { setup(func(cfg *sim.Config) { cfg.CopyLimitBy = sim.CopyLimitByDestination }) })

		it("runs six copies out of one region at once, but queues a sixth copy into one region", func() {
			var copies []string
			for _, dest := range fanOut {
				copies = append(copies, copyTo(dest))
			}
			for i, id := range copies {
				Expect(statusOf(fanOut[i], id)).To(Equal("Creating"), fanOut[i])
			}

			// Six sources in six regions, all copied into one destination.
			var sources []string
			for _, r := range fanOut {
				sources = append(sources, e.mustImport(c, r, "src-"+r))
			}
			e.clock.Advance(3 * time.Second)
			var into []string
			for i, src := range sources {
				req := copyRequest(fanOut[i], src, "ap-northeast-1")
				req.DestinationImageName = "into-" + fanOut[i]
				resp, err := c.CopyImage(req)
				Expect(err).NotTo(HaveOccurred())
				into = append(into, resp.ImageId)
			}
			Expect(statusOf("ap-northeast-1", into[4])).To(Equal("Creating"))
			Expect(statusOf("ap-northeast-1", into[5])).To(Equal("Waiting"))
		})
	})

	context("with a copy concurrency of 2 and a slow pair of regions", func() {
		it.Before(func() {
			setup(func(cfg *sim.Config) {
				cfg.CopyConcurrency = 2
				cfg.CopyDurations = map[[2]string]time.Duration{{homeRegion, remoteRegion}: 10 * time.Second}
			})
		})

		it("honours both", func() {
			slow := copyTo(remoteRegion)
			fast := copyTo("cn-shanghai")
			queued := copyTo("cn-beijing")
			Expect(statusOf("cn-beijing", queued)).To(Equal("Waiting"))
			e.clock.Advance(3 * time.Second)
			Expect(statusOf("cn-shanghai", fast)).To(Equal("Available"))
			st, progress := progressOf(remoteRegion, slow)
			Expect(st).To(Equal("Creating"))
			Expect(progress).To(Equal("30%"))
			Expect(statusOf("cn-beijing", queued)).To(Equal("Creating")) // took the fast copy's slot
			e.clock.Advance(7 * time.Second)
			Expect(statusOf(remoteRegion, slow)).To(Equal("Available"))
			Expect(statusOf("cn-beijing", queued)).To(Equal("Available"))
		})
	})

	context("configuration", func() {
		it("refuses a bad copy limit key and a pair of unknown regions", func() {
			_, err := sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: keyID, AccessKeySecret: keySecret}}, CopyLimitBy: "account"})
			Expect(err).To(MatchError(ContainSubstring("CopyLimitBy")))
			_, err = sim.New(sim.Config{Credentials: []sim.Credential{{AccessKeyID: keyID, AccessKeySecret: keySecret}},
				CopyDurations: map[[2]string]time.Duration{{"cn-hangzhou", "moon-1"}: time.Second}})
			Expect(err).To(MatchError(ContainSubstring("moon-1")))
		})
	})
}
