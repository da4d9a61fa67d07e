package proc

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the child get SIGKILL when this process dies, however it dies, and puts
// it in a process group of its own, so that a Ctrl-C in the terminal (or Jupyter's SIGINT to the
// kernel's group) reaches the session, which cancels calls, and not the nodes.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
