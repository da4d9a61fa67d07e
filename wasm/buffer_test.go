package wasm

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// f64Bytes is xs as little-endian bytes, as an f64 array holds them.
func f64Bytes(xs []float64) []byte {
	b := make([]byte, 8*len(xs))
	for k, x := range xs {
		binary.LittleEndian.PutUint64(b[8*k:], math.Float64bits(x))
	}
	return b
}

func fromF64Bytes(b []byte) []float64 {
	xs := make([]float64, len(b)/8)
	for k := range xs {
		xs[k] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:]))
	}
	return xs
}

// pages is the size of the instance's memory in pages.
func pages(t testing.TB, inst *Instance) uint32 {
	t.Helper()
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return memory(inst.live.mod).Size() / PageSize
}

// stats.wasm's scale, sum and histogram, with arrays, equal the same computations in Go, on
// both engines; only the buffers a function writes are Changed.
func TestCallBuffersStats(t *testing.T) {
	xs := make([]float64, 1000)
	for k := range xs {
		xs[k] = math.Sin(float64(k)) * 10
	}
	for _, engine := range engines(t) {
		t.Run(engine.String(), func(t *testing.T) {
			inst := load(t, newRuntime(t, WithTier(engine)), example(t, "stats"))
			n := api.EncodeI32(int32(len(xs)))
			bufs := []Buffer{{Arg: 0, Data: f64Bytes(xs)}, {Arg: 3, Data: make([]byte, 8*len(xs))}}
			if _, err := inst.CallBuffers(t.Context(), "scale", []uint64{0, n, api.EncodeF64(2.5), 0}, bufs, nil, nil); err != nil {
				t.Fatal(err)
			}
			for k, y := range fromF64Bytes(bufs[1].Data) {
				if y != xs[k]*2.5 {
					t.Fatalf("scale: out[%d] = %v, want %v", k, y, xs[k]*2.5)
				}
			}
			if bufs[0].Changed || !bufs[1].Changed {
				t.Errorf("scale: changed xs %v, out %v; want false, true", bufs[0].Changed, bufs[1].Changed)
			}

			res, err := inst.CallBuffers(t.Context(), "sum", []uint64{0, n}, []Buffer{{Arg: 0, Data: f64Bytes(xs)}}, nil, nil)
			want := 0.0
			for _, x := range xs {
				want += x
			}
			if err != nil || api.DecodeF64(res[0]) != want {
				t.Fatalf("sum = %v, %v; want %v", res, err, want)
			}

			counts := make([]byte, 4*10)
			bufs = []Buffer{{Arg: 0, Data: f64Bytes(xs)}, {Arg: 5, Data: counts, Align: 4}}
			args := []uint64{0, n, api.EncodeF64(-10), api.EncodeF64(10), api.EncodeI32(10), 0}
			if _, err := inst.CallBuffers(t.Context(), "histogram", args, bufs, nil, nil); err != nil {
				t.Fatal(err)
			}
			var wantCounts [10]int32
			for _, x := range xs {
				b := min(int((x+10)/2), 9)
				wantCounts[b]++
			}
			for b := range wantCounts {
				if got := int32(binary.LittleEndian.Uint32(counts[4*b:])); got != wantCounts[b] {
					t.Errorf("histogram bin %d = %d, want %d", b, got, wantCounts[b])
				}
			}
		})
	}
}

