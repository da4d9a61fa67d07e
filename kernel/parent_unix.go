//go:build unix

package kernel

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether process pid exists (and is not a zombie our parent left).
func processAlive(pid int) bool {
	if os.Getppid() != pid && os.Getppid() == 1 {
		// We were re-parented to init: the parent that started us is gone, even if its pid
		// has been reused.
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
