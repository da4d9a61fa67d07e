package wasm

import (
	"runtime"
	"syscall"
)

// background lowers the calling goroutine's thread to the lowest CPU priority, for the rest
// of its life: the thread is locked and never unlocked, so it ends with the goroutine. The
// compiler's background work then takes only CPU time that calls (the interpreter tier, or
// another node's calls on the same machine) leave idle.
func background() {
	runtime.LockOSThread()
	syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
