package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// canonical reports whether the terminal whose pseudo-terminal master is ptm reads in lines
// (cooked), not key by key as readline reads while it waits at its prompt.
func canonical(ptm *os.File) (bool, error) {
	var n uint32
	if err := ioctl(ptm, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		return false, err
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return false, err
	}
	defer tty.Close()
	var tio syscall.Termios
	if err := ioctl(tty, syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
		return false, err
	}
	return tio.Lflag&syscall.ICANON != 0, nil
}

// ioctl runs the ioctl req on f, leaving f as it was (f.Fd would make it blocking).
func ioctl(f *os.File, req uint, arg unsafe.Pointer) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := c.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