// A ReadOnly buffer keeps its Data whatever the function writes into its copy: scale(xs, n,
// k, xs) writes xs·k in place, and xs stays.
func TestCallBuffersReadOnly(t *testing.T) {
	inst := load(t, newRuntime(t), example(t, "stats"))
	xs := f64Bytes([]float64{1, 2, 3})
	in := Buffer{Arg: 0, Data: append([]byte(nil), xs...), ReadOnly: true}
	out := Buffer{Arg: 3, Data: make([]byte, len(xs))}
	if _, err := inst.CallBuffers(t.Context(), "scale", []uint64{0, 3, api.EncodeF64(2), 0}, []Buffer{in, out}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := fromF64Bytes(out.Data); got[2] != 6 {
		t.Fatalf("scale wrote %v", got)
	}
	// The same array in and out: its copy is scaled, its Data is not.
	bufs := []Buffer{in}
	res, err := inst.CallBuffers(t.Context(), "sum", []uint64{0, 3}, bufs, nil, nil)
	if err != nil || api.DecodeF64(res[0]) != 6 {
		t.Fatalf("sum = %v, %v", res, err)
	}
	if err := inst.CallEachBuffers("scale", []uint64{0, 3, api.EncodeF64(10), 0}, [][]Buffer{{in, {Arg: 3, Data: in.Data, ReadOnly: true}}},
		func(int, []uint64, error) {}); err != nil {
		t.Fatal(err)
	}
	if string(in.Data) != string(xs) || in.Changed {
		t.Errorf("a read-only buffer changed: %v, Changed %v", fromF64Bytes(in.Data), in.Changed)
	}
}

// A million calls with a 1 KiB array do not grow the instance's memory: Rain frees what it
// allocates. The calls go through CallEachBuffers, as a node runs a batch; CallBuffers, one call
// at a time, is checked over fewer calls on both engines.
func TestCallBuffersFreed(t *testing.T) {
	xs := make([]float64, 128) // 1 KiB
	for k := range xs {
		xs[k] = float64(k)
	}
	data := f64Bytes(xs)
	for _, engine := range engines(t) {
		t.Run(engine.String(), func(t *testing.T) {
			inst := load(t, newRuntime(t, WithTier(engine)), example(t, "stats"))
			call := func() {
				res, err := inst.CallBuffers(t.Context(), "sum", []uint64{0, 128}, []Buffer{{Arg: 0, Data: data}}, nil, nil)
				if err != nil || api.DecodeF64(res[0]) != 127*128/2 {
					t.Fatalf("sum = %v, %v", res, err)
				}
			}
			call() // the allocator's first call sets its heap up
			before := pages(t, inst)
			for range 20_000 {
				call()
			}
			if after := pages(t, inst); after != before {
				t.Errorf("20,000 calls of CallBuffers grew memory from %d to %d pages", before, after)
			}
		})
	}
	if !compilerSupported() {
		return
	}
	inst := load(t, newRuntime(t, WithTier(TierCompiler)), example(t, "stats"))
	const batch = 10_000
	args := make([]uint64, 2*batch)
	bufs := make([][]Buffer, batch)
	for k := range bufs {
		args[2*k+1] = 128
		bufs[k] = []Buffer{{Arg: 0, Data: data}}
	}
	var before uint32
	for round := range 1_000_000 / batch {
		err := inst.CallEachBuffers("sum", args, bufs, func(k int, res []uint64, err error) {
			if err != nil || api.DecodeF64(res[0]) != 127*128/2 {
				t.Fatalf("call %d: sum = %v, %v", round*batch+k, res, err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			before = pages(t, inst)
		}
	}
	if after := pages(t, inst); after != before {
		t.Errorf("a million calls grew memory from %d to %d pages", before, after)
	}
}

// Buffers across a tier switch: malloc's heap, in memory and globals, moves with the instance,
// and the results do not depend on the tier.
func TestCallBuffersTierSwitch(t *testing.T) {
	if !compilerSupported() {
		t.Skip("no compiler on this platform: nothing to switch to")
	}
	rt := newRuntime(t, WithTier(TierAuto), WithTierMinSize(0))
	rt.hold = make(chan struct{})
	inst := load(t, rt, example(t, "mandelbrot"))
	row := func(y int) []byte {
		out := []Buffer{{Arg: 1, Data: make([]byte, 1024), Align: 1}}
		if _, err := inst.CallBuffers(t.Context(), "row_pixels", []uint64{uint64(y), 0}, out, nil, nil); err != nil {
			t.Fatal(err)
		}
		return out[0].Data
	}
	interp := map[int][]byte{}
	for y := 500; y < 520; y++ {
		interp[y] = row(y)
	}
	if inst.Tier() != EngineInterpreter {
		t.Fatalf("ran on %q before the compiler was done", inst.Tier())
	}
	before := pages(t, inst)
	close(rt.hold)
	if err := inst.WaitCompiled(t.Context()); err != nil {
		t.Fatal(err)
	}
	for y := 500; y < 520; y++ {
		got := row(y)
		if inst.Tier() != EngineCompiler {
			t.Fatalf("ran on %q once compiled", inst.Tier())
		}
		if string(got) != string(interp[y]) {
			t.Fatalf("row_pixels(%d) differs between the tiers", y)
		}
	}
	if after := pages(t, inst); after != before {
		t.Errorf("memory of %d pages on the interpreter, %d on the compiler", before, after)
	}
}

// A module whose allocator is cabi_realloc: the buffer is aligned as asked, written back, and
// freed, after a trap too.
func TestCallBuffersCABI(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine.String(), func(t *testing.T) {
			inst := load(t, newRuntime(t, WithTier(engine)), testdataModule(t, "alloc.wasm"))
			if a, err := inst.Info().Allocator(); a != AllocatorCABI || err != nil {
				t.Fatalf("Allocator() = %v, %v", a, err)
			}
			bufs := []Buffer{{Arg: 0, Data: make([]byte, 100)}}
			if _, err := inst.CallBuffers(t.Context(), "fill", []uint64{0, 100, 7}, bufs, nil, nil); err != nil {
				t.Fatal(err)
			}
			if !bufs[0].Changed || strings.Count(string(bufs[0].Data), "\x07") != 100 {
				t.Errorf("fill: %v, changed %v", bufs[0].Data, bufs[0].Changed)
			}
			for _, align := range []int{1, 8, 64, 4096} {
				res, err := inst.CallBuffers(t.Context(), "addr", []uint64{0}, []Buffer{{Arg: 0, Data: []byte{1}, Align: align}}, nil, nil)
				if err != nil || res[0] == 0 || int(res[0])%align != 0 {
					t.Errorf("aligned to %d: pointer %v, %v", align, res, err)
				}
			}
			// copy traps when n is 13, after writing: the output is not taken, and both
			// buffers are freed.
			in, out := []byte("thirteen char"), make([]byte, 13)
			bufs = []Buffer{{Arg: 0, Data: in}, {Arg: 2, Data: out}}
			_, err := inst.CallBuffers(t.Context(), "copy", []uint64{0, 13, 0}, bufs, nil, nil)
			var trap *Trap
			if !errors.As(err, &trap) || bufs[1].Changed || string(out) != string(make([]byte, 13)) {
				t.Errorf("copy that traps: %v, out %q, changed %v", err, out, bufs[1].Changed)
			}
			if res, err := inst.Call(t.Context(), "live", nil, nil, nil); err != nil || res[0] != 0 {
				t.Errorf("allocations left: %v, %v", res, err)
			}
		})
	}
}

// An array larger than the memory can grow to, or one the allocator has no room for, is a
// one-line error naming its size and the limit; the instance goes on.
func TestCallBuffersMemoryLimit(t *testing.T) {
	for _, name := range []string{"stats", "alloc"} {
		t.Run(name, func(t *testing.T) {
			fn := "sum"
			var bin []byte
			if name == "alloc" {
				bin = testdataModule(t, "alloc.wasm")
			} else {
				bin = example(t, name)
			}
			inst := load(t, newRuntime(t, WithMemoryLimit(1<<20)), bin)
			for _, tt := range []struct {
				size int
				want []string
			}{
				{2 << 20, []string{"argument 1 is 2 MiB, more than the instance's memory can grow to, 1 MiB", "see --memory-limit"}},
				{1<<20 - 100, []string{"no room for the 1023.9 KiB of argument 1", "can grow to 1 MiB", "see --memory-limit"}},
			} {
				_, err := inst.CallBuffers(t.Context(), fn, []uint64{0, uint64(tt.size)}, []Buffer{{Arg: 0, Data: make([]byte, tt.size)}}, nil, nil)
				var ae *AllocError
				if !errors.As(err, &ae) || !errors.Is(err, ErrMemoryLimit) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("%d bytes: %v, want a one-line *AllocError at the memory limit", tt.size, err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%d bytes: %q does not say %q", tt.size, err, w)
					}
				}
			}
			// The instance goes on, with room for smaller arrays.
			res, err := inst.CallBuffers(t.Context(), fn, []uint64{0, 8}, []Buffer{{Arg: 0, Data: make([]byte, 64<<10)}}, nil, nil)
			if err != nil || res[0] != 0 {
				t.Errorf("a 64 KiB array after them: %v, %v", res, err)
			}
		})
	}
}

// A module without an allocator gets one line saying what to export.
func TestCallBuffersNoAllocator(t *testing.T) {
	inst := load(t, newRuntime(t), example(t, "basics"))
	_, err := inst.CallBuffers(t.Context(), "fib", []uint64{0}, []Buffer{{Arg: 0, Data: []byte{1}}}, nil, nil)
	want := "wasm: module exports no allocator: export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc"
	if !errors.Is(err, ErrNoAllocator) || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	// The instance goes on.
	if res, err := inst.Call(t.Context(), "fib", []uint64{10}, nil, nil); err != nil || res[0] != 55 {
		t.Errorf("fib(10) after it: %v, %v", res, err)
	}
}

func TestAllocator(t *testing.T) {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	malloc := Func{Name: "malloc", Params: []api.ValueType{i32}, Results: []api.ValueType{i32}}
	free := Func{Name: "free", Params: []api.ValueType{i32}}
	realloc := Func{Name: "cabi_realloc", Params: []api.ValueType{i32, i32, i32, i32}, Results: []api.ValueType{i32}}
	malloc64 := Func{Name: "malloc", Params: []api.ValueType{i64}, Results: []api.ValueType{i64}}
	for _, tt := range []struct {
		name    string
		exports []Func
		want    Allocator
		err     string
	}{
		{"malloc and free", []Func{malloc, free}, AllocatorMalloc, ""},
		{"cabi_realloc", []Func{realloc}, AllocatorCABI, ""},
		{"both", []Func{realloc, free, malloc}, AllocatorMalloc, ""},
		{"malloc alone", []Func{malloc}, AllocatorNone, "export free too"},
		{"64-bit", []Func{malloc64, free}, AllocatorNone, "it exports [malloc(i64) i64 free(i32)]"},
		{"none", nil, AllocatorNone, "export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := (&Info{Exports: tt.exports}).Allocator()
			if a != tt.want || (tt.err == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrNoAllocator) || !strings.Contains(err.Error(), tt.err))) {
				t.Errorf("Allocator() = %v, %v; want %v and an error saying %q", a, err, tt.want, tt.err)
			}
		})
	}
}

