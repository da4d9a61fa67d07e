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

// TermWithParent is DieWithParent with SIGTERM: for a child that ends what it started when
// asked to, as mpirun ends its ranks.
func TermWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}

// Detach puts the child in a session of its own, where no signal to this process's group or
// terminal reaches it, so that it outlives this process: a guard that cleans up after it.
func Detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
