package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Errors of the image actions, with the codes, statuses and messages of the ECS API reference.
var (
	errImageNotFound = ecsError(http.StatusNotFound, "InvalidImageId.NotFound", "The specified ImageId does not exist.")
	errImageNotReady = ecsError(http.StatusBadRequest, "IncorrectImageStatus", "The image not available.")
	errImageCopying  = ecsError(http.StatusForbidden, "OperationDenied.ImageCopying", "The image is currently being copied. Please try again later.")
	errNameMalformed = ecsError(http.StatusBadRequest, "InvalidImageName.Malformed",
		"Image names must be between 2 and 128 characters long, using either English or Chinese characters. The name must start with a letter or a Chinese character, and can include numbers, colons, underscores and hyphens.")
	errDescMalformed = ecsError(http.StatusBadRequest, "InvalidDescription.Malformed", "The specified description is wrongly formed.")
	errKMSKeyMissing = ecsError(http.StatusNotFound, "InvalidParameter.KMSKeyId.NotFound", "The specified KMSKeyId does not exist.")
	errKMSNeedsEnc   = ecsError(http.StatusBadRequest, "InvalidParameter.EncryptedIllegal", "The specified parameter Encrypted must be true when kmsKeyId is not empty.")
)

// NVMe support values of Features.NvmeSupport.
const (
	nvmeSupported   = "supported"
	nvmeUnsupported = "unsupported"
)

// nvmeParam reads Features.NvmeSupport: "" when absent.
func (r *ecsReq) nvmeParam() (string, *rpcError) {
	switch v := r.param("Features.NvmeSupport"); v {
	case "", nvmeSupported, nvmeUnsupported:
		return v, nil
	default:
		return "", errInvalidParam("Features.NvmeSupport", "want supported or unsupported")
	}
}

const giB = 1 << 30

