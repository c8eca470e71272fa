package localconcourse

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reaper waits for every child of the supervisor, PID 1 of its namespace: containerd's shims are
// re-parented to it and would stay zombies until down. The supervisor's own long-running children
// (postgres, concourse) are waited for here too, never with exec.Cmd.Wait, so that no exit
// status is taken by the wrong waiter.
type reaper struct {
	mu      sync.Mutex
	watched map[int]chan error
	exited  map[int]error // exits of watched-to-be children seen before watch was called
}

// startReaper reaps until the supervisor exits: its children's exits are awaited while it stops.
func startReaper() *reaper {
	r := &reaper{watched: map[int]chan error{}, exited: map[int]error{}}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		for range sigs {
			r.reap()
		}
	}()
	return r
}

// reap collects every exited child; a burst of exits may arrive as one SIGCHLD.
func (r *reaper) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		var status error
		if !ws.Exited() || ws.ExitStatus() != 0 {
			status = fmt.Errorf("pid %d: %s", pid, describe(ws))
		}
		r.mu.Lock()
		if c, ok := r.watched[pid]; ok {
			c <- status
			delete(r.watched, pid)
		} else {
			r.exited[pid] = status
		}
		r.mu.Unlock()
	}
}

// watch returns a channel that gets the child's exit (nil for status 0).
func (r *reaper) watch(pid int) <-chan error {
	c := make(chan error, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if status, ok := r.exited[pid]; ok {
		delete(r.exited, pid)
		c <- status
		return c
	}
	// Forget the orphans reaped so far: only children started and watched afterwards matter.
	clear(r.exited)
	r.watched[pid] = c
	return c
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
