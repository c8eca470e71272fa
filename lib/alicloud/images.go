package alicloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Image is an ECS custom image as DescribeImages reports it.
type Image struct {
	ID           string `json:"ImageId"`
	Name         string `json:"ImageName"`
	Description  string `json:"Description"`
	Status       string `json:"Status"`   // Waiting, Creating, Available, CreateFailed, UnAvailable, Deprecated
	Progress     string `json:"Progress"` // "37%"
	Size         int    `json:"Size"`     // GiB
	Architecture string `json:"Architecture"`
	OSType       string `json:"OSType"`
	Platform     string `json:"Platform"`
	IsPublic     bool   `json:"IsPublic"`
	IsCopied     bool   `json:"IsCopied"`
	CreationTime string `json:"CreationTime"`
	Tags         struct {
		Tag []struct {
			Key   string `json:"TagKey"`
			Value string `json:"TagValue"`
		} `json:"Tag"`
	} `json:"Tags"`
	DiskDeviceMappings struct {
		DiskDeviceMapping []struct {
			SnapshotID string `json:"SnapshotId"`
			Device     string `json:"Device"`
			Size       string `json:"Size"`
		} `json:"DiskDeviceMapping"`
	} `json:"DiskDeviceMappings"`
	Region string `json:"-"`
}

// Image statuses.
const (
	ImageWaiting      = "Waiting"
	ImageCreating     = "Creating"
	ImageAvailable    = "Available"
	ImageCreateFailed = "CreateFailed"
	ImageUnavailable  = "UnAvailable"
)

// TagMap returns the image's tags.
func (i Image) TagMap() map[string]string {
	out := map[string]string{}
	for _, t := range i.Tags.Tag {
		out[t.Key] = t.Value
	}
	return out
}

// SnapshotIDs lists the snapshots behind the image.
func (i Image) SnapshotIDs() []string {
	var out []string
	for _, m := range i.DiskDeviceMappings.DiskDeviceMapping {
		if m.SnapshotID != "" {
			out = append(out, m.SnapshotID)
		}
	}
	return out
}

// Percent is the image's progress as a number from 0 to 100.
func (i Image) Percent() int {
	if i.Status == ImageAvailable {
		return 100
	}
	p, _ := strconv.Atoi(strings.TrimSuffix(i.Progress, "%")) // no or malformed progress: 0
	return p
}

// ImageQuery selects images in one region. Only images owned by the account are listed.
type ImageQuery struct {
	IDs      []string
	Name     string
	Statuses []string          // empty: every status (ECS itself would list only Available ones)
	Tags     map[string]string // all must match
}

// allImageStatuses is what ImageQuery asks for when it names none: a resource looking for its
// images must see them while they are copying and after they failed.
var allImageStatuses = []string{ImageWaiting, ImageCreating, ImageAvailable, ImageCreateFailed, ImageUnavailable}

// Images lists the account's images in a region matching q, every page, sorted by id.
func (s *Session) Images(ctx context.Context, region string, q ImageQuery) ([]Image, error) {
	params := map[string]string{"ImageOwnerAlias": "self"}
	if len(q.IDs) > 0 {
		params["ImageId"] = strings.Join(q.IDs, ",")
	}
	if q.Name != "" {
		params["ImageName"] = q.Name
	}
	statuses := q.Statuses
	if len(statuses) == 0 {
		statuses = allImageStatuses
	}
	params["Status"] = strings.Join(statuses, ",")
	addTags(params, "Tag", q.Tags)
	out, err := ecsPaged[Image, imagePage](ctx, s, region, "DescribeImages", params)
	if err != nil {
		return nil, fmt.Errorf("listing images in %s: %w", region, err)
	}
	for i := range out {
		out[i].Region = region
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

type imagePage struct {
	TotalCount int `json:"TotalCount"`
	Images     struct {
		Image []Image `json:"Image"`
	} `json:"Images"`
}

func (p imagePage) items() []Image { return p.Images.Image }
func (p imagePage) total() int     { return p.TotalCount }

// Image returns one image, or an error saying it does not exist (ECS answers an unknown id with
// an empty list, not an error).
func (s *Session) Image(ctx context.Context, region, id string) (Image, error) {
	images, err := s.Images(ctx, region, ImageQuery{IDs: []string{id}})
	if err != nil {
		return Image{}, err
	}
	if len(images) == 0 {
		return Image{}, &Error{Service: "ecs", Operation: "DescribeImages", Code: "ImageNotFound", Message: fmt.Sprintf("no image %s in %s", id, region)}
	}
	return images[0], nil
}

// addTags sets Tag.N.Key/Tag.N.Value parameters in key order.
func addTags(params map[string]string, prefix string, tags map[string]string) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		params[fmt.Sprintf("%s.%d.Key", prefix, i+1)] = k
		params[fmt.Sprintf("%s.%d.Value", prefix, i+1)] = tags[k]
	}
}

