// Package vmcopy copies bytes straight between this process's memory and another's on the same
// machine, with no socket between them: one copy instead of a socket's two, as MPI libraries
// move data between ranks on one node (Linux's cross-memory attach: process_vm_writev and
// process_vm_readv). The other process must let this one at its memory — the same user, and a
// kernel that allows it (Yama's ptrace_scope lets a process at its descendants' by default) —
// or the copy fails with ErrDenied; elsewhere than Linux it fails with ErrUnsupported.
// Prefault readies fresh memory for a copy into it.
package vmcopy

import (
	"errors"
	"unsafe"
)

var (
	// ErrUnsupported is the error of a copy on a system without cross-memory attach.
	ErrUnsupported = errors.New("vmcopy: not supported on this system")
	// ErrDenied is the error of a copy the kernel refused: another user's process, one that
	// is gone, or one this process may not reach (Yama's ptrace_scope, a container). A copy
	// at an address not mapped fails with another error.
	ErrDenied = errors.New("vmcopy: the other process's memory cannot be reached")
)

// Addr is the address of b's first byte, for another process to copy into or out of. b must
// stay referenced (and so in place: Go does not move what it allocates on the heap) for as long
// as the other process may copy; b must not be empty.
func Addr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
