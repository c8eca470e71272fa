package localconcourse

import (
	"fmt"
	"io"
)

// say writes a progress line to log. Progress is advice: a log that cannot be written does not
// fail the step that reports on it.
func say(log io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(log, format, args...) // progress only
}