// ImportRequest describes a raw disk image in OSS to import.
type ImportRequest struct {
	Name         string
	Description  string
	Bucket       string // in the image's region
	Object       string
	DiskSizeGiB  int
	Format       string // RAW, VHD, QCOW2
	Architecture string // x86_64, arm64
	OSType       string // linux
	Platform     string // Ubuntu, Others Linux …
	NvmeSupport  string // Features.NvmeSupport: "supported", or "" to send none
	Tags         map[string]string
}

// creationTimeout bounds a call that creates an image, which ctx does not cancel.
const creationTimeout = 2 * time.Minute

// creation is the context of a call that creates an image: it is not started once ctx has
// ended, and once started it is not cancelled with ctx (only bounded by creationTimeout), because
// an image ECS accepted must come back with its id, for the caller to track and clean up.
func creation(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), creationTimeout)
	return callCtx, cancel, nil
}

// ImportImage starts importing a disk image and returns the new image's id. Once started, the
// call is not cancelled with ctx (see creation).
func (s *Session) ImportImage(ctx context.Context, region string, r ImportRequest) (string, error) {
	ctx, cancel, err := creation(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	params := map[string]string{
		"ImageName":                         r.Name,
		"Description":                       r.Description,
		"Architecture":                      r.Architecture,
		"OSType":                            r.OSType,
		"Platform":                          r.Platform,
		"DiskDeviceMapping.1.OSSBucket":     r.Bucket,
		"DiskDeviceMapping.1.OSSObject":     r.Object,
		"DiskDeviceMapping.1.Format":        r.Format,
		"DiskDeviceMapping.1.DiskImageSize": strconv.Itoa(r.DiskSizeGiB),
	}
	if r.NvmeSupport != "" {
		params["Features.NvmeSupport"] = r.NvmeSupport
	}
	addTags(params, "Tag", r.Tags)
	// One token for every try: a try that timed out or lost its answer may have imported
	// already, and ECS answers a repeated token with that first image instead of a second one.
	params["ClientToken"] = clientToken()
	var answer struct {
		ImageID string `json:"ImageId"`
	}
	if err := s.ecsCall(ctx, region, "ImportImage", params, &answer); err != nil {
		return "", fmt.Errorf("importing oss://%s/%s into %s: %w", r.Bucket, r.Object, region, err)
	}
	return answer.ImageID, nil
}

// CopyImage starts copying an Available image to another region (with tags) and returns the
// copy's id there. Once started, the call is not cancelled with ctx (see creation).
func (s *Session) CopyImage(ctx context.Context, from, id, to, name string, tags map[string]string) (string, error) {
	ctx, cancel, err := creation(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	params := map[string]string{"ImageId": id, "DestinationRegionId": to, "DestinationImageName": name}
	addTags(params, "Tag", tags)
	var answer struct {
		ImageID string `json:"ImageId"`
	}
	err = s.ecsCall(ctx, from, "CopyImage", params, &answer)
	if HasCode(err, "InvalidImageName.Duplicated") && retried(err) {
		// CopyImage takes no ClientToken: an earlier try that timed out or lost its answer may
		// have made the copy. It is ours when it has this name and every one of our tags.
		if copyID, ok := s.findCopy(ctx, to, name, tags); ok {
			s.opts.Log.Printf("copying image %s from %s to %s: an earlier try made %s", id, from, to, copyID)
			return copyID, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("copying image %s from %s to %s: %w", id, from, to, err)
	}
	return answer.ImageID, nil
}

// findCopy looks in a region for the one image with exactly this name and all these tags.
func (s *Session) findCopy(ctx context.Context, region, name string, tags map[string]string) (string, bool) {
	if len(tags) == 0 {
		return "", false
	}
	images, err := s.Images(ctx, region, ImageQuery{Name: name, Tags: tags})
	if err != nil {
		return "", false
	}
	var found []string
	for _, img := range images {
		if img.Name == name {
			found = append(found, img.ID)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

// retried says whether a call's error came after more than one try.
func retried(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Attempts > 1
}

// clientToken is a fresh idempotency token for an ECS creation (at most 64 ASCII characters).
func clientToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead (Go 1.24)
	return "concourse-pack-" + hex.EncodeToString(b)
}

// CancelCopy stops a copy in progress; the copy's image is removed by ECS.
func (s *Session) CancelCopy(ctx context.Context, region, id string) error {
	if err := s.ecsCall(ctx, region, "CancelCopyImage", map[string]string{"ImageId": id}, nil); err != nil {
		return fmt.Errorf("cancelling the copy %s in %s: %w", id, region, err)
	}
	return nil
}

// DeleteImage deletes an image and then the snapshots behind it, which ECS keeps (and bills)
// otherwise; a copy still in progress is cancelled instead. An image that no longer exists is not
// an error.
func (s *Session) DeleteImage(ctx context.Context, region, id string) error {
	image, err := s.Image(ctx, region, id)
	visible := err == nil
	if err != nil && !HasCode(err, "ImageNotFound") {
		return err
	}
	// An image ECS does not list yet may still exist (new images show up late): ask to delete
	// it anyway, and let ECS say whether it is there.
	err = s.ecsCall(ctx, region, "DeleteImage", map[string]string{"ImageId": id, "Force": "true"}, nil)
	if HasCode(err, "ImageUseShared") {
		// Force overrides only the use by instances: a shared or public image must be made
		// private first (the API reference of DeleteImage).
		if err := s.ShareImage(ctx, region, id, Sharing{}); err != nil {
			return fmt.Errorf("deleting image %s in %s: it is shared, and unsharing it failed: %w", id, region, err)
		}
		s.opts.Log.Printf("image %s in %s was shared or public: made it private to delete it", id, region)
		err = s.ecsCall(ctx, region, "DeleteImage", map[string]string{"ImageId": id, "Force": "true"}, nil)
	}
	if HasCode(err, "OperationDenied.ImageCopying") && s.CancelCopy(ctx, region, id) == nil {
		// It was a copy in progress: cancelling it removes it (a source being copied from
		// cannot be cancelled this way and keeps the refusal).
		return nil
	}
	switch {
	case HasCode(err, "InvalidImageId.NotFound"):
		return nil
	case err != nil:
		return fmt.Errorf("deleting image %s in %s: %w", id, region, err)
	case !visible:
		s.opts.Log.Warnf("deleted image %s in %s before ECS listed it: its snapshots could not be looked up and may remain", id, region)
		return nil
	}
	// ECS deletes an image in the background and refuses to delete its snapshots until it is
	// gone (the CPI waits the same way).
	if err := s.waitGone(ctx, region, id); err != nil {
		return err
	}
	for _, snapshot := range image.SnapshotIDs() {
		err := s.ecsCall(ctx, region, "DeleteSnapshot", map[string]string{"SnapshotId": snapshot, "Force": "true"}, nil)
		if err != nil && !HasCode(err, "InvalidSnapshotId.NotFound") {
			return fmt.Errorf("deleting snapshot %s of image %s in %s: %w", snapshot, id, region, err)
		}
	}
	return nil
}

// deletionWait bounds how long DeleteImage waits for ECS to finish deleting an image.
const deletionWait = 5 * time.Minute

// waitGone waits until DescribeImages no longer lists an image being deleted, looking after
// 100 ms and then backing off to 5 s between looks.
func (s *Session) waitGone(ctx context.Context, region, id string) error {
	ctx, cancel := context.WithTimeout(ctx, deletionWait)
	defer cancel()
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("deleting image %s in %s: still listed after %s: %w", id, region, deletionWait, ctx.Err())
		case <-time.After(pause):
		}
		_, err := s.Image(ctx, region, id)
		switch {
		case HasCode(err, "ImageNotFound"):
			return nil
		case err != nil:
			return fmt.Errorf("waiting for image %s in %s to be deleted: %w", id, region, err)
		}
	}
}

// SetNvmeSupport sets an image's Features.NvmeSupport ("supported"): CopyImage does not carry
// it from the source image, so every copy needs it again.
func (s *Session) SetNvmeSupport(ctx context.Context, region, id, value string) error {
	params := map[string]string{"ImageId": id, "Features.NvmeSupport": value}
	if err := s.ecsCall(ctx, region, "ModifyImageAttribute", params, nil); err != nil {
		return fmt.Errorf("setting NvmeSupport %s on image %s in %s: %w", value, id, region, err)
	}
	return nil
}

// TagImage adds tags to an image.
func (s *Session) TagImage(ctx context.Context, region, id string, tags map[string]string) error {
	params := map[string]string{"ResourceType": "image", "ResourceId.1": id}
	addTags(params, "Tag", tags)
	if err := s.ecsCall(ctx, region, "TagResources", params, nil); err != nil {
		return fmt.Errorf("tagging image %s in %s: %w", id, region, err)
	}
	return nil
}

// Sharing says who may use an image.
type Sharing struct {
	Public   bool
	Accounts []string // Alibaba Cloud account ids, sorted
}

// ShareImage changes who may use an image, then reads the permission back and fails unless it
// is what was asked: a published stemcell that nobody can use is worse than a failed step.
func (s *Session) ShareImage(ctx context.Context, region, id string, want Sharing) error {
	have, err := s.ImageSharing(ctx, region, id)
	if err != nil {
		return err
	}
	params := map[string]string{"ImageId": id, "IsPublic": strconv.FormatBool(want.Public)}
	wanted := map[string]bool{}
	for _, a := range want.Accounts {
		wanted[a] = true
	}
	added, removed := 0, 0
	for _, a := range want.Accounts {
		if !contains(have.Accounts, a) {
			added++
			params[fmt.Sprintf("AddAccount.%d", added)] = a
		}
	}
	for _, a := range have.Accounts {
		if !wanted[a] {
			removed++
			params[fmt.Sprintf("RemoveAccount.%d", removed)] = a
		}
	}
	if err := s.ecsCall(ctx, region, "ModifyImageSharePermission", params, nil); err != nil {
		return fmt.Errorf("sharing image %s in %s: %w", id, region, err)
	}
	got, err := s.ImageSharing(ctx, region, id)
	if err != nil {
		return err
	}
	sort.Strings(want.Accounts)
	if got.Public != want.Public || strings.Join(got.Accounts, ",") != strings.Join(want.Accounts, ",") {
		return fmt.Errorf("sharing image %s in %s: asked for public=%t accounts=%v, ECS reports public=%t accounts=%v",
			id, region, want.Public, want.Accounts, got.Public, got.Accounts)
	}
	return nil
}

// ImageSharing reads who may use an image.
func (s *Session) ImageSharing(ctx context.Context, region, id string) (Sharing, error) {
	var out Sharing
	for page := 1; ; page++ {
		var answer struct {
			TotalCount int `json:"TotalCount"`
			Accounts   struct {
				Account []struct {
					ID string `json:"AliyunId"`
				} `json:"Account"`
			} `json:"Accounts"`
			ShareGroups struct {
				ShareGroup []struct {
					Group string `json:"Group"`
				} `json:"ShareGroup"`
			} `json:"ShareGroups"`
		}
		params := map[string]string{"ImageId": id, "PageNumber": strconv.Itoa(page), "PageSize": "100"}
		if err := s.ecsCall(ctx, region, "DescribeImageSharePermission", params, &answer); err != nil {
			return Sharing{}, fmt.Errorf("reading who may use image %s in %s: %w", id, region, err)
		}
		for _, g := range answer.ShareGroups.ShareGroup {
			if g.Group == "all" {
				out.Public = true
			}
		}
		for _, a := range answer.Accounts.Account {
			out.Accounts = append(out.Accounts, a.ID)
		}
		if len(answer.Accounts.Account) < 100 || len(out.Accounts) >= answer.TotalCount {
			break
		}
	}
	sort.Strings(out.Accounts)
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