// validImageName: 2-128 characters, starting with a letter, then letters, digits, '.', ':',
// '_' or '-'; not starting with http://, https://, acs: or aliyun.
func validImageName(name string) bool {
	runes := []rune(name)
	if len(runes) < 2 || len(runes) > 128 || !unicode.IsLetter(runes[0]) {
		return false
	}
	for _, p := range []string{"http://", "https://", "acs:", "aliyun"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, c := range runes {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(".:_-", c) {
			return false
		}
	}
	return true
}

// validDescription: empty, or 2-256 characters not starting with http:// or https://.
func validDescription(d string) bool {
	if d == "" {
		return true
	}
	n := len([]rune(d))
	return n >= 2 && n <= 256 && !strings.HasPrefix(d, "http://") && !strings.HasPrefix(d, "https://")
}

// nameTaken reports whether the account already has another image of that name in the region
// (one being deleted has given its name up).
func (e *ecsState) nameTaken(owner *account, region, name, except string) bool {
	for _, img := range e.images {
		if !img.deleting() && img.owner == owner && img.region == region && img.name == name && img.id != except {
			return true
		}
	}
	return false
}

// ownImage finds an image of the caller's in the request's region; one being deleted is gone
// for every action but DescribeImages and DeleteImage.
func (e *ecsState) ownImage(r *ecsReq, id string) (*image, *rpcError) {
	img := e.images[id]
	if img == nil || img.deleting() || img.region != r.region || img.owner != r.acct {
		return nil, errImageNotFound
	}
	return img, nil
}

func (img *image) sharedWith(accountID string) bool {
	for _, sh := range img.shared {
		if sh.accountID == accountID {
			return true
		}
	}
	return false
}

// newSnapshot creates a snapshot for an image disk.
func (e *ecsState) newSnapshot(r *ecsReq, region string, size int) string {
	sn := &snapshot{id: ecsID("s"), region: region, owner: r.acct, size: size, created: r.now}
	e.snapshots[sn.id] = sn
	return sn.id
}

// imageJSON is an image as DescribeImages answers it (services/ecs struct_image.go shapes).
type imageJSON struct {
	ImageID              string       `json:"ImageId"`
	ImageName            string       `json:"ImageName"`
	Description          string       `json:"Description"`
	Status               string       `json:"Status"`
	Progress             string       `json:"Progress"`
	Size                 int          `json:"Size"`
	Architecture         string       `json:"Architecture"`
	OSType               string       `json:"OSType"`
	OSName               string       `json:"OSName"`
	OSNameEn             string       `json:"OSNameEn"`
	Platform             string       `json:"Platform"`
	IsPublic             bool         `json:"IsPublic"`
	IsCopied             bool         `json:"IsCopied"`
	IsSelfShared         string       `json:"IsSelfShared"`
	IsSupportIoOptimized bool         `json:"IsSupportIoOptimized"`
	IsSupportCloudinit   bool         `json:"IsSupportCloudinit"`
	ImageOwnerAlias      string       `json:"ImageOwnerAlias"`
	ImageOwnerID         int64        `json:"ImageOwnerId"`
	CreationTime         string       `json:"CreationTime"`
	Usage                string       `json:"Usage"`
	BootMode             string       `json:"BootMode"`
	Tags                 tagsJSON     `json:"Tags"`
	DiskDeviceMappings   diskMappings `json:"DiskDeviceMappings"`

	// Fields an image the emulator made has with empty or fixed values: it is no family
	// member, no marketplace product and has not been checked.
	ImageFamily             string           `json:"ImageFamily"`
	ImageVersion            string           `json:"ImageVersion"`
	ResourceGroupID         string           `json:"ResourceGroupId"`
	IsSubscribed            bool             `json:"IsSubscribed"`
	LoginAsNonRootSupported bool             `json:"LoginAsNonRootSupported"`
	ProductCode             string           `json:"ProductCode"`
	SupplierName            string           `json:"SupplierName"`
	DetectionOptions        detectionOptions `json:"DetectionOptions"`
	Features                featuresJSON     `json:"Features"`
}

type detectionOptions struct {
	Status string `json:"Status"`
	Items  struct {
		Item []struct{} `json:"Item"`
	} `json:"Items"`
}

// featuresJSON is an image's Features. Only NvmeSupport is modelled; the online-resize
// features are never supported and metadata access is IMDSv1 or v2 ("v1"), as for an
// imported image that declares nothing.
type featuresJSON struct {
	NvmeSupport           string `json:"NvmeSupport"`
	ImdsSupport           string `json:"ImdsSupport"`
	CpuOnlineUpgrade      string `json:"CpuOnlineUpgrade"`
	CpuOnlineDowngrade    string `json:"CpuOnlineDowngrade"`
	MemoryOnlineUpgrade   string `json:"MemoryOnlineUpgrade"`
	MemoryOnlineDowngrade string `json:"MemoryOnlineDowngrade"`
}

type diskMappings struct {
	DiskDeviceMapping []diskJSON `json:"DiskDeviceMapping"`
}

type diskJSON struct {
	SnapshotID      string `json:"SnapshotId"`
	Size            string `json:"Size"` // GiB, a string in the real answer
	Device          string `json:"Device"`
	Format          string `json:"Format"`
	Type            string `json:"Type"`
	ImportOSSBucket string `json:"ImportOSSBucket"`
	ImportOSSObject string `json:"ImportOSSObject"`
	OSSBucket       string `json:"OSSBucket"`
	OSSObject       string `json:"OSSObject"`
	DiskImageSize   int    `json:"DiskImageSize"` // GiB, a number
	Encrypted       bool   `json:"Encrypted"`
	Progress        string `json:"Progress"`
	RemainTime      int    `json:"RemainTime"` // seconds
}

func (e *ecsState) imageOut(r *ecsReq, img *image) imageJSON {
	pct, left := img.progress(r.now)
	alias := "others"
	if img.owner == r.acct {
		alias = "self"
	}
	ownerID, _ := strconv.ParseInt(img.owner.id, 10, 64) // ids are 16 digits (accountID)
	usage := "none"
	if e.usedBy(img.id) > 0 {
		usage = "instance"
	}
	out := imageJSON{
		ImageID: img.id, ImageName: img.name, Description: img.description, Status: img.status,
		Progress: fmt.Sprintf("%d%%", pct), Size: img.size, Architecture: img.arch, OSType: img.osType,
		OSName: img.platform, OSNameEn: img.platform, Platform: img.platform, IsPublic: img.public,
		IsCopied: img.copied, IsSelfShared: strconv.FormatBool(len(img.shared) > 0),
		IsSupportIoOptimized: true, IsSupportCloudinit: true, ImageOwnerAlias: alias,
		ImageOwnerID: ownerID, CreationTime: ecsTime(img.created), Usage: usage, BootMode: "BIOS",
		Tags:               tagsOut(img.tags),
		DiskDeviceMappings: diskMappings{DiskDeviceMapping: []diskJSON{}},
		ResourceGroupID:    resourceGroupID(img.owner),
		Features: featuresJSON{NvmeSupport: img.nvme, ImdsSupport: "v1", CpuOnlineUpgrade: nvmeUnsupported,
			CpuOnlineDowngrade: nvmeUnsupported, MemoryOnlineUpgrade: nvmeUnsupported, MemoryOnlineDowngrade: nvmeUnsupported},
	}
	out.DetectionOptions.Items.Item = []struct{}{}
	remain := 0
	if left > 0 {
		remain = int((left + 999_999_999) / 1_000_000_000)
	}
	for _, d := range img.disks {
		out.DiskDeviceMappings.DiskDeviceMapping = append(out.DiskDeviceMappings.DiskDeviceMapping, diskJSON{
			SnapshotID: d.snapshotID, Size: strconv.Itoa(d.size), Device: d.device, Format: d.format,
			Type: d.kind, ImportOSSBucket: d.ossBucket, ImportOSSObject: d.ossObject,
			OSSBucket: d.ossBucket, OSSObject: d.ossObject, DiskImageSize: d.size, Encrypted: d.encrypted,
			Progress: out.Progress, RemainTime: remain,
		})
	}
	return out
}

// resourceGroupID is the account's default resource group, where every emulated image lives.
func resourceGroupID(a *account) string {
	return "rg-acfm" + strings.ToLower(a.id[len(a.id)-12:])
}

var imageStatuses = map[string]bool{
	"Creating": true, "Waiting": true, "Available": true, "UnAvailable": true, "CreateFailed": true, "Deprecated": true,
}

// describeImages answers DescribeImages: the caller's images, images shared with it and
// community images of the region, newest first, filtered and paged.
func (s *Server) describeImages(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	number, size, err := r.paging(10, maxPageSize)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, id := range strings.Split(r.param("ImageId"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids[id] = true
		}
	}
	statuses := map[string]bool{statusAvailable: true}
	if v := r.param("Status"); v != "" {
		statuses = map[string]bool{}
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if !imageStatuses[st] {
				return nil, errInvalidParam("Status", "want Creating, Waiting, Available, UnAvailable, CreateFailed or Deprecated")
			}
			statuses[st] = true
		}
	}
	alias := r.param("ImageOwnerAlias")
	switch alias {
	case "", "self", "others", "system", "marketplace":
	default:
		return nil, ecsError(http.StatusBadRequest, "InvalidImageOwnerAlias.ValueNotSupported", "The specified ImageOwnerAlias value is not supported.")
	}
	isPublic, _, err := r.optBool("IsPublic")
	if err != nil {
		return nil, err
	}
	if isPublic && alias != "others" {
		return nil, ecsError(http.StatusBadRequest, "InvalidImageOwnerAlias.PublicImageUnsupported",
			"When querying images, the parameter ImageOwnerAlias should be others while specified parameter IsPublic is true.")
	}
	tags, err := r.tagParams(false)
	if err != nil {
		return nil, err
	}
	arch, osType, usage := r.param("Architecture"), strings.ToLower(r.param("OSType")), r.param("Usage")
	if arch != "" && arch != "x86_64" && arch != "i386" && arch != "arm64" {
		return nil, ecsError(http.StatusNotFound, "InvalidArchitecture", "The specified Architecture is not valid.")
	}
	if osType != "" && osType != "linux" && osType != "windows" {
		return nil, ecsError(http.StatusNotFound, "InvalidOSType", "The specified OSType is not valid.")
	}
	if usage != "" && usage != "instance" && usage != "none" {
		return nil, ecsError(http.StatusNotFound, "InvalidUsage", "The specified Usage is not valid.")
	}
	name, snapshotID := r.param("ImageName"), r.param("SnapshotId")

	var matched []*image
	for _, img := range e.images {
		if img.region != r.region || r.now.Before(img.visibleAt) {
			continue
		}
		mine := img.owner == r.acct
		shared := !mine && img.sharedWith(r.acct.id)
		community := !mine && img.public
		switch {
		case alias == "self":
			if !mine {
				continue
			}
		case alias == "others" && isPublic:
			if !community {
				continue
			}
		case alias == "others":
			if !shared {
				continue
			}
		case alias == "system", alias == "marketplace":
			continue // the emulator has no public or marketplace images
		default:
			// IsPublic (default false) selects community images; without it they are not listed,
			// even by ImageId (the API reference's IsPublic).
			if !mine && !shared && (!community || !isPublic) {
				continue
			}
		}
		if len(ids) > 0 && !ids[img.id] || !statuses[img.status] || !matchTags(img.tags, tags) {
			continue
		}
		// The API reference says ImageName supports "fuzzy match"; a substring match is the
		// broadest reading, so a client that relies on exact matching is caught here.
		if name != "" && !strings.Contains(img.name, name) {
			continue
		}
		if r.param("ImageFamily") != "" || (arch != "" && img.arch != arch) || (osType != "" && img.osType != osType) {
			continue
		}
		if usage != "" && (usage == "instance") != (e.usedBy(img.id) > 0) {
			continue
		}
		if snapshotID != "" && !img.hasSnapshot(snapshotID) {
			continue
		}
		matched = append(matched, img)
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq > matched[j].seq })
	from, to := page(len(matched), number, size)
	out := []imageJSON{}
	for _, img := range matched[from:to] {
		out = append(out, e.imageOut(r, img))
	}
	return map[string]any{
		"RegionId": r.region, "TotalCount": len(matched), "PageNumber": number, "PageSize": size,
		"Images": map[string]any{"Image": out},
	}, nil
}

