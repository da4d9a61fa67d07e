package wasm_test

import (
	"fmt"
	"os"

	"github.com/rain-wasm/rain/wasm"
)

func ExampleAnalyze() {
	bin, err := os.ReadFile("../examples/basics.wasm")
	if err != nil {
		panic(err)
	}
	m, err := wasm.Decode(bin)
	if err != nil {
		panic(err)
	}
	a := wasm.Analyze(m)
	for _, i := range []int{0, 6, 12} {
		f := a.Funcs[i]
		fmt.Printf("%s: %d bytes, %d instructions, %d loops, %d calls, leaf %v, recursive %v, retains %d\n",
			m.Funcs[i].Name, f.Bytes, f.Instrs, f.Loops, f.DirectCalls, f.Leaf, f.Recursive, f.Retained)
	}
	ins, _ := m.Disassemble(0, 4)
	for _, in := range ins {
		fmt.Println(in.Text)
	}
	// Output:
	// fib: 28 bytes, 17 instructions, 0 loops, 2 calls, leaf false, recursive true, retains 28
	// spin: 7 bytes, 4 instructions, 1 loops, 0 calls, leaf true, recursive false, retains 7
	// trap_nested: 6 bytes, 3 instructions, 0 loops, 1 calls, leaf false, recursive false, retains 13
	// local.get 0
	// i32.const 2
	// i32.lt_s
	// if i32
}
