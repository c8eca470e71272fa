package alicloud

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Instance is an ECS instance as DescribeInstances reports it.
type Instance struct {
	ID     string `json:"InstanceId"`
	Name   string `json:"InstanceName"`
	Status string `json:"Status"` // Pending, Running, Starting, Stopping, Stopped
	ZoneID string `json:"ZoneId"`
	Type   string `json:"InstanceType"`
	VPC    struct {
		VpcID     string `json:"VpcId"`
		VSwitchID string `json:"VSwitchId"`
	} `json:"VpcAttributes"`
	Tags struct {
		Tag []struct {
			Key   string `json:"TagKey"`
			Value string `json:"TagValue"`
		} `json:"Tag"`
	} `json:"Tags"`
}

// InstanceQuery selects instances in one region; empty fields do not filter.
type InstanceQuery struct {
	IDs   []string
	VpcID string
	Tags  map[string]string
}

// Instances lists a region's instances matching q, every page, sorted by id. More than 100 IDs
// (the most InstanceIds takes) are asked for 100 at a time.
func (s *Session) Instances(ctx context.Context, region string, q InstanceQuery) ([]Instance, error) {
	var out []Instance
	ids := q.IDs
	if len(ids) == 0 {
		ids = nil // no filter, as before
	}
	for _, chunk := range idChunks(ids) {
		params := map[string]string{}
		if len(chunk) > 0 {
			list, _ := json.Marshal(chunk) // a []string always marshals
			params["InstanceIds"] = string(list)
		}
		if q.VpcID != "" {
			params["VpcId"] = q.VpcID
		}
		addTags(params, "Tag", q.Tags)
		page, err := ecsPaged[Instance, instancePage](ctx, s, region, "DescribeInstances", params)
		if err != nil {
			return nil, fmt.Errorf("listing instances in %s: %w", region, err)
		}
		out = append(out, page...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

type instancePage struct {
	TotalCount int `json:"TotalCount"`
	Instances  struct {
		Instance []Instance `json:"Instance"`
	} `json:"Instances"`
}

func (p instancePage) items() []Instance { return p.Instances.Instance }
func (p instancePage) total() int        { return p.TotalCount }

// DeleteInstances force-deletes instances and waits, up to timeout, until ECS no longer lists
// them; it names the ones still there when time runs out.
func (s *Session) DeleteInstances(ctx context.Context, region string, ids []string, timeout time.Duration) error {
	for _, id := range ids {
		err := s.ecsCall(ctx, region, "DeleteInstance", map[string]string{"InstanceId": id, "Force": "true"}, nil)
		if err != nil && !HasCode(err, "InvalidInstanceId.NotFound") {
			return fmt.Errorf("deleting instance %s in %s: %w", id, region, err)
		}
	}
	return untilNoneLeft(ctx, "instances in "+region, timeout, func() ([]string, error) {
		left, err := s.Instances(ctx, region, InstanceQuery{IDs: ids})
		names := make([]string, len(left))
		for i, in := range left {
			names[i] = in.ID + " (" + in.Status + ")"
		}
		return names, err
	})
}

// untilNoneLeft runs round (one try: delete what is left, list it) until it lists nothing or
// timeout has passed, backing off from 1 s to 15 s; the error names what round last listed.
func untilNoneLeft(ctx context.Context, what string, timeout time.Duration, round func() ([]string, error)) error {
	deadline := time.Now().Add(timeout)
	for delay := time.Second; ; delay = min(2*delay, 15*time.Second) {
		left, err := round()
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("%s still exist %s after deletion: %v", what, timeout, left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// ZoneWithStock returns the first zone (in zone order) where every one of the instance types
// can be bought now, per DescribeAvailableResource; the error lists what each zone lacks.
func (s *Session) ZoneWithStock(ctx context.Context, region string, instanceTypes []string) (string, error) {
	var answer struct {
		AvailableZones struct {
			AvailableZone []struct {
				ZoneID             string `json:"ZoneId"`
				Status             string `json:"Status"`
				StatusCategory     string `json:"StatusCategory"`
				AvailableResources struct {
					AvailableResource []struct {
						Type               string `json:"Type"`
						SupportedResources struct {
							SupportedResource []struct {
								Value          string `json:"Value"`
								Status         string `json:"Status"`
								StatusCategory string `json:"StatusCategory"`
							} `json:"SupportedResource"`
						} `json:"SupportedResources"`
					} `json:"AvailableResource"`
				} `json:"AvailableResources"`
			} `json:"AvailableZone"`
		} `json:"AvailableZones"`
	}
	params := map[string]string{"DestinationResource": "InstanceType", "InstanceChargeType": "PostPaid"}
	if err := s.ecsCall(ctx, region, "DescribeAvailableResource", params, &answer); err != nil {
		return "", fmt.Errorf("checking instance stock in %s: %w", region, err)
	}
	zones := answer.AvailableZones.AvailableZone
	sort.Slice(zones, func(i, j int) bool { return zones[i].ZoneID < zones[j].ZoneID })
	var lacking []string
	for _, z := range zones {
		inStock := map[string]bool{}
		if z.Status == "Available" {
			for _, r := range z.AvailableResources.AvailableResource {
				for _, sr := range r.SupportedResources.SupportedResource {
					if sr.Status == "Available" && sr.StatusCategory != "WithoutStock" {
						inStock[sr.Value] = true
					}
				}
			}
		}
		var missing []string
		for _, t := range instanceTypes {
			if !inStock[t] {
				missing = append(missing, t)
			}
		}
		if len(missing) == 0 {
			return z.ZoneID, nil
		}
		lacking = append(lacking, fmt.Sprintf("%s lacks %v", z.ZoneID, missing))
	}
	return "", fmt.Errorf("no zone in %s has %v in stock: %v", region, instanceTypes, lacking)
}