func (img *image) hasSnapshot(id string) bool {
	for _, d := range img.disks {
		if d.snapshotID == id {
			return true
		}
	}
	return false
}

var deviceName = regexp.MustCompile(`^/dev/xvd[a-z]$`)

// importImage answers ImportImage: an image made from OSS objects in a bucket of the same
// region, Creating for Config.ImportDuration, then Available.
func (s *Server) importImage(r *ecsReq) (any, *rpcError) {
	return s.idempotent(r, func() (any, *rpcError) {
		e := s.ecs
		name, desc := r.param("ImageName"), r.Params["Description"]
		if name != "" && !validImageName(name) {
			return nil, errNameMalformed
		}
		if !validDescription(desc) {
			return nil, errDescMalformed
		}
		arch := r.param("Architecture")
		switch arch {
		case "":
			arch = "x86_64"
		case "x86_64", "i386", "arm64":
		default:
			return nil, ecsError(http.StatusBadRequest, "InvalidArchitecture.Malformed", "The specified Architecture is wrongly formed.")
		}
		osType := strings.ToLower(r.param("OSType"))
		switch osType {
		case "":
			osType = "linux"
		case "linux", "windows":
		default:
			return nil, ecsError(http.StatusBadRequest, "InvalidOSType.Malformed", "The specified OSType is wrongly formed.")
		}
		platform := r.param("Platform")
		if platform == "" {
			platform = "Others Linux"
		}
		tags, err := r.tagParams(true)
		if err != nil {
			return nil, err
		}
		nvme, err := r.nvmeParam()
		if err != nil {
			return nil, err
		}
		if nvme == "" {
			nvme = nvmeUnsupported
		}
		disks, err := s.importDisks(r)
		if err != nil {
			return nil, err
		}
		img := &image{
			id: ecsID("m"), region: r.region, owner: r.acct, name: name, description: desc,
			arch: arch, osType: osType, platform: platform, size: disks[0].size, disks: disks,
			tags: tags, created: r.now, visibleAt: r.now.Add(e.visibilityDelay), seq: e.nextSeq(),
			taskID: ecsID("t"), duration: e.importDuration, nvme: nvme,
		}
		if img.name == "" {
			img.name = "import-" + strings.TrimPrefix(img.id, "m-")
		}
		if e.nameTaken(r.acct, r.region, img.name, "") {
			return nil, ecsError(http.StatusBadRequest, "InvalidImageName.Duplicated", "The destination image is exist.")
		}
		for i := range img.disks {
			img.disks[i].snapshotID = e.newSnapshot(r, r.region, img.disks[i].size)
		}
		e.images[img.id] = img
		e.start(img, r.now)
		return map[string]any{"ImageId": img.id, "TaskId": img.taskID, "RegionId": r.region}, nil
	})
}

