package sim

import (
	"net/http"
)

var errResourceNotFound = ecsError(http.StatusNotFound, "InvalidResourceId.NotFound", "The specified ResourceIds are not found in our records.")

// taggable finds the tags of one of the caller's resources in the region.
func (e *ecsState) taggable(r *ecsReq, kind, id string) (*[]tag, *rpcError) {
	switch kind {
	case "image":
		if img := e.images[id]; img != nil && !img.deleting() && img.region == r.region && img.owner == r.acct {
			return &img.tags, nil
		}
	case "instance":
		if in := e.instances[id]; in != nil && in.region == r.region && in.owner == r.acct {
			return &in.tags, nil
		}
	case "disk":
		if d := e.disks[id]; d != nil && d.region == r.region && d.owner == r.acct {
			return &d.tags, nil
		}
	case "snapshot":
		if sn := e.snapshots[id]; sn != nil && sn.region == r.region && sn.owner == r.acct {
			return &sn.tags, nil
		}
	default:
		return nil, ecsError(http.StatusBadRequest, "InvalidResourceType.NotSupported",
			"The emulator tags resource types image, instance, disk and snapshot only.")
	}
	return nil, errResourceNotFound
}

// tagResources answers TagResources: Tag.N on ResourceId.N (at most 50) of one ResourceType.
// Every resource is checked before any is tagged.
func (s *Server) tagResources(r *ecsReq) (any, *rpcError) {
	kind, err := r.required("ResourceType")
	if err != nil {
		return nil, err
	}
	ids, err := r.indexed("ResourceId.", "", 50, errInvalidParam("ResourceId.N", "at most 50 resources"))
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errMissing("ResourceId.1")
	}
	return s.applyTags(r, kind, ids)
}

// addTags answers the older AddTags: Tag.N on one ResourceId.
func (s *Server) addTags(r *ecsReq) (any, *rpcError) {
	kind, err := r.required("ResourceType")
	if err != nil {
		return nil, err
	}
	id, err := r.required("ResourceId")
	if err != nil {
		return nil, err
	}
	return s.applyTags(r, kind, []indexedParam{{n: 1, value: id}})
}

func (s *Server) applyTags(r *ecsReq, kind string, ids []indexedParam) (any, *rpcError) {
	e := s.ecs
	tags, err := r.tagParams(true)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errMissing("Tag.1.Key")
	}
	targets := make([]*[]tag, 0, len(ids))
	merged := make([][]tag, 0, len(ids))
	for _, id := range ids {
		t, err := e.taggable(r, kind, id.value)
		if err != nil {
			return nil, err
		}
		m, err := mergeTags(*t, tags)
		if err != nil {
			return nil, err
		}
		targets, merged = append(targets, t), append(merged, m)
	}
	for i, t := range targets {
		*t = merged[i]
	}
	return map[string]any{}, nil
}
