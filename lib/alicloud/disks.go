package alicloud

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Disk is an ECS block storage disk as DescribeDisks reports it.
type Disk struct {
	ID         string `json:"DiskId"`
	Status     string `json:"Status"` // Available, In_use, Attaching, Detaching, Creating, ReIniting
	Type       string `json:"Type"`   // system or data
	ZoneID     string `json:"ZoneId"`
	InstanceID string `json:"InstanceId"` // the instance it is attached to, if any
	Tags       struct {
		Tag []struct {
			Key   string `json:"TagKey"`
			Value string `json:"TagValue"`
		} `json:"Tag"`
	} `json:"Tags"`
}

// DiskQuery selects disks in one region; empty fields do not filter.
type DiskQuery struct {
	IDs  []string
	Tags map[string]string
}

// Disks lists a region's disks matching q, every page, sorted by id. More than 100 IDs (the
// most DiskIds takes) are asked for 100 at a time.
func (s *Session) Disks(ctx context.Context, region string, q DiskQuery) ([]Disk, error) {
	var out []Disk
	for _, chunk := range idChunks(q.IDs) {
		params := map[string]string{}
		if chunk != nil {
			ids, _ := json.Marshal(chunk) // a []string always marshals
			params["DiskIds"] = string(ids)
		}
		addTags(params, "Tag", q.Tags)
		page, err := ecsPaged[Disk, diskPage](ctx, s, region, "DescribeDisks", params)
		if err != nil {
			return nil, fmt.Errorf("listing disks in %s: %w", region, err)
		}
		out = append(out, page...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// maxIDFilter is the most ids a Describe* action's JSON id list takes.
const maxIDFilter = 100

// idChunks splits an id filter into lists the API takes; a nil filter is one nil chunk (no
// filter) and an empty one is one empty chunk (matches nothing).
func idChunks(ids []string) [][]string {
	if len(ids) <= maxIDFilter {
		return [][]string{ids}
	}
	var out [][]string
	for len(ids) > 0 {
		n := min(len(ids), maxIDFilter)
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	return out
}

type diskPage struct {
	TotalCount int `json:"TotalCount"`
	Disks      struct {
		Disk []Disk `json:"Disk"`
	} `json:"Disks"`
}

func (p diskPage) items() []Disk { return p.Disks.Disk }
func (p diskPage) total() int    { return p.TotalCount }

// DeleteDisks deletes disks and waits, up to timeout, until ECS no longer lists them. A disk
// still attached (In_use, or detaching from an instance being deleted) is tried again while it
// waits; the error names the disks still there when time runs out.
func (s *Session) DeleteDisks(ctx context.Context, region string, ids []string, timeout time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	pending := ids
	return untilNoneLeft(ctx, "disks in "+region, timeout, func() ([]string, error) {
		var refused []string
		for _, id := range pending {
			err := s.ecsCall(ctx, region, "DeleteDisk", map[string]string{"DiskId": id}, nil)
			switch {
			case err == nil, HasCode(err, "InvalidDiskId.NotFound"):
			case HasCode(err, "IncorrectDiskStatus"):
				refused = append(refused, id)
			default:
				return nil, fmt.Errorf("deleting disk %s in %s: %w", id, region, err)
			}
		}
		left, err := s.Disks(ctx, region, DiskQuery{IDs: ids})
		if err != nil {
			return nil, err
		}
		if len(refused) > 0 && len(left) > 0 {
			s.opts.Log.Printf("disks %v are still attached (IncorrectDiskStatus): trying again", refused)
		}
		pending = make([]string, len(left))
		names := make([]string, len(left))
		for i, d := range left {
			pending[i], names[i] = d.ID, d.ID+" ("+d.Status+")"
		}
		return names, nil
	})
}
