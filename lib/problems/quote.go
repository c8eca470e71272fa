package problems

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxQuoted is how much of a value an error quotes: enough to recognise it, while a
// 20-million-character value costs the log a line instead of 40 MB.
const MaxQuoted = 64

// Quote quotes a value for a message, as %q does, when it is at most MaxQuoted bytes long; a
// longer value is cut to its first MaxQuoted bytes (at a character boundary), followed by how
// long it is. Every message that quotes a value from a request or a file uses it.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
