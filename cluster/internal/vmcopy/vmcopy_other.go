//go:build !linux

package vmcopy

// Write fails with ErrUnsupported: cross-memory attach is Linux's.
func Write(pid int, addr uint64, b []byte) error { return ErrUnsupported }

// Read fails with ErrUnsupported: cross-memory attach is Linux's.
func Read(pid int, addr uint64, b []byte) error { return ErrUnsupported }

// Prefault does nothing here.
func Prefault(b []byte) {}