// A pointer outside memory, or not aligned as asked, is refused; so is a null one.
func TestCallBuffersBadPointer(t *testing.T) {
	inst := load(t, newRuntime(t), testdataModule(t, "badalloc.wasm"))
	for _, tt := range []struct {
		give  uint64
		align int
		is    error
		want  string
	}{
		{2 << 16, 0, ErrBadPointer, "malloc(4) gave 0x20000, outside the instance's memory of 64 KiB"},
		{65535, 1, ErrBadPointer, "outside the instance's memory"},
		{1026, 4, ErrBadPointer, "gave 0x402, not aligned to 4 bytes as argument 1 of first"},
		{0, 0, nil, "the allocator found no room for the 4 bytes of argument 1"},
	} {
		if _, err := inst.Call(t.Context(), "give", []uint64{tt.give}, nil, nil); err != nil {
			t.Fatal(err)
		}
		_, err := inst.CallBuffers(t.Context(), "first", []uint64{0}, []Buffer{{Arg: 0, Data: []byte{9, 8, 7, 6}, Align: tt.align}}, nil, nil)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("malloc giving %#x: %v, want an error saying %q", tt.give, err, tt.want)
		}
	}
	inst.Call(t.Context(), "give", []uint64{1024}, nil, nil)
	res, err := inst.CallBuffers(t.Context(), "first", []uint64{0}, []Buffer{{Arg: 0, Data: []byte{9, 8, 7, 6}}}, nil, nil)
	if err != nil || res[0] != 9 {
		t.Errorf("first once malloc is right: %v, %v", res, err)
	}
	// Every pointer malloc gave was handed back to free: the three bad ones and the good one.
	if res, err := inst.Call(t.Context(), "frees", nil, nil, nil); err != nil || res[0] != 4 {
		t.Errorf("frees() = %v, %v; want 4", res, err)
	}
}

