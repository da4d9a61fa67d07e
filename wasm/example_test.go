package wasm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/rain-wasm/rain/wasm"
	"github.com/tetratelabs/wazero/api"
)

func ExampleModule_Describe() {
	bin, err := os.ReadFile("../examples/mandelbrot.wasm")
	if err != nil {
		panic(err)
	}
	m, err := wasm.Decode(bin)
	if err != nil {
		panic(err)
	}
	info, err := m.Describe()
	if err != nil {
		panic(err)
	}
	for _, f := range info.Exports {
		fmt.Println(f)
	}
	// Output:
	// _initialize()
	// escape(f64,f64,i32) i32
	// row(i32) i32
	// row_pixels(i32,i32)
	// rows(i32,i32) i32
	// width() i32
	// height() i32
	// malloc(i32) i32
	// free(i32)
}

func ExampleInstance_Call() {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx)
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	bin, err := os.ReadFile("../examples/basics.wasm")
	if err != nil {
		panic(err)
	}
	inst, err := rt.Load(ctx, bin, os.Stdout, os.Stderr)
	if err != nil {
		panic(err)
	}
	res, err := inst.Call(ctx, "divmod", []uint64{api.EncodeI32(-17), api.EncodeI32(5)}, nil, nil)
	fmt.Println(api.DecodeI32(res[0]), api.DecodeI32(res[1]), err)

	_, err = inst.Call(ctx, "trap_nested", nil, nil, nil)
	var trap *wasm.Trap
	if errors.As(err, &trap) {
		fmt.Println(err)
		fmt.Println(trap.Stack)
	}
	// Output:
	// -3 -2 <nil>
	// wasm: trap in trap_nested: integer divide by zero
	// [crash trap_nested]
}

// A C function that takes arrays, void scale(const double *xs, int n, double k, double *out),
// called with two buffers: xs read, out written.
func ExampleInstance_CallBuffers() {
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.WithMemoryLimit(1<<20))
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	bin, err := os.ReadFile("../examples/stats.wasm")
	if err != nil {
		panic(err)
	}
	inst, err := rt.Load(ctx, bin, nil, nil)
	if err != nil {
		panic(err)
	}
	xs := []float64{1, 2.5, -4}
	in, out := make([]byte, 8*len(xs)), make([]byte, 8*len(xs))
	for k, x := range xs {
		binary.LittleEndian.PutUint64(in[8*k:], math.Float64bits(x))
	}
	bufs := []wasm.Buffer{{Arg: 0, Data: in}, {Arg: 3, Data: out}}
	args := []uint64{0, api.EncodeI32(int32(len(xs))), api.EncodeF64(2), 0} // the pointers are Rain's
	if _, err := inst.CallBuffers(ctx, "scale", args, bufs, nil, nil); err != nil {
		panic(err)
	}
	for k := range xs {
		fmt.Print(math.Float64frombits(binary.LittleEndian.Uint64(out[8*k:])), " ")
	}
	fmt.Println(bufs[0].Changed, bufs[1].Changed)

	// An array larger than the memory limit.
	_, err = inst.CallBuffers(ctx, "sum", []uint64{0, 0}, []wasm.Buffer{{Arg: 0, Data: make([]byte, 3<<20)}}, nil, nil)
	fmt.Println(err)
	// A module with no allocator.
	basics, err := os.ReadFile("../examples/basics.wasm")
	if err != nil {
		panic(err)
	}
	inst, err = rt.Load(ctx, basics, nil, nil)
	if err != nil {
		panic(err)
	}
	_, err = inst.CallBuffers(ctx, "fib", []uint64{0}, []wasm.Buffer{{Arg: 0, Data: []byte{1}}}, nil, nil)
	fmt.Println(err)
	// Output:
	// 2 5 -8 false true
	// wasm: sum: argument 1 is 3 MiB, more than the instance's memory can grow to, 1 MiB (the memory limit; see --memory-limit): pass a smaller array
	// wasm: module exports no allocator: export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc
}
