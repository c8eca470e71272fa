package director

import (
	"context"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
)

// Light is what LightStemcellImage found out about a stemcell's image.
type Light int

// The answers of LightStemcellImage.
const (
	NotLight  Light = iota // the image exists and is not a light stemcell's
	IsLight                // the image carries the light-stemcell builder's tags
	Unknown                // the image could not be looked up: treat it as light
	ImageGone              // the image no longer exists: nothing left to protect
)

// LightStemcellImage tells whether a stemcell's image (its CID: an image id in region) is a
// published light stemcell's, by the light-stemcell builder's tags on it. It is the one home of
// that decision for everything that keeps such images out of bosh's reach (delete-env here, the
// teardown task's delete-stemcell): an image that cannot be looked up counts as light (Unknown,
// with the error), since leaking an image beats deleting a published one.
func LightStemcellImage(ctx context.Context, images Images, region, cid string) (Light, error) {
	image, err := images.Image(ctx, region, cid)
	switch {
	case alicloud.HasCode(err, "ImageNotFound"):
		return ImageGone, nil
	case err != nil:
		return Unknown, err // the caller names the image
	case builder.IsLightStemcellImage(image.TagMap()):
		return IsLight, nil
	}
	return NotLight, nil
}

// Keep reports whether bosh must be kept from deleting the image.
func (l Light) Keep() bool { return l == IsLight || l == Unknown }