// importDisks reads DiskDeviceMapping.N (1 the system disk, 2-17 data disks) and checks that
// each object exists in a bucket of the request's region that the caller can read.
func (s *Server) importDisks(r *ecsReq) ([]imageDisk, *rpcError) {
	ns := map[int]bool{}
	for k := range r.Params {
		rest, ok := strings.CutPrefix(k, "DiskDeviceMapping.")
		if !ok {
			continue
		}
		nStr, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(nStr)
		if err != nil || n < 1 || n > 17 {
			return nil, errInvalidParam(k, "DiskDeviceMapping.N takes N from 1 to 17")
		}
		ns[n] = true
	}
	if len(ns) == 0 {
		return nil, ecsError(http.StatusForbidden, "MissingParameter.DiskDeviceMapping", "The specified parameter DiskDeviceMapping is not supplied.")
	}
	order := make([]int, 0, len(ns))
	for n := range ns {
		order = append(order, n)
	}
	sort.Ints(order)
	var disks []imageDisk
	for i, n := range order {
		get := func(f string) string {
			return strings.TrimSpace(r.Params[fmt.Sprintf("DiskDeviceMapping.%d.%s", n, f)])
		}
		d := imageDisk{ossBucket: get("OSSBucket"), ossObject: get("OSSObject"), device: get("Device"), kind: "data"}
		if i == 0 {
			d.kind = "system"
		}
		if d.ossBucket == "" {
			return nil, errMissing(fmt.Sprintf("DiskDeviceMapping.%d.OSSBucket", n))
		}
		if d.ossObject == "" {
			return nil, errMissing(fmt.Sprintf("DiskDeviceMapping.%d.OSSObject", n))
		}
		switch f := get("Format"); strings.ToUpper(f) {
		case "":
			d.format = "RAW"
		case "RAW", "VHD", "QCOW2", "VMDK", "ISO":
			d.format = f
		default:
			return nil, ecsError(http.StatusBadRequest, "InvalidImageFormat.Malformed", "The specified Image Format is wrongly formed.")
		}
		if d.device == "" {
			d.device = "/dev/xvd" + string(rune('a'+i))
		} else if !deviceName.MatchString(d.device) {
			return nil, ecsError(http.StatusForbidden, "InvalidParameter.Malformed", `The specified parameter "DiskDeviceMapping.n.Device " is not valid.`)
		}
		objSize, e := s.importObject(r, d.ossBucket, d.ossObject)
		if e != nil {
			return nil, e
		}
		d.size = int(max(1, (objSize+giB-1)/giB))
		sizeParam := get("DiskImageSize")
		if sizeParam == "" {
			sizeParam = get("DiskImSize") // the older name, still in the SDK
		}
		if sizeParam != "" {
			gib, err := strconv.Atoi(sizeParam)
			if err != nil || gib < 1 || gib > 2048 {
				return nil, ecsError(http.StatusBadRequest, "InvalidImageSize", "The specified DiskDeviceMapping.N.DiskImageSize should be in the range 1 to 2048 GiB.")
			}
			d.size = gib
		}
		disks = append(disks, d)
	}
	return disks, nil
}

