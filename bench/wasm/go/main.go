// Command go is bench/wasm's kernels.go built as a %%go cell is, a WASI reactor
// (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared), exporting the mandel and nbody
// kernels, to compare what the language costs on Wasm. bench/wasm/run builds it. kernels.go
// is a link to the Go that bench/wasm runs natively: the same code on both sides.
package main

//go:wasmexport mandel
func wasmMandel(n int32) int32 { return int32(mandel(int(n))) }

//go:wasmexport nbody
func wasmNbody(n int32) int64 { return nbody(int(n)) }

func main() {}