// Buffers that do not fit the function's signature fail before anything is allocated.
func TestCallBuffersBadArgs(t *testing.T) {
	inst := load(t, newRuntime(t), example(t, "stats"))
	args := []uint64{0, 1, api.EncodeF64(2), 0} // scale(xs, n, k, out)
	one := make([]byte, 8)
	for _, tt := range []struct {
		bufs []Buffer
		want string
	}{
		{[]Buffer{{Arg: 4, Data: one}}, "scale(i32,i32,f64,i32) takes 4 arguments: no argument 5 for an array"},
		{[]Buffer{{Arg: -1, Data: one}}, "no argument 0 for an array"},
		{[]Buffer{{Arg: 2, Data: one}}, "scale(i32,i32,f64,i32): argument 3 is an f64, not a pointer (i32): pass a number there, not an array"},
		{[]Buffer{{Arg: 0, Data: one}, {Arg: 0, Data: one}}, "two arrays for argument 1"},
		{[]Buffer{{Arg: 0, Data: one, Align: 3}}, "alignment 3 is not a power of two up to 65536"},
		{[]Buffer{{Arg: 0, Data: one, Align: 1 << 17}}, "alignment 131072 is not a power of two"},
	} {
		_, err := inst.CallBuffers(t.Context(), "scale", args, tt.bufs, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error saying %q", tt.bufs, err, tt.want)
		}
		err = inst.CallEachBuffers("scale", args, [][]Buffer{tt.bufs}, func(_ int, _ []uint64, err error) {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CallEachBuffers %+v: %v, want an error saying %q", tt.bufs, err, tt.want)
			}
		})
		if err != nil {
			t.Errorf("CallEachBuffers %+v: %v", tt.bufs, err)
		}
	}
	if err := inst.CallEachBuffers("scale", args, [][]Buffer{nil, nil}, nil); err == nil {
		t.Error("buffers for 2 calls, arguments for 1: no error")
	}
}

