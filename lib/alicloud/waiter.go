package alicloud

import (
	"context"
	"fmt"
	"time"
)

// WaitOptions tune WaitImage.
type WaitOptions struct {
	FirstPoll time.Duration     // the pause after the first look, to measure the pace; default 1s
	MaxPoll   time.Duration     // the longest pause between looks; default 1m
	OnPoll    func(image Image) // called after every look, for progress logs
	// VisibilityGrace is how long a new image may be missing from DescribeImages (ECS is
	// eventually consistent) before the wait fails; default 2m.
	VisibilityGrace time.Duration
}

func (o WaitOptions) withDefaults() WaitOptions {
	if o.FirstPoll <= 0 {
		o.FirstPoll = time.Second
	}
	if o.MaxPoll <= 0 {
		o.MaxPoll = time.Minute
	}
	if o.OnPoll == nil {
		o.OnPoll = func(Image) {}
	}
	if o.VisibilityGrace <= 0 {
		o.VisibilityGrace = 2 * time.Minute
	}
	return o
}

// pace predicts when an image will be done from how fast its progress moves.
type pace struct {
	startAt      time.Time // first look at which the image was moving
	startPercent int
	lastPercent  int
	idle         time.Duration // pause while nothing moves; doubles each time
}

// next returns how long to wait before the next look, given a look at percent at now.
func (p *pace) next(now time.Time, percent int, o WaitOptions) time.Duration {
	moved := percent > p.lastPercent
	p.lastPercent = percent
	switch {
	case moved && p.startAt.IsZero():
		// First sign of movement: measure the pace over a short pause.
		p.startAt, p.startPercent, p.idle = now, percent, 0
		return o.FirstPoll
	case moved && percent < 100:
		p.idle = 0
		elapsed := now.Sub(p.startAt)
		rate := float64(percent-p.startPercent) / elapsed.Seconds() // percent per second
		remaining := time.Duration(float64(100-percent) / rate * float64(time.Second))
		// Aim a little past the predicted end, so one look usually finds it done.
		return clamp(remaining+remaining/20+100*time.Millisecond, 200*time.Millisecond, o.MaxPoll)
	default:
		// Nothing moves (queued behind other copies, not started, or at 100% but not yet
		// Available, which ECS reports for a while): back off.
		if p.idle == 0 {
			p.idle = o.FirstPoll
		} else {
			p.idle = min(2*p.idle, o.MaxPoll)
		}
		return p.idle
	}
}

func clamp(d, lo, hi time.Duration) time.Duration { return max(lo, min(d, hi)) }

// WaitImage waits until an image is Available and returns it. It looks as rarely as it can:
// once it sees progress move it predicts the end from the pace and looks again just after it,
// and it backs off while nothing moves. A failed image (CreateFailed, UnAvailable) or one that
// disappears ends the wait with an error naming the region; so does ctx.
func (s *Session) WaitImage(ctx context.Context, region, id string, opts WaitOptions) (Image, error) {
	opts = opts.withDefaults()
	var p pace
	started := time.Now()
	for {
		image, err := s.Image(ctx, region, id)
		if HasCode(err, "ImageNotFound") && time.Since(started) < opts.VisibilityGrace {
			// ECS lists a new image only after a while: not seeing it yet is not its end.
			image = Image{ID: id, Region: region, Status: ImageWaiting, Progress: "0%"}
		} else if err != nil {
			return Image{}, fmt.Errorf("waiting for image %s in %s: %w", id, region, err)
		}
		opts.OnPoll(image)
		switch image.Status {
		case ImageAvailable:
			return image, nil
		case ImageCreateFailed, ImageUnavailable:
			return image, fmt.Errorf("image %s in %s is %s", id, region, image.Status)
		}
		delay := p.next(time.Now(), image.Percent(), opts)
		select {
		case <-ctx.Done():
			return image, fmt.Errorf("waiting for image %s in %s (%s, %s): %w", id, region, image.Status, image.Progress, ctx.Err())
		case <-time.After(delay):
		}
	}
}