// importObject finds an object for ImportImage: the bucket must be in the image's region (ECS
// reads OSS through the regional endpoint), and the caller's account must be able to read it.
func (s *Server) importObject(r *ecsReq, bucketName, key string) (int64, *rpcError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucketName]
	if !ok || b.region != r.region {
		return 0, ecsError(http.StatusBadRequest, "InvalidOSSBucket.NotFound", "The specified OSS bucket does not exist in this region.")
	}
	obj := b.objects[key]
	if obj == nil {
		return 0, ecsError(http.StatusBadRequest, "InvalidOSSObject.NotFound", "The specified OSS object does not exist in this region.")
	}
	if b.owner != r.acct {
		if acl := effectiveACL(b, obj); acl != aclPublicRead && acl != aclPublicReadWrite {
			return 0, ecsError(http.StatusBadRequest, "InvalidOSSObject.NotFound", "The specified OSS object cannot be retrieved.")
		}
	}
	return obj.size, nil
}

// copyImage answers CopyImage, called in the source region: a new image in the destination
// region, Waiting until its limit key has a free slot, then Creating for the copy duration.
func (s *Server) copyImage(r *ecsReq) (any, *rpcError) {
	return s.idempotent(r, func() (any, *rpcError) {
		e := s.ecs
		id, err := r.required("ImageId")
		if err != nil {
			return nil, err
		}
		dest, err := r.required("DestinationRegionId")
		if err != nil {
			return nil, err
		}
		if !s.regions[dest] {
			return nil, ecsError(http.StatusBadRequest, "DestinationRegion.NotFound", "The destination region not found.")
		}
		src := e.images[id]
		if src == nil || src.deleting() || src.region != r.region {
			return nil, errImageNotFound
		}
		if src.owner != r.acct {
			switch {
			case src.sharedWith(r.acct.id):
				if dest != src.region {
					return nil, ecsError(http.StatusForbidden, "OperationDenied.SameRegionOnly", "The image shared from others can not be copied to another region directly.")
				}
			case src.public:
				return nil, ecsError(http.StatusBadRequest, "OperationDenied.CommunityImage", "Community image does not support copy.")
			default:
				return nil, errImageNotFound
			}
		}
		if src.status != statusAvailable {
			return nil, errImageNotReady
		}
		name := src.name
		if v := r.param("DestinationImageName"); v != "" {
			if !validImageName(v) {
				return nil, ecsError(http.StatusBadRequest, "InvalidImageName.Malformed", "The specified destination image name is wrongly formed.")
			}
			name = v
		}
		desc := src.description
		if v, ok := r.Params["DestinationDescription"]; ok && v != "" {
			if !validDescription(v) {
				return nil, ecsError(http.StatusBadRequest, "InvalidDescription.Malformed", "The specified destination description is wrongly formed.")
			}
			desc = v
		}
		if e.nameTaken(r.acct, dest, name, "") {
			return nil, ecsError(http.StatusBadRequest, "InvalidImageName.Duplicated", "The specified image name is already in use in the target region. Please try a different one.")
		}
		tags, err := r.tagParams(true)
		if err != nil {
			return nil, err
		}
		encrypted, _, err := r.optBool("Encrypted")
		if err != nil {
			return nil, err
		}
		kmsKey := r.param("KMSKeyId")
		if kmsKey != "" && !encrypted {
			return nil, errKMSNeedsEnc
		}
		if kmsKey != "" && !e.kmsKeys[dest][kmsKey] {
			return nil, errKMSKeyMissing
		}
		key := src.region
		if e.limitBy == CopyLimitByDestination {
			key = dest
		}
		duration := e.copyDuration
		if d, ok := e.copyDurations[[2]string{src.region, dest}]; ok {
			duration = d
		}
		cp := &image{
			id: ecsID("m"), region: dest, owner: r.acct, name: name, description: desc,
			arch: src.arch, osType: src.osType, platform: src.platform, size: src.size, tags: tags,
			created: r.now, visibleAt: r.now.Add(e.visibilityDelay), seq: e.nextSeq(),
			copied: true, sourceID: src.id, sourceRegion: src.region, limitKey: key,
			status: statusWaiting, duration: duration, nvme: src.nvme,
		}
		if n := e.copyFailures[dest]; n > 0 {
			cp.fail = true
			if n == 1 {
				delete(e.copyFailures, dest)
			} else {
				e.copyFailures[dest] = n - 1
			}
		}
		for _, d := range src.disks {
			// An encrypted source gives an encrypted copy; Encrypted encrypts a plain one.
			cd := imageDisk{snapshotID: e.newSnapshot(r, dest, d.size), size: d.size,
				device: d.device, format: d.format, kind: d.kind, encrypted: d.encrypted || encrypted, kmsKeyID: d.kmsKeyID}
			if encrypted {
				cd.kmsKeyID = kmsKey // empty: the service key of ECS
			}
			cp.disks = append(cp.disks, cd)
		}
		e.images[cp.id] = cp
		e.event(cp, statusWaiting, r.now)
		e.startWaiting(key, r.now)
		return map[string]any{"ImageId": cp.id}, nil
	})
}

