// Command gowasm is a Go program built as a WASI reactor (GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared) whose functions are exported with //go:wasmexport. It is a large module
// (the Go runtime comes with it) for trying Rain's decoder and WASI output from Go.
// Rebuild with scripts/build-examples.
package main

import (
	"fmt"
	"os"
)

// main is not run in a reactor; the runtime is initialised by _initialize.
func main() {}

var calls int32

// collatz returns the number of steps the Collatz sequence takes from n down to 1.
//
//go:wasmexport collatz
func collatz(n int32) int32 {
	calls++
	steps := int32(0)
	for x := int64(n); x > 1; steps++ {
		if x%2 == 0 {
			x /= 2
		} else {
			x = 3*x + 1
		}
	}
	return steps
}

// hello prints a greeting to stdout and a note to stderr.
//
//go:wasmexport hello
func hello() {
	fmt.Println("hello from Go on wasm")
	fmt.Fprintln(os.Stderr, "hello: written to stderr")
}

// calls returns how many times collatz has been called in this instance.
//
//go:wasmexport calls
func callCount() int32 { return calls }

// sum returns the sum of 1..n as an int64.
//
//go:wasmexport sum
func sum(n int64) int64 {
	s := int64(0)
	for i := int64(1); i <= n; i++ {
		s += i
	}
	return s
}
