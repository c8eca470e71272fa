package sim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the ECS timings and limits (Config fields of the same names).
const (
	defaultImportDuration  = 2 * time.Second
	defaultCopyDuration    = 3 * time.Second
	defaultCopyConcurrency = 5 // "a region supports up to five concurrent image copy tasks"
	// defaultDeleteDuration is how long DeleteImage takes: small, yet long enough that a client
	// which deletes the snapshots without waiting for the image to go is refused.
	defaultDeleteDuration = 200 * time.Millisecond

	// instanceTransition is how long Starting and Stopping last.
	instanceTransition = time.Second

	maxImageEvents = 10_000
	maxTokens      = 10_000 // ClientTokens remembered for idempotent retries
	maxTags        = 20     // per resource, and Tag.N per request
	maxPageSize    = 100
	maxShares      = 50 // accounts an image can be shared with
	maxSharePerOp  = 10 // AddAccount.N / RemoveAccount.N: the rest are ignored
)

// Copy limit keys (Config.CopyLimitBy).
const (
	CopyLimitBySource      = "source"
	CopyLimitByDestination = "destination"
)

// ecsState is the ECS image/snapshot/instance subset. Every action runs under mu after advance
// has brought asynchronous work (imports, copies, instance starts and stops) up to the clock.
type ecsState struct {
	mu sync.Mutex

	importDuration time.Duration
	copyDuration   time.Duration
	copyDurations  map[[2]string]time.Duration
	concurrency    int
	limitBy        string
	zoneSeed       []Zone
	vswitches      map[string]VSwitch
	baseDelay      time.Duration // Config.ImageVisibilityDelay
	deleteDuration time.Duration
	kmsKeys        map[string]map[string]bool // region → KMS key ids

	seq       uint64
	images    map[string]*image
	snapshots map[string]*snapshot
	instances map[string]*instance
	disks     map[string]*disk
	zones     map[string]*zoneStock // by zone id
	regionZ   map[string][]string   // region → its zone ids, in seed order
	ips       map[string]int        // VPC → private addresses handed out
	tokens    map[string]any        // account/action/ClientToken → the first answer
	tokenQ    []string

	copyFailures    map[string]int // destination region → copies still to fail
	visibilityDelay time.Duration
	events          []ImageEvent
}

