package node

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// A worker's pipe asks for a buffer of pipeSize, which Linux gives an unprivileged process.
func TestWidenPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	widenPipe(w)
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	rc.Control(func(fd uintptr) { size, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
	if err != nil || size != pipeSize {
		t.Errorf("pipe buffer %d, %v; want %d", size, err, pipeSize)
	}
}