// cancelCopyImage answers CancelCopyImage, called in the destination region with the copy's
// id: the copy and its snapshots go, and its slot goes to the next waiting copy.
func (s *Server) cancelCopyImage(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("ImageId")
	if err != nil {
		return nil, err
	}
	img, err := e.ownImage(r, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !img.copied:
		return nil, ecsError(http.StatusBadRequest, "ImageCreatedNotFromCopy", "The specified image is not the target image of a copy action.")
	case img.status == statusAvailable:
		return nil, ecsError(http.StatusBadRequest, "IncorrectImageStatus", "The image has completed copy.")
	case img.status == statusFailed:
		return nil, ecsError(http.StatusBadRequest, "IncorrectImageStatus", "The Image copy has been failed.")
	}
	delete(e.images, img.id)
	for _, d := range img.disks {
		delete(e.snapshots, d.snapshotID)
	}
	e.event(img, EventCancelled, r.now)
	e.startWaiting(img.limitKey, r.now)
	return map[string]any{}, nil
}

// deleteImage answers DeleteImage. It refuses an image being imported or copied, the source of
// a running copy, an image shared with other accounts, and (unless Force) an image used by
// instances. The image goes after Config.DeleteDuration; its snapshots stay.
func (s *Server) deleteImage(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("ImageId")
	if err != nil {
		return nil, err
	}
	force, _, err := r.optBool("Force")
	if err != nil {
		return nil, err
	}
	if img := e.images[id]; img != nil && img.deleting() && img.region == r.region && img.owner == r.acct {
		return map[string]any{}, nil // already being deleted
	}
	img, err := e.ownImage(r, id)
	if err != nil {
		return nil, err
	}
	if img.copying() {
		return nil, errImageCopying
	}
	if !img.copied && img.status == statusCreating {
		return nil, ecsError(http.StatusForbidden, "ImageIsImporting", "The specified Image is importing.")
	}
	for _, other := range e.images {
		if other.sourceID == img.id && other.copying() {
			return nil, errImageCopying
		}
	}
	if !force && e.usedBy(img.id) > 0 {
		return nil, ecsError(http.StatusForbidden, "ImageUsingByInstance",
			"The specified image has been used to create instances. You can use the DescribeInstances API to query these instances, or you can use the force parameter to proceed.")
	}
	// Force overrides the use by instances only (the API reference's Force); a shared image
	// must be unshared first.
	if len(img.shared) > 0 || img.public {
		return nil, ecsError(http.StatusForbidden, "ImageUseShared",
			"The specified image has been shared to others. You can use the DescribeImageSharePermission API to query the users who have been shared.")
	}
	// Deletion takes time: the image stays listed, and its snapshots stay refused, until it is gone.
	img.deleteAt = r.now.Add(e.deleteDuration)
	e.event(img, EventDeleting, r.now)
	return map[string]any{}, nil
}

