//go:build unix && !linux

package cluster

import (
	"os/exec"
	"syscall"
)

// dieWithParent puts the child in a process group of its own, so that a Ctrl-C in the terminal
// reaches the session (which cancels calls) and not the nodes. There is no parent-death signal
// here: a worker notices its supervisor is gone when its stdin closes, and a supervisor when it
// loses the hub.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