// initECS validates the ECS part of the config and registers the ECS actions.
func (s *Server) initECS(cfg *Config) error {
	e := &ecsState{
		importDuration: cfg.ImportDuration,
		copyDuration:   cfg.CopyDuration,
		copyDurations:  map[[2]string]time.Duration{},
		concurrency:    cfg.CopyConcurrency,
		limitBy:        cfg.CopyLimitBy,
		vswitches:      map[string]VSwitch{},
		baseDelay:      cfg.ImageVisibilityDelay,
		deleteDuration: cfg.DeleteDuration,
		kmsKeys:        map[string]map[string]bool{},
	}
	if e.importDuration < 0 || e.copyDuration < 0 || e.baseDelay < 0 || e.concurrency < 0 || e.deleteDuration < 0 {
		return fmt.Errorf("sim: ImportDuration, CopyDuration, DeleteDuration, ImageVisibilityDelay and CopyConcurrency must not be negative")
	}
	if e.deleteDuration == 0 {
		e.deleteDuration = defaultDeleteDuration
	}
	for i, k := range cfg.KMSKeys {
		if !s.regions[k.Region] || k.ID == "" {
			return fmt.Errorf("sim: KMS key %d: want an id and one of the regions, got id %q in %q", i, k.ID, k.Region)
		}
		if e.kmsKeys[k.Region] == nil {
			e.kmsKeys[k.Region] = map[string]bool{}
		}
		e.kmsKeys[k.Region][k.ID] = true
	}
	if e.importDuration == 0 {
		e.importDuration = defaultImportDuration
	}
	if e.copyDuration == 0 {
		e.copyDuration = defaultCopyDuration
	}
	if e.concurrency == 0 {
		e.concurrency = defaultCopyConcurrency
	}
	switch e.limitBy {
	case "":
		e.limitBy = CopyLimitBySource
	case CopyLimitBySource, CopyLimitByDestination:
	default:
		return fmt.Errorf("sim: CopyLimitBy %q: want %q or %q", e.limitBy, CopyLimitBySource, CopyLimitByDestination)
	}
	for pair, d := range cfg.CopyDurations {
		if !s.regions[pair[0]] || !s.regions[pair[1]] {
			return fmt.Errorf("sim: CopyDurations %s→%s: not one of the regions", pair[0], pair[1])
		}
		if d <= 0 {
			return fmt.Errorf("sim: CopyDurations %s→%s: want a positive duration", pair[0], pair[1])
		}
		e.copyDurations[pair] = d
	}
	e.zoneSeed = cfg.Zones
	if e.zoneSeed == nil {
		e.zoneSeed = DefaultZones(cfg.Regions)
	}
	for i, z := range e.zoneSeed {
		if !s.regions[z.Region] {
			return fmt.Errorf("sim: zone %d (%s): region %q is not one of the regions", i, z.ID, z.Region)
		}
		if z.ID == "" {
			return fmt.Errorf("sim: zone %d in %s: id is required", i, z.Region)
		}
	}
	if _, err := buildZones(e.zoneSeed); err != nil {
		return err
	}
	for i, v := range cfg.VSwitches {
		if !strings.HasPrefix(v.ID, "vsw-") || !strings.HasPrefix(v.VpcID, "vpc-") {
			return fmt.Errorf("sim: vswitch %d: want an id starting vsw- and a vpc_id starting vpc-", i)
		}
		if _, dup := e.vswitches[v.ID]; dup {
			return fmt.Errorf("sim: vswitch %s: duplicate", v.ID)
		}
		e.vswitches[v.ID] = v
	}
	e.resetState()
	e.resetFaults()
	s.ecs = e

	s.registerECS("DescribeRegions", false, s.describeRegions)
	s.registerECS("DescribeImages", true, s.describeImages)
	s.registerECS("ImportImage", true, s.importImage)
	s.registerECS("CopyImage", true, s.copyImage)
	s.registerECS("CancelCopyImage", true, s.cancelCopyImage)
	s.registerECS("DeleteImage", true, s.deleteImage)
	s.registerECS("DeleteSnapshot", true, s.deleteSnapshot)
	s.registerECS("ModifyImageAttribute", true, s.modifyImageAttribute)
	s.registerECS("ModifyImageSharePermission", true, s.modifyImageSharePermission)
	s.registerECS("DescribeImageSharePermission", true, s.describeImageSharePermission)
	s.registerECS("TagResources", true, s.tagResources)
	s.registerECS("AddTags", true, s.addTags)
	s.registerECS("DescribeInstances", true, s.describeInstances)
	s.registerECS("CreateInstance", true, s.createInstance)
	s.registerECS("StartInstance", true, s.startInstance)
	s.registerECS("StopInstance", true, s.stopInstance)
	s.registerECS("DeleteInstance", true, s.deleteInstance)
	s.registerECS("DescribeAvailableResource", true, s.describeAvailableResource)
	s.registerECS("CreateDisk", true, s.createDisk)
	s.registerECS("DescribeDisks", true, s.describeDisks)
	s.registerECS("DeleteDisk", true, s.deleteDisk)
	return nil
}

// resetState forgets every image, snapshot, instance and disk and restores the configured stock.
// Callers hold mu (or own e exclusively).
func (e *ecsState) resetState() {
	e.images = map[string]*image{}
	e.snapshots = map[string]*snapshot{}
	e.instances = map[string]*instance{}
	e.disks = map[string]*disk{}
	e.ips = map[string]int{}
	e.tokens = map[string]any{}
	e.tokenQ = nil
	e.zones, _ = buildZones(e.zoneSeed) // cannot fail: initECS refused a seed it rejects
	e.regionZ = map[string][]string{}
	for _, z := range e.zoneSeed {
		e.regionZ[z.Region] = append(e.regionZ[z.Region], z.ID)
	}
}

// resetFaults clears the ECS faults and the image event log.
func (e *ecsState) resetFaults() {
	e.copyFailures = map[string]int{}
	e.visibilityDelay = e.baseDelay
	e.events = nil
}

// ecsReq is one ECS call as a handler sees it: the RPC call plus the caller's account, the
// region and the time, read under the state lock so that time never runs backwards.
type ecsReq struct {
	*rpcCall
	acct   *account
	region string
	now    time.Time
}

type ecsHandler func(*ecsReq) (any, *rpcError)

