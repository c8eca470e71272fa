package sim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Zone is one zone and the instance types it sells: InstanceTypes are in stock, SoldOut are
// offered but without stock (DescribeAvailableResource: SoldOut/WithoutStock; CreateInstance:
// OperationDenied.NoStock). A type in neither list is not offered in the zone.
type Zone struct {
	Region        string   `json:"region" yaml:"region"`
	ID            string   `json:"zone" yaml:"zone"`
	InstanceTypes []string `json:"instance_types" yaml:"instance_types"`
	SoldOut       []string `json:"sold_out" yaml:"sold_out"`
}

// VSwitch is a vswitch CreateInstance accepts when Config.VSwitches is set.
type VSwitch struct {
	ID     string `json:"id" yaml:"id"`
	VpcID  string `json:"vpc_id" yaml:"vpc_id"`
	ZoneID string `json:"zone" yaml:"zone"` // optional: the zone it lives in
}

// DefaultInstanceTypes are the types every default zone has in stock.
func DefaultInstanceTypes() []string {
	return []string{"ecs.g6.large", "ecs.g6.xlarge", "ecs.c6.large", "ecs.c6.xlarge", "ecs.g7.large", "ecs.g7.xlarge", "ecs.r6.large"}
}

// DefaultZones gives each region two zones with DefaultInstanceTypes in stock. Zone ids follow
// the real patterns: cn-hangzhou-a style for regions ending in a letter, eu-central-1a style for
// regions ending in a digit.
func DefaultZones(regions []string) []Zone {
	var out []Zone
	for _, r := range regions {
		sep := "-"
		if last := r[len(r)-1]; last >= '0' && last <= '9' {
			sep = ""
		}
		for _, suffix := range []string{"a", "b"} {
			out = append(out, Zone{Region: r, ID: r + sep + suffix, InstanceTypes: DefaultInstanceTypes()})
		}
	}
	return out
}

// zoneStock is a zone's live stock: instance type → in stock.
type zoneStock struct {
	region string
	id     string
	types  map[string]bool
	order  []string
}

func buildZones(seed []Zone) (map[string]*zoneStock, error) {
	out := map[string]*zoneStock{}
	for _, z := range seed {
		if _, dup := out[z.ID]; dup {
			return nil, fmt.Errorf("sim: zone %s: duplicate", z.ID)
		}
		zs := &zoneStock{region: z.Region, id: z.ID, types: map[string]bool{}}
		for _, list := range []struct {
			types []string
			stock bool
		}{{z.InstanceTypes, true}, {z.SoldOut, false}} {
			for _, t := range list.types {
				if _, dup := zs.types[t]; dup {
					return nil, fmt.Errorf("sim: zone %s: instance type %s listed twice", z.ID, t)
				}
				zs.types[t] = list.stock
				zs.order = append(zs.order, t)
			}
		}
		out[z.ID] = zs
	}
	return out, nil
}

// SetStock sets whether a zone has stock of an instance type (adding the type to the zone's
// offer if needed). Without stock, CreateInstance answers OperationDenied.NoStock.
func (s *Server) SetStock(zoneID, instanceType string, inStock bool) error {
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	z := e.zones[zoneID]
	if z == nil {
		return fmt.Errorf("sim: SetStock: no zone %q", zoneID)
	}
	if instanceType == "" {
		return fmt.Errorf("sim: SetStock: instance type is required")
	}
	if _, ok := z.types[instanceType]; !ok {
		z.order = append(z.order, instanceType)
	}
	z.types[instanceType] = inStock
	return nil
}

// Zones returns the zones and their current stock.
func (s *Server) Zones() []Zone {
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Zone
	for _, r := range s.cfg.Regions {
		for _, id := range e.regionZ[r] {
			z := e.zones[id]
			zone := Zone{Region: z.region, ID: z.id, InstanceTypes: []string{}, SoldOut: []string{}}
			for _, t := range z.order {
				if z.types[t] {
					zone.InstanceTypes = append(zone.InstanceTypes, t)
				} else {
					zone.SoldOut = append(zone.SoldOut, t)
				}
			}
			out = append(out, zone)
		}
	}
	return out
}

