package wasm_test

import (
	"context"
	"errors"
	"fmt"
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
