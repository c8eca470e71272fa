//go:build !linux

package localconcourse

import "errors"

// mountTmpfs is Linux only: Preflight refuses other systems before anything is started.
func mountTmpfs(dir string) error {
	return errors.New("the local Concourse needs Linux")
}
