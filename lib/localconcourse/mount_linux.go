package localconcourse

import "syscall"

// mountTmpfs mounts an empty tmpfs at dir (in the supervisor's private mount namespace).
func mountTmpfs(dir string) error {
	return syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755")
}
