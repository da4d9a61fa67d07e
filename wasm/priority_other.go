//go:build !linux

package wasm

// background does nothing where thread priorities are not set per thread.
func background() {}
