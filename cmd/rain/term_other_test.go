//go:build !linux

package main

import (
	"os"
	"testing"
	"time"
)

// canonical reports whether the terminal whose pseudo-terminal master is ptm reads in lines:
// here the test cannot tell, and takes it for readline's key-by-key mode.
func canonical(ptm *os.File) (bool, error) { return false, nil }

// waitFile would wait for a file to be made at path: here the test cannot watch for it.
func waitFile(t *testing.T, path string, within time.Duration) {
	t.Skip("waiting for a file to be made needs Linux's inotify")
}
