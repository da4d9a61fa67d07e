//go:build unix && !linux

package proc

import (
	"os/exec"
	"syscall"
)

// DieWithParent puts the child in a process group of its own, so that a Ctrl-C in the terminal
// reaches the session (which cancels calls) and not the nodes. There is no parent-death signal
// here: a worker notices its supervisor is gone when its stdin closes, and a supervisor when it
// loses the hub.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// TermWithParent is DieWithParent: there is no parent-death signal here.
func TermWithParent(cmd *exec.Cmd) { DieWithParent(cmd) }

// Detach puts the child in a session of its own, where no signal to this process's group or
// terminal reaches it, so that it outlives this process: a guard that cleans up after it.
func Detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
