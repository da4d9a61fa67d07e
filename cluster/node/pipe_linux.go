package node

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeSize is the buffer a worker's pipes ask for: Linux's default of 64 KiB has a part of
// data cross in thousands of turns of supervisor and worker, which share one CPU on a bound
// node. 1 MiB is what an unprivileged process may ask for by default (fs.pipe-max-size).
const pipeSize = 1 << 20

// widenPipe asks for pipeSize of buffer in pipe p, if it is one; a refusal leaves it as it is.
func widenPipe(p any) {
	sc, ok := p.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
}