// CallEachBuffers passes each call its own buffers, and reports each call's error alone.
func TestCallEachBuffers(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine.String(), func(t *testing.T) {
			inst := load(t, newRuntime(t, WithTier(engine)), testdataModule(t, "alloc.wasm"))
			const n = 50
			args := make([]uint64, 3*n)
			bufs := make([][]Buffer, n)
			for k := range n {
				args[3*k+1], args[3*k+2] = uint64(k), uint64(k)
				bufs[k] = []Buffer{{Arg: 0, Data: make([]byte, k)}}
			}
			bufs[7] = nil // a call with no buffer: fill(0, 7, 7) writes at address 0
			bufs[11] = []Buffer{{Arg: 0, Data: nil}}
			args[3*11+1] = 0 // an empty buffer
			var failed []int
			err := inst.CallEachBuffers("fill", args, bufs, func(k int, _ []uint64, err error) {
				if err != nil {
					failed = append(failed, k)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			for k := range n {
				if k == 7 || k == 11 {
					continue
				}
				b := bufs[k][0]
				if strings.Count(string(b.Data), string(rune(k))) != k || b.Changed != (k > 0) {
					t.Errorf("call %d: %v, changed %v", k, b.Data, b.Changed)
				}
			}
			if len(failed) != 0 {
				t.Errorf("calls %v failed", failed)
			}
			if res, err := inst.Call(t.Context(), "live", nil, nil, nil); err != nil || res[0] != 0 {
				t.Errorf("allocations left: %v, %v", res, err)
			}
		})
	}
}
