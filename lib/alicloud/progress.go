package alicloud

import (
	"fmt"
	"sync"
	"time"
)

// LogProgress returns a Progress callback that logs a transfer at most every interval, and once
// when it completes: "uploading stemcell.tgz: 512.0 MiB of 1.0 GiB (50%), 85.3 MiB/s".
func LogProgress(log Log, label string, interval time.Duration) func(done, total int64) {
	var (
		mu          sync.Mutex
		start, last time.Time
		finished    bool
	)
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if start.IsZero() {
			start = now
		}
		complete := total >= 0 && done >= total
		if finished || (!complete && now.Sub(last) < interval) {
			return
		}
		last, finished = now, complete
		rate := ""
		if elapsed := now.Sub(start).Seconds(); elapsed > 0.5 {
			rate = fmt.Sprintf(", %s/s", Bytes(int64(float64(done)/elapsed)))
		}
		if total >= 0 {
			percent := 100.0
			if total > 0 {
				percent = float64(done) * 100 / float64(total)
			}
			log.Printf("%s: %s of %s (%.0f%%)%s", label, Bytes(done), Bytes(total), percent, rate)
		} else {
			log.Printf("%s: %s%s", label, Bytes(done), rate)
		}
	}
}

// Bytes renders a size for people: 512 B, 1.5 KiB, 3.0 GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
