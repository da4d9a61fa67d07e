package cluster

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the child get SIGKILL when this process dies, however it dies.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
