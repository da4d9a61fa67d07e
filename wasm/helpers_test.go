package wasm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// examples are the modules under examples/, built by scripts/build-examples.
var examples = []string{"basics", "mandelbrot", "primes", "hello", "gowasm"}

var exampleCache sync.Map // name → []byte

// example returns the bytes of examples/name.wasm.
func example(t testing.TB, name string) []byte {
	t.Helper()
	if b, ok := exampleCache.Load(name); ok {
		return b.([]byte)
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", name+".wasm"))
	if err != nil {
		t.Fatalf("%v (rebuild with scripts/build-examples)", err)
	}
	exampleCache.Store(name, b)
	return b
}

// newRuntime returns a runtime closed at the end of the test.
func newRuntime(t testing.TB, opts ...Option) *Runtime {
	t.Helper()
	ctx := context.Background()
	rt, err := NewRuntime(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	return rt
}

// load loads examples/name.wasm, or the module bin when name is empty, into rt.
func load(t testing.TB, rt *Runtime, bin []byte) *Instance {
	t.Helper()
	inst, err := rt.Load(context.Background(), bin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// A tiny assembler for test modules the examples do not cover.

func uleb(n uint32) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func str(s string) []byte { return cat(uleb(uint32(len(s))), []byte(s)) }

func vec(items ...[]byte) []byte { return cat(uleb(uint32(len(items))), cat(items...)) }

func section(id byte, contents ...[]byte) []byte {
	c := cat(contents...)
	return cat([]byte{id}, uleb(uint32(len(c))), c)
}

func module(sections ...[]byte) []byte {
	return cat([]byte("\x00asm\x01\x00\x00\x00"), cat(sections...))
}

func funcType(params, results []byte) []byte {
	return cat([]byte{0x60}, vec(splitBytes(params)...), vec(splitBytes(results)...))
}

func splitBytes(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// body is a function body with no locals: code then end.
func body(code ...byte) []byte {
	b := cat([]byte{0x00}, code, []byte{0x0b})
	return cat(uleb(uint32(len(b))), b)
}

func export(name string, kind byte, idx uint32) []byte {
	return cat(str(name), []byte{kind}, uleb(idx))
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

var (
	// importsEnv imports env.foo, which no node provides.
	importsEnv = module(
		section(1, vec(funcType(nil, nil))),
		section(2, vec(cat(str("env"), str("foo"), []byte{0x00}, uleb(0)))),
	)
	// reactor sets a global to 42 in _initialize; get returns it.
	reactor = module(
		section(1, vec(funcType(nil, nil), funcType(nil, []byte{i32}))),
		section(3, vec(uleb(0), uleb(1))),
		section(6, vec([]byte{i32, 0x01, 0x41, 0x00, 0x0b})),
		section(7, vec(export("_initialize", 0, 0), export("get", 0, 1))),
		section(10, vec(body(0x41, 42, 0x24, 0x00), body(0x23, 0x00))),
	)
	// command's _start calls proc_exit(0); exit3 calls proc_exit(3); one returns 1.
	command = module(
		section(1, vec(funcType([]byte{i32}, nil), funcType(nil, nil), funcType(nil, []byte{i32}))),
		section(2, vec(cat(str("wasi_snapshot_preview1"), str("proc_exit"), []byte{0x00}, uleb(0)))),
		section(3, vec(uleb(1), uleb(1), uleb(2))),
		section(7, vec(export("_start", 0, 1), export("exit3", 0, 2), export("one", 0, 3))),
		section(10, vec(body(0x41, 0, 0x10, 0), body(0x41, 3, 0x10, 0), body(0x41, 1))),
	)
	// invalid decodes but does not validate: a function that should return an i32 returns nothing.
	invalid = module(
		section(1, vec(funcType(nil, []byte{i32}))),
		section(3, vec(uleb(0))),
		section(10, vec(body())),
	)
)
