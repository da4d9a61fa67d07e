package vmcopy

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// A copy within this process, as another process's would be: out and back, and what cannot be
// reached.
func TestCopy(t *testing.T) {
	src := bytes.Repeat([]byte("rain"), 1<<18)
	dst := make([]byte, len(src))
	Prefault(dst[3:])
	if !bytes.Equal(dst, make([]byte, len(src))) {
		t.Fatal("prefaulted bytes are not zeros")
	}
	if err := Write(os.Getpid(), Addr(dst), src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst, src) {
		t.Fatal("written bytes differ")
	}
	back := make([]byte, 1000)
	if err := Read(os.Getpid(), Addr(dst)+4, back); err != nil || !bytes.Equal(back, src[4:1004]) {
		t.Fatalf("read: %v", err)
	}
	if err := Read(os.Getpid(), 8, back); err == nil || errors.Is(err, ErrDenied) {
		t.Errorf("a read at address 8: %v, want an error that is not ErrDenied", err)
	}
	if err := Read(1<<30, Addr(dst), back); !errors.Is(err, ErrDenied) {
		t.Errorf("a read from no process: %v, want ErrDenied", err)
	}
}
