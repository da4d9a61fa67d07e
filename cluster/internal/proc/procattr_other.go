//go:build !unix

package proc

import "os/exec"

// DieWithParent does nothing here: a worker notices its supervisor is gone when its stdin
// closes, and a supervisor when it loses the hub.
func DieWithParent(cmd *exec.Cmd) {}

// TermWithParent does nothing here.
func TermWithParent(cmd *exec.Cmd) {}

// Detach does nothing here.
func Detach(cmd *exec.Cmd) {}