// deleteSnapshot answers DeleteSnapshot; a snapshot behind an existing image is refused, Force
// or not (Force only concerns snapshots used by disks).
func (s *Server) deleteSnapshot(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("SnapshotId")
	if err != nil {
		return nil, err
	}
	if _, _, err := r.optBool("Force"); err != nil {
		return nil, err
	}
	sn := e.snapshots[id]
	if sn == nil || sn.region != r.region || sn.owner != r.acct {
		return nil, ecsError(http.StatusNotFound, "InvalidSnapshotId.NotFound", "The specified snapshot is not found")
	}
	for _, img := range e.images {
		if img.hasSnapshot(id) {
			return nil, ecsError(http.StatusForbidden, "SnapshotCreatedImage", "The snapshot has been used to create user defined image(s).")
		}
	}
	delete(e.snapshots, id)
	return map[string]any{}, nil
}

// modifyImageAttribute answers ModifyImageAttribute for ImageName, Description and
// Features.NvmeSupport.
func (s *Server) modifyImageAttribute(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("ImageId")
	if err != nil {
		return nil, err
	}
	img, err := e.ownImage(r, id)
	if err != nil {
		return nil, err
	}
	name := r.param("ImageName")
	if name != "" {
		if !validImageName(name) {
			return nil, errNameMalformed
		}
		if e.nameTaken(r.acct, r.region, name, img.id) {
			return nil, ecsError(http.StatusBadRequest, "InvalidImageName.Duplicated", "The specified Image name has already been used.")
		}
	}
	desc, descSet := r.Params["Description"]
	if descSet && !validDescription(desc) {
		return nil, errDescMalformed
	}
	nvme, err := r.nvmeParam()
	if err != nil {
		return nil, err
	}
	if nvme != "" {
		img.nvme = nvme
	}
	if name != "" {
		img.name = name
	}
	if descSet {
		img.description = desc
	}
	return map[string]any{}, nil
}

