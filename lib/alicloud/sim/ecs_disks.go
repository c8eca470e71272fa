package sim

import (
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Disk statuses and types, as DescribeDisks reports them.
const (
	diskAvailable = "Available"
	diskInUse     = "In_use"
	diskSystem    = "system"
	diskData      = "data"
)

// defaultSystemDiskSize is CreateInstance's system disk size (GiB) when SystemDisk.Size is not
// given: the larger of 40 GiB and the image's size, as the API documents; emulated images are
// all smaller.
const defaultSystemDiskSize = 40

type disk struct {
	id, region, zone string
	owner            *account
	name             string
	kind             string // system or data
	category         string
	size             int // GiB
	instanceID       string
	device           string
	imageID          string
	tags             []tag
	created          time.Time
	attached         time.Time
	seq              uint64
}

func (d *disk) status() string {
	if d.instanceID != "" {
		return diskInUse
	}
	return diskAvailable
}

var errDiskStatus = ecsError(http.StatusForbidden, "IncorrectDiskStatus", "The current disk status does not support this operation.")

// createDisk answers CreateDisk: a pay-as-you-go data disk of Size GiB in ZoneId, Available.
func (s *Server) createDisk(r *ecsReq) (any, *rpcError) {
	return s.idempotent(r, func() (any, *rpcError) {
		e := s.ecs
		zoneID, err := r.required("ZoneId")
		if err != nil {
			return nil, err
		}
		if z := e.zones[zoneID]; z == nil || z.region != r.region {
			return nil, ecsError(http.StatusNotFound, "InvalidZoneId.NotFound", "The specified zone does not exist.")
		}
		raw, err := r.required("Size")
		if err != nil {
			return nil, err
		}
		size, convErr := strconv.Atoi(raw)
		if convErr != nil || size < 1 || size > 32768 {
			return nil, ecsError(http.StatusBadRequest, "InvalidDiskSize.ValueNotSupported", "The specified parameter Size is not valid.")
		}
		category := r.param("DiskCategory")
		switch category {
		case "":
			category = "cloud"
		case "cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd", "cloud_auto", "cloud_essd_entry":
		default:
			return nil, ecsError(http.StatusBadRequest, "InvalidDiskCategory.ValueNotSupported", "The specified parameter DiskCategory is not valid.")
		}
		tags, err := r.tagParams(true)
		if err != nil {
			return nil, err
		}
		d := &disk{id: ecsID("d"), region: r.region, zone: zoneID, owner: r.acct, name: r.param("DiskName"),
			kind: diskData, category: category, size: size, tags: tags, created: r.now, seq: e.nextSeq()}
		e.disks[d.id] = d
		return map[string]any{"DiskId": d.id, "OrderId": ""}, nil
	})
}

// systemDisk adds the system disk CreateInstance makes with an instance.
func (e *ecsState) systemDisk(r *ecsReq, in *instance) *rpcError {
	size := defaultSystemDiskSize
	if raw := r.param("SystemDisk.Size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 20 || n > 2048 {
			return ecsError(http.StatusBadRequest, "InvalidSystemDiskSize.ValueNotSupported", "The specified parameter SystemDisk.Size is not valid.")
		}
		size = n
	}
	category := r.param("SystemDisk.Category")
	if category == "" {
		category = "cloud_efficiency"
	}
	d := &disk{id: ecsID("d"), region: in.region, zone: in.zone, owner: in.owner, name: r.param("SystemDisk.DiskName"),
		kind: diskSystem, category: category, size: size, instanceID: in.id, device: "/dev/xvda",
		imageID: in.imageID, created: r.now, attached: r.now, seq: e.nextSeq()}
	e.disks[d.id] = d
	return nil
}

// releaseDisks deletes an instance's disks with it (the system disk's DeleteWithInstance).
func (e *ecsState) releaseDisks(instanceID string) {
	for id, d := range e.disks {
		if d.instanceID == instanceID {
			delete(e.disks, id)
		}
	}
}

// deleteDisk answers DeleteDisk: an Available disk goes at once; an attached one is refused. A
// disk that does not exist is ignored, as the API documents.
func (s *Server) deleteDisk(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	id, err := r.required("DiskId")
	if err != nil {
		return nil, err
	}
	d := e.disks[id]
	if d == nil || d.region != r.region || d.owner != r.acct {
		return map[string]any{}, nil
	}
	if d.status() != diskAvailable {
		return nil, errDiskStatus
	}
	delete(e.disks, id)
	return map[string]any{}, nil
}

