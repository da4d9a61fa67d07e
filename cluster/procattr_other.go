//go:build !unix

package cluster

import "os/exec"

// dieWithParent does nothing here: a worker notices its supervisor is gone when its stdin
// closes, and a supervisor when it loses the hub.
func dieWithParent(cmd *exec.Cmd) {}