func stockStatus(inStock bool) (status, category string) {
	if inStock {
		return "Available", "WithStock"
	}
	return "SoldOut", "WithoutStock"
}

// describeAvailableResource answers DescribeAvailableResource for DestinationResource
// InstanceType (and Zone): each zone of the region with the instance types it offers.
func (s *Server) describeAvailableResource(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	dest, err := r.required("DestinationResource")
	if err != nil {
		return nil, err
	}
	if dest != "InstanceType" && dest != "Zone" {
		return nil, errInvalidParam("DestinationResource", "the emulator answers InstanceType and Zone only")
	}
	switch r.param("InstanceChargeType") {
	case "", "PostPaid", "PrePaid":
	default:
		return nil, errInvalidParam("InstanceChargeType", "want PostPaid or PrePaid")
	}
	zoneFilter, typeFilter := r.param("ZoneId"), r.param("InstanceType")
	type supported struct {
		Value          string `json:"Value"`
		Status         string `json:"Status"`
		StatusCategory string `json:"StatusCategory"`
		Min            int    `json:"Min"`  // for sizes (disks); 0 for instance types and zones
		Max            int    `json:"Max"`  // likewise
		Unit           string `json:"Unit"` // likewise
	}
	type resource struct {
		Type                        string                 `json:"Type"`
		SupportedResources          map[string][]supported `json:"SupportedResources"`
		ConditionSupportedResources map[string][]any       `json:"ConditionSupportedResources"` // none: no conditions
	}
	type zoneJSON struct {
		RegionID           string                `json:"RegionId"`
		ZoneID             string                `json:"ZoneId"`
		Status             string                `json:"Status"`
		StatusCategory     string                `json:"StatusCategory"`
		AvailableResources map[string][]resource `json:"AvailableResources"`
	}
	zones := []zoneJSON{}
	for _, id := range e.regionZ[r.region] {
		z := e.zones[id]
		if zoneFilter != "" && zoneFilter != id {
			continue
		}
		var types []supported
		anyStock := false
		for _, t := range z.order {
			if typeFilter != "" && t != typeFilter {
				continue
			}
			st, cat := stockStatus(z.types[t])
			types = append(types, supported{Value: t, Status: st, StatusCategory: cat})
			anyStock = anyStock || z.types[t]
		}
		if len(types) == 0 {
			continue
		}
		st, cat := stockStatus(anyStock)
		noConditions := map[string][]any{"ConditionSupportedResource": {}}
		res := resource{Type: "InstanceType", SupportedResources: map[string][]supported{"SupportedResource": types},
			ConditionSupportedResources: noConditions}
		if dest == "Zone" {
			res = resource{Type: "Zone", SupportedResources: map[string][]supported{
				"SupportedResource": {{Value: id, Status: st, StatusCategory: cat}}}, ConditionSupportedResources: noConditions}
		}
		zones = append(zones, zoneJSON{RegionID: r.region, ZoneID: id, Status: st, StatusCategory: cat,
			AvailableResources: map[string][]resource{"AvailableResource": {res}}})
	}
	return map[string]any{"AvailableZones": map[string]any{"AvailableZone": zones}}, nil
}

// Instance statuses.
const (
	instStopped  = "Stopped"
	instStarting = "Starting"
	instRunning  = "Running"
	instStopping = "Stopping"
)

type instance struct {
	id, region, zone string
	owner            *account
	name             string
	itype            string
	imageID          string
	osType           string
	vpcID, vswitchID string
	ip               string
	tags             []tag
	created          time.Time
	seq              uint64
	status           string
	until            time.Time // end of Starting or Stopping
	started          time.Time
}

// settle finishes a Starting or Stopping transition whose time has come.
func (in *instance) settle(now time.Time) {
	if in.status != instStarting && in.status != instStopping || now.Before(in.until) {
		return
	}
	if in.status == instStarting {
		in.status, in.started = instRunning, in.until
	} else {
		in.status = instStopped
	}
}

