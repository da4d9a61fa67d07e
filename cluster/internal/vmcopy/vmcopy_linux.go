package vmcopy

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Write copies b into the memory of process pid at addr.
func Write(pid int, addr uint64, b []byte) error {
	return copyVM(pid, addr, b, unix.ProcessVMWritev)
}

// Read copies len(b) bytes from the memory of process pid at addr into b.
func Read(pid int, addr uint64, b []byte) error {
	return copyVM(pid, addr, b, unix.ProcessVMReadv)
}

func copyVM(pid int, addr uint64, b []byte, op func(int, []unix.Iovec, []unix.RemoteIovec, uint) (int, error)) error {
	for len(b) > 0 {
		local := []unix.Iovec{{Base: unsafe.SliceData(b)}}
		local[0].SetLen(len(b))
		n, err := op(pid, local, []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}, 0)
		switch {
		case errors.Is(err, unix.ENOSYS):
			return ErrUnsupported
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.ESRCH):
			return fmt.Errorf("%w: process %d: %v", ErrDenied, pid, err)
		case err != nil:
			return fmt.Errorf("vmcopy: process %d: %w", pid, err)
		case n == 0:
			return fmt.Errorf("%w: process %d: nothing copied", ErrDenied, pid)
		}
		b, addr = b[n:], addr+uint64(n)
	}
	return nil
}

// Prefault maps in the pages of b (those wholly within it) that are not yet, as a copy into b
// is about to: the kernel maps them in one pass (MADV_POPULATE_WRITE, Linux 5.14), cheaper than
// a fault at each page's first write. On an older kernel it does nothing.
func Prefault(b []byte) {
	const page = 4096
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	skip := int((page - base%page) % page) // to the first whole page
	if skip >= len(b) {
		return
	}
	b = b[skip:]
	unix.Madvise(b[:len(b)&^(page-1)], unix.MADV_POPULATE_WRITE)
}
