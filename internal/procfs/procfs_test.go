package procfs

import (
	"os"
	"runtime"
	"testing"
)

func TestRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if kib := RSS(os.Getpid()); kib < 1024 {
		t.Errorf("this test's own RSS: %d KiB", kib)
	}
	if kib := RSS(-1); kib != 0 {
		t.Errorf("no process: %d KiB", kib)
	}
}