var (
	errInstanceNotFound = ecsError(http.StatusNotFound, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
	errInstanceStatus   = ecsError(http.StatusForbidden, "IncorrectInstanceStatus", "The current status of the resource does not support this operation.")
)

func (e *ecsState) ownInstance(r *ecsReq) (*instance, *rpcError) {
	id, err := r.required("InstanceId")
	if err != nil {
		return nil, err
	}
	in := e.instances[id]
	if in == nil || in.region != r.region || in.owner != r.acct {
		return nil, errInstanceNotFound
	}
	return in, nil
}

// createInstance answers CreateInstance: a Stopped VPC instance from an Available image the
// caller can use, in a zone with stock of the instance type.
func (s *Server) createInstance(r *ecsReq) (any, *rpcError) {
	return s.idempotent(r, func() (any, *rpcError) {
		e := s.ecs
		itype, err := r.required("InstanceType")
		if err != nil {
			return nil, err
		}
		imageID, err := r.required("ImageId")
		if err != nil {
			return nil, err
		}
		vswitchID := r.param("VSwitchId")
		if vswitchID == "" {
			return nil, ecsError(http.StatusBadRequest, "InvalidVSwitchId.Necessary", "The VSwitchId is necessary.")
		}
		zoneID, vpcID := r.param("ZoneId"), r.param("VpcId")
		if len(e.vswitches) > 0 {
			vsw, ok := e.vswitches[vswitchID]
			if !ok {
				return nil, ecsError(http.StatusNotFound, "InvalidVSwitchId.NotFound", "Specified virtual switch does not exist.")
			}
			if vsw.ZoneID != "" {
				if zoneID != "" && zoneID != vsw.ZoneID {
					return nil, ecsError(http.StatusBadRequest, "InvalidParameter.Mismatch", "Specified virtual switch is not in the specified zone.")
				}
				zoneID = vsw.ZoneID
			}
			vpcID = vsw.VpcID
		} else if vpcID == "" {
			vpcID = "vpc-" + strings.TrimPrefix(vswitchID, "vsw-")
		}
		if zoneID == "" {
			if zs := e.regionZ[r.region]; len(zs) > 0 {
				zoneID = zs[0]
			}
		}
		z := e.zones[zoneID]
		if z == nil || z.region != r.region {
			return nil, ecsError(http.StatusNotFound, "InvalidZoneId.NotFound", "The specified zone does not exist.")
		}
		inStock, offered := z.types[itype]
		if !offered {
			return nil, ecsError(http.StatusForbidden, "InvalidInstanceType.ZoneNotSupported", "The specified zone does not support this instancetype.")
		}
		if !inStock {
			return nil, ecsError(http.StatusForbidden, "OperationDenied.NoStock",
				"The requested resource is sold out in the specified zone; try other types of resources or other regions and zones.")
		}
		img := e.images[imageID]
		if img == nil || img.deleting() || img.region != r.region || (img.owner != r.acct && !img.sharedWith(r.acct.id) && !img.public) {
			return nil, errImageNotFound
		}
		if img.status != statusAvailable {
			return nil, ecsError(http.StatusBadRequest, "IncorrectImageStatus", "The specified image is not available.")
		}
		name := r.param("InstanceName")
		if name != "" && !validInstanceName(name) {
			return nil, ecsError(http.StatusBadRequest, "InvalidInstanceName.Malformed", `The specified parameter "InstanceName" is not valid.`)
		}
		tags, err := r.tagParams(true)
		if err != nil {
			return nil, err
		}
		ip, err := e.privateIP(r, vpcID)
		if err != nil {
			return nil, err
		}
		in := &instance{
			id: ecsID("i"), region: r.region, zone: zoneID, owner: r.acct, name: name, itype: itype,
			imageID: img.id, osType: img.osType, vpcID: vpcID, vswitchID: vswitchID, ip: ip, tags: tags,
			created: r.now, seq: e.nextSeq(), status: instStopped,
		}
		if in.name == "" {
			in.name = in.id
		}
		if err := e.systemDisk(r, in); err != nil {
			return nil, err
		}
		e.instances[in.id] = in
		// Pay-as-you-go: no order, no price to pay up front.
		return map[string]any{"InstanceId": in.id, "OrderId": "", "TradePrice": 0}, nil
	})
}

func validInstanceName(name string) bool {
	runes := []rune(name)
	return len(runes) >= 2 && len(runes) <= 128 && unicode.IsLetter(runes[0]) &&
		!strings.HasPrefix(name, "http://") && !strings.HasPrefix(name, "https://")
}

// privateIP takes PrivateIpAddress, or hands out the next free address of the VPC.
func (e *ecsState) privateIP(r *ecsReq, vpcID string) (string, *rpcError) {
	taken := map[string]bool{}
	for _, in := range e.instances {
		if in.vpcID == vpcID {
			taken[in.ip] = true
		}
	}
	if want := r.param("PrivateIpAddress"); want != "" {
		if ip := net.ParseIP(want); ip == nil || ip.To4() == nil {
			return "", ecsError(http.StatusBadRequest, "InvalidPrivateIpAddress.Malformed", "Specified private IP address is malformed.")
		}
		if taken[want] {
			return "", ecsError(http.StatusBadRequest, "InvalidPrivateIpAddress.Duplicated", "Specified private IP address is duplicated.")
		}
		return want, nil
	}
	for {
		n := e.ips[vpcID]
		e.ips[vpcID] = n + 1
		ip := fmt.Sprintf("172.16.%d.%d", n/250, n%250+2)
		if !taken[ip] {
			return ip, nil
		}
	}
}

func (s *Server) startInstance(r *ecsReq) (any, *rpcError) {
	in, err := s.ecs.ownInstance(r)
	if err != nil {
		return nil, err
	}
	if in.status != instStopped {
		return nil, errInstanceStatus
	}
	in.status, in.until = instStarting, r.now.Add(instanceTransition)
	return map[string]any{}, nil
}

func (s *Server) stopInstance(r *ecsReq) (any, *rpcError) {
	in, err := s.ecs.ownInstance(r)
	if err != nil {
		return nil, err
	}
	if in.status != instRunning {
		return nil, errInstanceStatus
	}
	in.status, in.until = instStopping, r.now.Add(instanceTransition)
	return map[string]any{}, nil
}

// deleteInstance answers DeleteInstance: a Stopped instance goes; any other needs Force.
func (s *Server) deleteInstance(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	force, _, err := r.optBool("Force")
	if err != nil {
		return nil, err
	}
	in, err := e.ownInstance(r)
	if err != nil {
		return nil, err
	}
	if in.status != instStopped && !force {
		return nil, errInstanceStatus
	}
	delete(e.instances, in.id)
	e.releaseDisks(in.id)
	return map[string]any{}, nil
}

// describeInstances answers DescribeInstances: the caller's instances of the region, newest
// first, filtered and paged.
func (s *Server) describeInstances(r *ecsReq) (any, *rpcError) {
	e := s.ecs
	q, err := r.listQuery("InstanceIds", "InvalidInstanceIds.Malformed", "The specified parameter InstancesIds is not valid.")
	if err != nil {
		return nil, err
	}
	number, size := q.number, q.size
	status := r.param("Status")
	switch status {
	case "", "Pending", instRunning, instStarting, instStopping, instStopped:
	default:
		return nil, errInvalidParam("Status", "want Pending, Running, Starting, Stopping or Stopped")
	}
	filters := map[string]func(*instance) string{
		"VpcId": func(in *instance) string { return in.vpcID }, "VSwitchId": func(in *instance) string { return in.vswitchID },
		"ZoneId": func(in *instance) string { return in.zone }, "ImageId": func(in *instance) string { return in.imageID },
		"InstanceType": func(in *instance) string { return in.itype },
	}
	var matched []*instance
	for _, in := range e.instances {
		if !q.matches(r, in.region, in.owner, in.id, in.tags) {
			continue
		}
		if (status != "" && in.status != status) || !wildcardMatch(r.param("InstanceName"), in.name) {
			continue
		}
		ok := true
		for name, get := range filters {
			if v := r.param(name); v != "" && get(in) != v {
				ok = false
			}
		}
		if ok {
			matched = append(matched, in)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq > matched[j].seq })
	from, to := page(len(matched), number, size)
	out := []map[string]any{}
	for _, in := range matched[from:to] {
		out = append(out, instanceOut(in))
	}
	return map[string]any{
		"TotalCount": len(matched), "PageNumber": number, "PageSize": size,
		"Instances": map[string]any{"Instance": out},
		"NextToken": "", // the emulator pages by PageNumber only: never a next token
	}, nil
}

func instanceOut(in *instance) map[string]any {
	startTime := ""
	if !in.started.IsZero() {
		startTime = ecsMinuteTime(in.started)
	}
	cpus, memory := instanceSize(in.itype)
	ownerID, _ := strconv.ParseInt(in.owner.id, 10, 64) // ids are 16 digits (accountID)
	hostname := "iZ" + strings.TrimPrefix(in.id, "i-") + "Z"
	family := in.itype
	if i := strings.LastIndex(family, "."); i > 0 {
		family = family[:i]
	}
	// What DescribeInstances answers for a pay-as-you-go VPC instance with no EIP, no
	// dedicated host, no spot, no Cloud Assistant registration: the SDK's Instance struct, whole.
	return map[string]any{
		"InstanceId": in.id, "InstanceName": in.name, "HostName": hostname, "Hostname": hostname,
		"Description": "", "Status": in.status, "RegionId": in.region, "ZoneId": in.zone,
		"InstanceType": in.itype, "InstanceTypeFamily": family, "CPU": cpus, "Cpu": cpus, "Memory": memory,
		"ImageId": in.imageID, "OSType": in.osType, "OsType": in.osType, "OSName": "", "OSNameEn": "", "OsVersion": "",
		"InstanceNetworkType": "vpc", "NetworkType": "vpc", "InstanceChargeType": "PostPaid",
		"InternetChargeType": "PayByTraffic", "InternetMaxBandwidthIn": 0, "InternetMaxBandwidthOut": 0,
		"InternetIp": "", "IntranetIp": "", "ISP": "", "IoOptimized": true, "DeviceAvailable": true,
		"CreationTime": ecsMinuteTime(in.created), "StartTime": startTime, "ExpiredTime": "2099-12-31T15:59Z",
		"AutoReleaseTime": "", "StoppedMode": "Not-applicable", "Recyclable": false, "SaleCycle": "",
		"DeletionProtection": false, "InstanceOwnerId": ownerID, "ResourceGroupId": resourceGroupID(in.owner),
		"SerialNumber": "", "KeyPairName": "", "ClusterId": "", "HpcClusterId": "", "VlanId": "", "SocketId": "",
		"DeploymentSetId": "", "DeploymentSetGroupNo": 0, "CreditSpecification": "", "GPUAmount": 0, "GPUSpec": "",
		"LocalStorageAmount": 0, "LocalStorageCapacity": 0, "IsSpot": false, "SpotStrategy": "NoSpot",
		"SpotPriceLimit": 0, "SpotDuration": 0, "SpotInterruptionBehavior": "Terminate",
		"PrivatePoolOptionsId": "", "PrivatePoolOptionsMatchCriteria": "None",
		// Cloud Assistant registration (managed instances): never registered.
		"ActivationId": "", "AgentVersion": "", "Connected": false, "MachineId": "", "RegistrationTime": "",
		"InvocationCount": 0, "LastInvokedTime": "",
		"VpcAttributes": map[string]any{
			"VpcId": in.vpcID, "VSwitchId": in.vswitchID, "NatIpAddress": "",
			"PrivateIpAddress": map[string]any{"IpAddress": []string{in.ip}},
		},
		"PublicIpAddress":  map[string]any{"IpAddress": []string{}},
		"InnerIpAddress":   map[string]any{"IpAddress": []string{}},
		"RdmaIpAddress":    map[string]any{"IpAddress": []string{}},
		"SecurityGroupIds": map[string]any{"SecurityGroupId": []string{}},
		"EipAddress": map[string]any{"AllocationId": "", "IpAddress": "", "Bandwidth": 0,
			"InternetChargeType": "", "IsSupportUnassociate": false},
		"CpuOptions": map[string]any{"Core": cpus / 2, "CoreCount": cpus / 2, "ThreadsPerCore": 2, "CoreFactor": 2,
			"HyperThreadingAdjustable": false, "Numa": "", "TopologyType": "",
			"SupportedTopologyTypes": map[string]any{"SupportedTopologyType": []string{}}},
		"MetadataOptions":            map[string]any{"HttpEndpoint": "enabled", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1},
		"HibernationOptions":         map[string]any{"Configured": false},
		"DedicatedHostAttribute":     map[string]any{"DedicatedHostId": "", "DedicatedHostName": "", "DedicatedHostClusterId": ""},
		"DedicatedInstanceAttribute": map[string]any{"Affinity": "", "Tenancy": ""},
		"EcsCapacityReservationAttr": map[string]any{"CapacityReservationId": "", "CapacityReservationPreference": ""},
		"PrivateDnsNameOptions": map[string]any{"HostnameType": "Custom", "EnableInstanceIdDnsARecord": false,
			"EnableInstanceIdDnsAAAARecord": false, "EnableIpDnsARecord": false, "EnableIpDnsPtrRecord": false},
		"AdditionalInfo": map[string]any{"EnableHighDensityMode": false},
		"ImageOptions": map[string]any{"ImageFamily": "", "ImageName": "", "Description": "", "LoginAsNonRoot": false,
			"CurrentOSNVMeSupported": false, "ImageFeatures": map[string]any{"NvmeSupport": ""},
			"ImageTags": map[string]any{"ImageTag": []any{}}},
		"NetworkInterfaces": map[string]any{"NetworkInterface": []any{}},
		"OperationLocks":    map[string]any{"LockReason": []any{}},
		"Tags":              tagsOut(in.tags),
	}
}

// instanceSize is an instance type's vCPUs and memory (MiB), from its size suffix and family
// letter (g: 4 GiB per vCPU, c: 2, r: 8), as the ECS instance families define them.
func instanceSize(itype string) (cpus, memoryMiB int) {
	parts := strings.Split(itype, ".")
	cpus = 2
	if len(parts) == 3 {
		switch size := parts[2]; {
		case size == "large":
			cpus = 2
		case size == "xlarge":
			cpus = 4
		case strings.HasSuffix(size, "xlarge"):
			if n, err := strconv.Atoi(strings.TrimSuffix(size, "xlarge")); err == nil {
				cpus = 4 * n
			}
		}
	}
	perCPU := 4
	if len(parts) >= 2 && parts[1] != "" {
		switch parts[1][0] {
		case 'c':
			perCPU = 2
		case 'r':
			perCPU = 8
		}
	}
	return cpus, cpus * perCPU * 1024
}

// wildcardMatch matches InstanceName filters, where * stands for any run of characters.
func wildcardMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// listQuery is what DescribeInstances and DescribeDisks both take: paging, a JSON list of at
// most 100 ids (nil when absent; [] matches nothing) and tag filters.
type listQuery struct {
	number, size int
	ids          map[string]bool
	tags         []tag
}

func (r *ecsReq) listQuery(idParam, code, message string) (listQuery, *rpcError) {
	var q listQuery
	var err *rpcError
	if q.number, q.size, err = r.paging(10, maxPageSize); err != nil {
		return q, err
	}
	if v := r.param(idParam); v != "" {
		var list []string
		if json.Unmarshal([]byte(v), &list) != nil || len(list) > 100 {
			return q, ecsError(http.StatusBadRequest, code, message)
		}
		q.ids = map[string]bool{}
		for _, id := range list {
			q.ids[id] = true
		}
	}
	q.tags, err = r.tagParams(false)
	return q, err
}

// matches reports whether a resource of the caller's region passes the id and tag filters.
func (q listQuery) matches(r *ecsReq, region string, owner *account, id string, tags []tag) bool {
	return region == r.region && owner == r.acct && (q.ids == nil || q.ids[id]) && matchTags(tags, q.tags)
}