// modifyImageSharePermission answers ModifyImageSharePermission: AddAccount.N and
// RemoveAccount.N (the first 10 of each; the rest are ignored, as documented), and IsPublic
// (publish or unpublish as a community image).
func (s *Server) modifyImageSharePermission(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("ImageId")
	if err != nil {
		return nil, err
	}
	img, err := e.ownImage(r, id)
	if err != nil {
		return nil, err
	}
	public, publicSet, err := r.optBool("IsPublic")
	if err != nil {
		return nil, err
	}
	// Without a tooMany error, indexed skips indexes over the limit and never fails.
	add, _ := r.indexed("AddAccount.", "", 1000, nil)
	remove, _ := r.indexed("RemoveAccount.", "", 1000, nil)
	add, remove = add[:min(len(add), maxSharePerOp)], remove[:min(len(remove), maxSharePerOp)]
	for _, a := range append(append([]indexedParam(nil), add...), remove...) {
		if !isDigits(a.value) {
			return nil, ecsError(http.StatusBadRequest, "InvalidAccount.Malformed", fmt.Sprintf("The specified account %q is malformed.", a.value))
		}
	}
	if img.status != statusAvailable && (len(add) > 0 || public) {
		return nil, errImageNotReady
	}
	shared := append([]imageShare(nil), img.shared...)
	for _, a := range add {
		if a.value != img.owner.id && !img.sharedWith(a.value) {
			shared = append(shared, imageShare{accountID: a.value, at: r.now})
		}
	}
	if len(shared) > maxShares {
		return nil, ecsError(http.StatusForbidden, "QuotaExceed.ShareImageUser", fmt.Sprintf("An image can be shared with at most %d accounts.", maxShares))
	}
	for _, a := range remove {
		for i, sh := range shared {
			if sh.accountID == a.value {
				shared = append(shared[:i], shared[i+1:]...)
				break
			}
		}
	}
	img.shared = shared
	if publicSet {
		img.public = public
	}
	return map[string]any{}, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// describeImageSharePermission answers DescribeImageSharePermission for an image of the caller.
func (s *Server) describeImageSharePermission(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("ImageId")
	if err != nil {
		return nil, err
	}
	number, size, err := r.paging(10, maxPageSize)
	if err != nil {
		return nil, err
	}
	img, err := e.ownImage(r, id)
	if err != nil {
		return nil, err
	}
	type accountJSON struct {
		AliyunID   string `json:"AliyunId"`
		SharedTime string `json:"SharedTime"`
	}
	type groupJSON struct {
		Group string `json:"Group"`
	}
	from, to := page(len(img.shared), number, size)
	accounts := []accountJSON{}
	for _, sh := range img.shared[from:to] {
		accounts = append(accounts, accountJSON{AliyunID: sh.accountID, SharedTime: ecsTime(sh.at)})
	}
	groups := []groupJSON{}
	if img.public {
		groups = append(groups, groupJSON{Group: "all"})
	}
	return map[string]any{
		"ImageId": img.id, "RegionId": img.region, "TotalCount": len(img.shared),
		"PageNumber": number, "PageSize": size,
		"Accounts":    map[string]any{"Account": accounts},
		"ShareGroups": map[string]any{"ShareGroup": groups},
	}, nil
}
