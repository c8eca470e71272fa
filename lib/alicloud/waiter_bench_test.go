package alicloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
)

// BenchmarkWaiterLag copies an image with a 20 s emulated copy and measures how long after the
// emulator made it Available (its own event log) the waiter returned, as a share of the copy
// time (goal ≤ 10%), and how many DescribeImages calls the wait cost.
func BenchmarkWaiterLag(b *testing.B) {
	const copyTime = 20 * time.Second
	c := newCloud(b, func(cfg *sim.Config) {
		cfg.ImportDuration = 100 * time.Millisecond
		cfg.CopyDuration = copyTime
	})
	s := c.session(c.source())
	ctx := context.Background()
	source := importImage(b, c, s, "lag", nil)
	if _, err := s.WaitImage(ctx, testRegion, source, alicloud.WaitOptions{FirstPoll: 50 * time.Millisecond}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		copyID, err := s.CopyImage(ctx, testRegion, source, "eu-central-1", "lag", nil)
		if err != nil {
			b.Fatal(err)
		}
		before := c.calls("ecs", "DescribeImages")
		if _, err := s.WaitImage(ctx, "eu-central-1", copyID, alicloud.WaitOptions{}); err != nil {
			b.Fatal(err)
		}
		returned := time.Now()
		calls := c.calls("ecs", "DescribeImages") - before
		var available time.Time
		for _, e := range c.sim.ImageEvents() {
			if e.ImageID == copyID && e.Status == alicloud.ImageAvailable {
				available = e.Time
			}
		}
		if available.IsZero() {
			b.Fatal("the emulator recorded no Available event")
		}
		lag := returned.Sub(available)
		b.ReportMetric(lag.Seconds(), "lag-s")
		b.ReportMetric(100*lag.Seconds()/copyTime.Seconds(), "lag-%-of-copy")
		b.ReportMetric(float64(calls), "DescribeImages-calls")
	}
}
