package version

// Window is what a check answers from versions sorted oldest first: with no current version
// (the first check) only the latest; otherwise every version from the current one on, the
// current one included while it is still there and, when it is gone, the versions above it. A
// current version that is not a BOSH version counts as none. Empty when sorted is.
func Window(sorted []Version, current string) []Version {
	if len(sorted) == 0 {
		return nil
	}
	if current != "" {
		if from, err := Parse(current); err == nil {
			for i, v := range sorted {
				if v.Compare(from) >= 0 {
					return sorted[i:]
				}
			}
		}
	}
	return sorted[len(sorted)-1:]
}
