package sim

import (
	"fmt"
	"time"
)

// Image statuses, as DescribeImages reports them.
const (
	statusWaiting   = "Waiting"
	statusCreating  = "Creating"
	statusAvailable = "Available"
	statusFailed    = "CreateFailed"
)

// Pseudo statuses that only appear in image events.
const (
	EventCancelled = "Cancelled" // CancelCopyImage removed the copy
	EventDeleting  = "Deleting"  // DeleteImage accepted: the image goes after Config.DeleteDuration
	EventDeleted   = "Deleted"   // the image is gone
)

// image is a custom image. Its status is kept current by advance: an import runs from its
// creation; a copy waits (FIFO) for a slot of its limit key, then runs for its duration.
type image struct {
	id, region  string
	owner       *account
	name        string
	description string
	arch        string
	osType      string
	platform    string
	size        int // GiB, the system disk's
	disks       []imageDisk
	tags        []tag
	created     time.Time
	visibleAt   time.Time // DescribeImages hides the image until then
	seq         uint64
	taskID      string

	copied       bool
	sourceID     string
	sourceRegion string
	limitKey     string // the region whose copy slots this copy uses

	status   string
	started  time.Time     // when it began Creating
	duration time.Duration // a full run; progress is linear over it
	ends     time.Time     // when it becomes Available, or CreateFailed
	fail     bool

	shared []imageShare
	public bool

	nvme     string    // Features.NvmeSupport: supported or unsupported
	deleteAt time.Time // set by DeleteImage: the image goes at this time (deletion takes time)
}

// deleting reports whether DeleteImage has been accepted for the image (it is still there).
func (img *image) deleting() bool { return !img.deleteAt.IsZero() }

type imageDisk struct {
	snapshotID string
	size       int
	device     string
	format     string
	kind       string // system or data
	ossBucket  string
	ossObject  string
	encrypted  bool
	kmsKeyID   string
}

type imageShare struct {
	accountID string
	at        time.Time
}

// snapshot is a snapshot created with an image; it outlives the image.
type snapshot struct {
	id, region string
	owner      *account
	size       int
	created    time.Time
	tags       []tag
}

// progress is the image's Progress in percent and, while it runs, the time left. It grows
// linearly with the time spent Creating, so a client can predict the completion.
func (img *image) progress(now time.Time) (int, time.Duration) {
	switch img.status {
	case statusAvailable:
		return 100, 0
	case statusCreating:
		pct := int(100 * now.Sub(img.started) / img.duration)
		return min(max(pct, 0), 99), img.started.Add(img.duration).Sub(now)
	case statusFailed:
		if img.started.IsZero() {
			return 0, 0
		}
		return min(int(100*img.ends.Sub(img.started)/img.duration), 99), 0
	}
	return 0, 0
}

// copying reports whether the image is a copy still in progress.
func (img *image) copying() bool {
	return img.copied && (img.status == statusWaiting || img.status == statusCreating)
}

// ImageEvent is one image status transition, at the emulator's time of the transition (not the
// time a request observed it): a benchmark compares Available times with a client's waiter.
type ImageEvent struct {
	Time          time.Time `json:"time"`
	Region        string    `json:"region"`
	ImageID       string    `json:"image_id"`
	Status        string    `json:"status"` // Waiting, Creating, Available, CreateFailed, Cancelled, Deleting, Deleted
	SourceRegion  string    `json:"source_region,omitempty"`
	SourceImageID string    `json:"source_image_id,omitempty"`
}

func (e *ecsState) event(img *image, status string, at time.Time) {
	e.events = append(e.events, ImageEvent{Time: at.UTC(), Region: img.region, ImageID: img.id,
		Status: status, SourceRegion: img.sourceRegion, SourceImageID: img.sourceID})
	if len(e.events) > maxImageEvents {
		e.events = append([]ImageEvent(nil), e.events[len(e.events)-maxImageEvents:]...)
	}
}

// advance brings asynchronous work up to now: finishes imports, copies and deletions whose time has come,
// in time order, starting waiting copies as slots free, and settles instance transitions.
// Everything is computed from timestamps, so the outcome does not depend on when (or whether)
// anybody polled.
func (e *ecsState) advance(now time.Time) {
	for {
		var next *image
		var nextAt time.Time
		for _, img := range e.images {
			at := img.ends
			switch {
			case img.deleting():
				at = img.deleteAt
			case img.status != statusCreating:
				continue
			}
			if at.After(now) {
				continue
			}
			if next == nil || at.Before(nextAt) || (at.Equal(nextAt) && img.seq < next.seq) {
				next, nextAt = img, at
			}
		}
		if next == nil {
			break
		}
		if next.deleting() {
			delete(e.images, next.id)
			e.event(next, EventDeleted, next.deleteAt)
			continue
		}
		next.status = statusAvailable
		if next.fail {
			next.status = statusFailed
		}
		e.event(next, next.status, next.ends)
		if next.copied {
			e.startWaiting(next.limitKey, next.ends)
		}
	}
	for _, in := range e.instances {
		in.settle(now)
	}
}

// startWaiting starts the oldest waiting copies of a limit key while it has free slots.
func (e *ecsState) startWaiting(key string, at time.Time) {
	running := 0
	var waiting []*image
	for _, img := range e.images {
		if !img.copied || img.limitKey != key {
			continue
		}
		switch img.status {
		case statusCreating:
			running++
		case statusWaiting:
			waiting = append(waiting, img)
		}
	}
	for running < e.concurrency && len(waiting) > 0 {
		first := 0
		for i, w := range waiting {
			if w.seq < waiting[first].seq {
				first = i
			}
		}
		img := waiting[first]
		waiting = append(waiting[:first], waiting[first+1:]...)
		e.start(img, at)
		running++
	}
}

// start moves an image to Creating. A copy chosen to fail ends CreateFailed half way through.
func (e *ecsState) start(img *image, at time.Time) {
	img.status, img.started = statusCreating, at
	run := img.duration
	if img.fail {
		run /= 2
	}
	img.ends = at.Add(run)
	e.event(img, statusCreating, at)
}

func (e *ecsState) nextSeq() uint64 {
	e.seq++
	return e.seq
}

// usedBy returns the live instances created from an image.
func (e *ecsState) usedBy(imageID string) int {
	n := 0
	for _, in := range e.instances {
		if in.imageID == imageID {
			n++
		}
	}
	return n
}

// FailCopyTo makes the next count copies into region end CreateFailed (half way through their
// run). count <= 0 clears the fault for the region.
func (s *Server) FailCopyTo(region string, count int) error {
	if !s.regions[region] {
		return fmt.Errorf("sim: FailCopyTo: region %q is not one of the regions", region)
	}
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	if count <= 0 {
		delete(e.copyFailures, region)
		return nil
	}
	e.copyFailures[region] = count
	return nil
}

// CopyFailures returns the copies still to fail, by destination region.
func (s *Server) CopyFailures() map[string]int {
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.copyFailures {
		out[k] = v
	}
	return out
}

// SetImageVisibilityDelay hides every image created from now on from DescribeImages for d
// after its creation, as the real API's eventual consistency can. 0 shows new images at once.
func (s *Server) SetImageVisibilityDelay(d time.Duration) {
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	e.visibilityDelay = max(d, 0)
}

// ImageEvents returns the image status transitions so far, oldest first (at most the last
// 10,000), brought up to the emulator's clock first.
func (s *Server) ImageEvents() []ImageEvent {
	e := s.ecs
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(s.now())
	return append([]ImageEvent(nil), e.events...)
}