// registerECS adds an ECS action. Region-scoped actions check RegionId first; a DryRun request
// stops after that check with DryRunOperation, as the real API does after its validation.
func (s *Server) registerECS(action string, needsRegion bool, h ecsHandler) {
	s.registerRPC(ecsVersion, action, func(c *rpcCall) (any, *rpcError) {
		if needsRegion {
			if e := s.checkRegion(c.RegionID); e != nil {
				return nil, e
			}
		}
		if strings.EqualFold(c.Params["DryRun"], "true") {
			return nil, &rpcError{http.StatusBadRequest, "DryRunOperation", "Request validation has been passed with DryRun flag set."}
		}
		s.ecs.mu.Lock()
		defer s.ecs.mu.Unlock()
		now := s.now()
		s.ecs.advance(now)
		return h(&ecsReq{rpcCall: c, acct: c.Caller.account, region: c.RegionID, now: now})
	})
}

func (s *Server) checkRegion(region string) *rpcError {
	if region == "" {
		return errMissing("RegionId")
	}
	if !s.regions[region] {
		return &rpcError{http.StatusNotFound, "InvalidRegionId.NotFound", "The specified RegionId does not exist."}
	}
	return nil
}

func ecsError(status int, code, msg string) *rpcError { return &rpcError{status, code, msg} }

func (r *ecsReq) param(name string) string { return strings.TrimSpace(r.Params[name]) }

func (r *ecsReq) required(name string) (string, *rpcError) {
	v := r.param(name)
	if v == "" {
		return "", errMissing(name)
	}
	return v, nil
}

// optBool reads a boolean parameter; set is false when it is absent.
func (r *ecsReq) optBool(name string) (v, set bool, e *rpcError) {
	raw := r.param(name)
	switch strings.ToLower(raw) {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, errInvalidParam(name, "want true or false")
}

// paging reads PageNumber (from 1) and PageSize (1..max, default def).
func (r *ecsReq) paging(def, max int) (number, size int, e *rpcError) {
	number, size = 1, def
	if v := r.param("PageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errInvalidParam("PageNumber", "want an integer from 1")
		}
		number = n
	}
	if v := r.param("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return 0, 0, errInvalidParam("PageSize", fmt.Sprintf("want an integer from 1 to %d", max))
		}
		size = n
	}
	return number, size, nil
}

// page returns the bounds of one page of total items.
func page(total, number, size int) (from, to int) {
	from = (number - 1) * size
	if from > total {
		from = total
	}
	to = min(from+size, total)
	return from, to
}