// describeDisks answers DescribeDisks: the caller's disks of the region, newest first, filtered
// (AND of every filter given) and paged.
func (s *Server) describeDisks(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	q, err := r.listQuery("DiskIds", "InvalidDiskIds.Malformed", "The specified parameter DiskIds is not valid.")
	if err != nil {
		return nil, err
	}
	number, size := q.number, q.size
	status := r.param("Status")
	switch status {
	case "", "All", diskInUse, diskAvailable, "Attaching", "Detaching", "Creating", "ReIniting":
	default:
		return nil, errInvalidParam("Status", "want In_use, Available, Attaching, Detaching, Creating, ReIniting or All")
	}
	kind := r.param("DiskType")
	switch kind {
	case "", "all", diskSystem, diskData:
	default:
		return nil, errInvalidParam("DiskType", "want all, system or data")
	}
	var matched []*disk
	for _, d := range e.disks {
		if !q.matches(r, d.region, d.owner, d.id, d.tags) {
			continue
		}
		if status != "" && status != "All" && d.status() != status {
			continue
		}
		if kind != "" && kind != "all" && d.kind != kind {
			continue
		}
		if v := r.param("ZoneId"); v != "" && d.zone != v {
			continue
		}
		if v := r.param("InstanceId"); v != "" && d.instanceID != v {
			continue
		}
		matched = append(matched, d)
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq > matched[j].seq })
	from, to := page(len(matched), number, size)
	out := []map[string]any{}
	for _, d := range matched[from:to] {
		out = append(out, diskOut(d))
	}
	return map[string]any{
		"TotalCount": len(matched), "PageNumber": number, "PageSize": size,
		"Disks":     map[string]any{"Disk": out},
		"NextToken": "", // the emulator pages by PageNumber only
	}, nil
}

func diskOut(d *disk) map[string]any {
	attachedTime, detachedTime := "", ""
	attachments := []map[string]any{}
	if d.instanceID != "" {
		attachedTime = ecsTime(d.attached)
		attachments = append(attachments, map[string]any{"InstanceId": d.instanceID, "Device": d.device, "AttachedTime": attachedTime})
	}
	iops := 1800 + 50*d.size // an ultra disk's baseline, as the category documents
	// What DescribeDisks answers for a pay-as-you-go, unencrypted, single-attach disk with no
	// snapshot policy: the SDK's Disk struct, whole.
	return map[string]any{
		"DiskId": d.id, "DiskName": d.name, "Description": "", "RegionId": d.region, "ZoneId": d.zone,
		"Type": d.kind, "Category": d.category, "Size": d.size, "Status": d.status(),
		"InstanceId": d.instanceID, "Device": d.device, "ImageId": d.imageID, "SourceSnapshotId": "",
		"CreationTime": ecsTime(d.created), "AttachedTime": attachedTime, "DetachedTime": detachedTime,
		"ExpiredTime": "2999-09-08T16:00Z", "DiskChargeType": "PostPaid",
		"DeleteWithInstance": d.kind == diskSystem, "DeleteAutoSnapshot": true, "Portable": d.kind == diskData,
		"EnableAutoSnapshot": true, "EnableAutomatedSnapshotPolicy": false, "AutoSnapshotPolicyId": "",
		"Encrypted": false, "KMSKeyId": "", "MultiAttach": "Disabled", "MountInstanceNum": 0,
		"PerformanceLevel": "", "ProvisionedIops": 0, "BurstingEnabled": false,
		"IOPS": iops, "IOPSRead": iops / 2, "IOPSWrite": iops / 2,
		"Throughput": 0, "ThroughputRead": 0, "ThroughputWrite": 0,
		"BdfId": "", "SerialNumber": d.id[2:], "ProductCode": "", "ResourceGroupId": resourceGroupID(d.owner),
		"StorageSetId": "", "StorageSetPartitionNumber": 0, "StorageClusterId": "",
		"Placement":      map[string]any{"ZoneIds": ""},
		"Tags":           tagsOut(d.tags),
		"OperationLocks": map[string]any{"OperationLock": []any{}},
		"MountInstances": map[string]any{"MountInstance": []any{}},
		"Attachments":    map[string]any{"Attachment": attachments},
	}
}
