package localconcourse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Addresses inside the namespace. Containers reach the namespace at the CNI bridge's gateway,
// the first address of the worker's network pool.
const (
	BridgeGateway = "10.80.0.1"
	WebAddr       = "127.0.0.1:8080"
	RegistryPort  = "5000"
	MetadataIP    = "100.100.100.200"
	Target        = "local"
	User          = "admin"
)

// Registry is the registry's address as containers (and so pipelines) name it.
const Registry = BridgeGateway + ":" + RegistryPort

// State is what `up` leaves in the work dir for `status`, `fly` and `down` (0600: it holds the
// local user's password).
type State struct {
	// UnsharePID is the host PID of the unshare process that owns the namespaces; InnerPID the
	// host PID of the supervisor inside them (PID 1 there), whose namespaces nsenter enters.
	UnsharePID int    `json:"unshare_pid"`
	InnerPID   int    `json:"inner_pid"`
	URL        string `json:"url"`
	Password   string `json:"password"`
	Fly        string `json:"fly"`
	Ready      bool   `json:"ready"`
}

func statePath(workDir string) string { return filepath.Join(workDir, "state.json") }

// ReadState reads the work dir's state; a missing file means not started.
func ReadState(workDir string) (State, error) {
	var s State
	raw, err := os.ReadFile(statePath(workDir))
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("no local Concourse in %s (cpi-ci concourse up starts one)", workDir)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("%s: %w", statePath(workDir), err)
	}
	return s, nil
}

func writeState(workDir string, s State) error {
	raw, _ := json.MarshalIndent(s, "", "  ")
	tmp := statePath(workDir) + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(workDir))
}

// ours reports whether pid is still the unshare process `up` started for workDir: a PID the
// kernel reused for something else is never signalled.
func ours(pid int, workDir string) bool {
	if pid <= 0 {
		return false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if len(args) == 0 || filepath.Base(args[0]) != "unshare" {
		return false
	}
	joined := strings.Join(args, " ")
	return strings.Contains(joined, " concourse supervise ") && strings.Contains(joined, " --work-dir "+workDir+" ")
}

// alive reports whether a process exists (and is not a zombie).
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command in parentheses, which may itself hold spaces.
	s := string(raw)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// innerPID is the first child of the unshare process: the supervisor, PID 1 of the namespace.
func innerPID(unsharePID int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", unsharePID, unsharePID))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(fields[0])
	return pid
}

// MountsUnder lists the host's mount points at or below dir (there must be none after down).
func MountsUnder(dir string) ([]string, error) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, nil
}