// indexed collects repeated parameters prefix.N+suffix (N from 1), in N order. N above maxN is
// refused with tooMany.
func (r *ecsReq) indexed(prefix, suffix string, maxN int, tooMany *rpcError) ([]indexedParam, *rpcError) {
	var out []indexedParam
	for k, v := range r.Params {
		if !strings.HasPrefix(k, prefix) || !strings.HasSuffix(k, suffix) || len(k) <= len(prefix)+len(suffix) {
			continue
		}
		n, err := strconv.Atoi(k[len(prefix) : len(k)-len(suffix)])
		if err != nil || n < 1 {
			continue
		}
		if n > maxN {
			if tooMany == nil {
				continue
			}
			return nil, tooMany
		}
		out = append(out, indexedParam{n: n, value: strings.TrimSpace(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out, nil
}

type indexedParam struct {
	n     int
	value string
}

// tag is one resource tag; tags keep the order they were added in.
type tag struct{ Key, Value string }

// tagJSON carries a tag under both names the API answers with (TagKey/TagValue, and Key/Value
// as in the SDK's Tag struct and newer answers).
type tagJSON struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
	Key      string `json:"Key"`
	Value    string `json:"Value"`
}

type tagsJSON struct {
	Tag []tagJSON `json:"Tag"`
}

func tagsOut(tags []tag) tagsJSON {
	out := tagsJSON{Tag: []tagJSON{}}
	for _, t := range tags {
		out.Tag = append(out.Tag, tagJSON{TagKey: t.Key, TagValue: t.Value, Key: t.Key, Value: t.Value})
	}
	return out
}

var errTagCount = ecsError(http.StatusBadRequest, "InvalidTagCount", "The specified tags are beyond the permitted range.")

// tagParams reads Tag.N.Key / Tag.N.Value. For filters (strict false) a key alone matches any
// value; for resources (strict true) keys and values must follow the tag naming rules.
func (r *ecsReq) tagParams(strict bool) ([]tag, *rpcError) {
	keys, e := r.indexed("Tag.", ".Key", maxTags, errTagCount)
	if e != nil {
		return nil, e
	}
	values, e := r.indexed("Tag.", ".Value", maxTags, errTagCount)
	if e != nil {
		return nil, e
	}
	byN := map[int]string{}
	for _, k := range keys {
		byN[k.n] = k.value
	}
	for _, v := range values {
		if _, ok := byN[v.n]; !ok {
			return nil, ecsError(http.StatusBadRequest, "InvalidTag.Mismatch", "The specified Tag.n.Key and Tag.n.Value are not match.")
		}
	}
	var out []tag
	for _, k := range keys {
		t := tag{Key: k.value, Value: r.Params[fmt.Sprintf("Tag.%d.Value", k.n)]}
		if t.Key == "" || (strict && !validTagText(t.Key, 128)) {
			return nil, ecsError(http.StatusBadRequest, "InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
		}
		if strict && t.Value != "" && !validTagText(t.Value, 128) {
			return nil, ecsError(http.StatusBadRequest, "InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.")
		}
		out = append(out, t)
	}
	return out, nil
}

// validTagText: at most max characters, not starting with aliyun or acs:, no URL scheme.
func validTagText(s string, max int) bool {
	return len([]rune(s)) <= max && !strings.HasPrefix(s, "aliyun") && !strings.HasPrefix(s, "acs:") &&
		!strings.Contains(s, "http://") && !strings.Contains(s, "https://")
}

// mergeTags adds or replaces tags by key; it refuses more than maxTags in all.
func mergeTags(have, add []tag) ([]tag, *rpcError) {
	out := append([]tag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, errTagCount
	}
	return out, nil
}

// matchTags reports whether have carries every filter tag (a filter without value matches any).
func matchTags(have, filter []tag) bool {
	for _, f := range filter {
		found := false
		for _, t := range have {
			if t.Key == f.Key && (f.Value == "" || t.Value == f.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// ecsID looks like a real resource id: a prefix, a dash and 20 lower-case letters and digits.
func ecsID(prefix string) string {
	b := randomBytes(20)
	for i := range b {
		b[i] = lowerAlnum[int(b[i])%len(lowerAlnum)]
	}
	return prefix + "-" + string(b)
}

// ecsTime formats times as ECS does for images (seconds) and instances (minutes).
func ecsTime(t time.Time) string       { return t.UTC().Format("2006-01-02T15:04:05Z") }
func ecsMinuteTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

// idempotent answers a repeated ClientToken with the first answer, as the real API does for
// retried creations. The first answer is remembered only when the call succeeded.
func (s *Server) idempotent(r *ecsReq, create func() (any, *rpcError)) (any, *rpcError) {
	token := r.param("ClientToken")
	if token == "" {
		return create()
	}
	if len(token) > 64 {
		return nil, errInvalidParam("ClientToken", "at most 64 ASCII characters")
	}
	key := r.acct.id + "\x00" + r.Action + "\x00" + r.region + "\x00" + token
	e := s.ecs
	if resp, ok := e.tokens[key]; ok {
		return resp, nil
	}
	resp, err := create()
	if err != nil {
		return nil, err
	}
	e.tokens[key] = resp
	e.tokenQ = append(e.tokenQ, key)
	if len(e.tokenQ) > maxTokens {
		delete(e.tokens, e.tokenQ[0])
		e.tokenQ = e.tokenQ[1:]
	}
	return resp, nil
}

// AccountID returns the 16-digit account id (AliyunId) of a static credential's account, as
// ModifyImageSharePermission's AddAccount.N expects it.
func (s *Server) AccountID(accessKeyID string) (string, bool) {
	a, ok := s.accounts[accessKeyID]
	if !ok {
		return "", false
	}
	return a.id, true
}

// describeRegions answers DescribeRegions: every region the emulator knows, named in the
// requested language (zh-CN by default, as the real API).
func (s *Server) describeRegions(r *ecsReq) (any, *rpcError) {
	type region struct {
		RegionID       string `json:"RegionId"`
		LocalName      string `json:"LocalName"`
		RegionEndpoint string `json:"RegionEndpoint"`
		Status         string `json:"Status"`
	}
	lang := 0
	switch strings.ToLower(r.param("AcceptLanguage")) {
	case "", "zh-cn":
	case "en-us", "ja":
		lang = 1
	default:
		return nil, errInvalidParam("AcceptLanguage", "want zh-CN, en-US or ja")
	}
	out := []region{}
	for _, id := range s.cfg.Regions {
		name := id
		if n, ok := regionNames[id]; ok {
			name = n[lang]
		}
		out = append(out, region{RegionID: id, LocalName: name, RegionEndpoint: regionEndpoint(id), Status: "available"})
	}
	return map[string]any{"Regions": map[string]any{"Region": out}}, nil
}
