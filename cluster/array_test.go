//go:build unix

package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

const (
	stats      = "../examples/stats.wasm"
	mandelbrot = "../examples/mandelbrot.wasm"
)

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

// part is the k-th of the test's arrays of n f64s.
func part(k, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Sin(float64(k*n+i)) * 100
	}
	return xs
}

// checkScaled checks that out holds xs·factor.
func checkScaled(t *testing.T, what string, xs []float64, factor float64, out []byte) {
	t.Helper()
	got := fromF64Bytes(out)
	if len(got) != len(xs) {
		t.Fatalf("%s: %d values back for %d", what, len(got), len(xs))
	}
	for i, x := range xs {
		if got[i] != x*factor {
			t.Fatalf("%s: out[%d] = %v, want %v", what, i, got[i], x*factor)
		}
	}
}

// stats.scale(xs, n, k, out) with arrays, on each of 2 nodes, one call and a batch, equals the
// same computation in Go; only the array the function writes travels back.
func TestCallArrays(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, stats)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, n := range tc.client.Nodes() {
		xs := part(0, 1000)
		scale := Call{Export: Export{Module: sha, Func: "scale"}, Node: n.ID,
			Args:    []uint64{0, api.EncodeI32(1000), api.EncodeF64(-1.5), 0},
			Buffers: []wasm.Buffer{{Arg: 0, Data: f64Bytes(xs)}, {Arg: 3, Data: make([]byte, 8000)}},
		}
		res := tc.call(t, scale)
		out, ok := res.Buffer(3)
		if !ok || len(res.Buffers) != 1 || res.Node != n.ID {
			t.Fatalf("node %s: scale sent back %d arrays (out: %v) from %s; want out alone", n.ID, len(res.Buffers), ok, res.Node)
		}
		checkScaled(t, "scale on "+n.ID, xs, -1.5, out)
		if string(scale.Buffers[1].Data) != string(make([]byte, 8000)) {
			t.Error("the call's own array was written")
		}

		const calls = 300 // 300 × 2 KiB: messages of at most 1 MiB, so more than one
		b := BatchCall{Export: scale.Export, Node: n.ID, Args: make([][]uint64, calls), Buffers: make([][]wasm.Buffer, calls)}
		for k := range calls {
			b.Args[k] = []uint64{0, api.EncodeI32(128), api.EncodeF64(float64(k)), 0}
			b.Buffers[k] = []wasm.Buffer{{Arg: 0, Data: f64Bytes(part(k, 128))}, {Arg: 3, Data: make([]byte, 1024)}}
		}
		b.Buffers[7] = []wasm.Buffer{{Arg: 3, Data: make([]byte, 1024)}, {Arg: 0, Data: f64Bytes(part(7, 128))}} // any order
		rs, err := tc.client.CallBatch(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for k, r := range rs {
			out, ok := r.Buffer(3)
			if r.Err != nil || !ok || r.Node != n.ID {
				t.Fatalf("node %s: call %d of the batch: %v, out sent back: %v", n.ID, k, r.Err, ok)
			}
			checkScaled(t, "batch", part(k, 128), float64(k), out)
		}
	}
}

// A map of stats.scale over 2 nodes, each task its own input array and a fresh output array
// (Out), equals the computation in Go; so does the sum of each part, a map without Out.
func TestMapArrays(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, stats)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const tasks, n = 200, 256
	spec := MapSpec{Export: Export{Module: sha, Func: "scale"}, Args: make([][]uint64, tasks), Buffers: make([][]wasm.Buffer, tasks),
		Out: &wasm.Buffer{Data: make([]byte, 8*n), Align: 8}}
	for k := range tasks {
		spec.Args[k] = []uint64{0, api.EncodeI32(n), api.EncodeF64(2)}
		spec.Buffers[k] = []wasm.Buffer{{Arg: 0, Data: f64Bytes(part(k, n))}}
	}
	spec.Buffers[5] = nil // scale(NULL, 0, 2, out) leaves out as it was: zeros
	spec.Args[5][1] = 0
	r, err := tc.client.Map(ctx, spec, nil)
	if err != nil || r.Failed > 0 {
		t.Fatalf("map: %v, %d failed", err, r.Failed)
	}
	for k, res := range r.Tasks {
		out, ok := res.Buffer(3)
		if !ok {
			t.Fatalf("task %d: no output array (%d arrays back)", k, len(res.Buffers))
		}
		if k == 5 {
			if string(out) != string(make([]byte, 8*n)) {
				t.Errorf("task 5 wrote nothing, yet its output is not zeros")
			}
			continue
		}
		checkScaled(t, "map", part(k, n), 2, out)
	}
	t.Logf("tasks per node: %v", r.PerNode())

	sum := MapSpec{Export: Export{Module: sha, Func: "sum"}, Args: make([][]uint64, tasks), Buffers: make([][]wasm.Buffer, tasks)}
	for k := range tasks {
		sum.Args[k] = []uint64{0, api.EncodeI32(n)}
		sum.Buffers[k] = []wasm.Buffer{{Arg: 0, Data: f64Bytes(part(k, n))}}
	}
	r, err = tc.client.Map(ctx, sum, nil)
	if err != nil || r.Failed > 0 {
		t.Fatalf("map of sum: %v, %d failed", err, r.Failed)
	}
	for k, res := range r.Tasks {
		want := 0.0
		for _, x := range part(k, n) {
			want += x
		}
		if got := api.DecodeF64(res.Values[0]); got != want || len(res.Buffers) != 0 {
			t.Fatalf("sum of part %d = %v, want %v (%d arrays back)", k, got, want, len(res.Buffers))
		}
	}
}

// mandelbrot.row_pixels(y, out) over a map with an Out array gives each row of the image the
// Go reference of examples/check computes.
func TestMapMandelbrotRows(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, mandelbrot)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var ys []int
	for y := 0; y < mbHeight; y += 4 {
		ys = append(ys, y)
	}
	spec := MapSpec{Export: Export{Module: sha, Func: "row_pixels"}, Args: make([][]uint64, len(ys)),
		Out: &wasm.Buffer{Data: make([]byte, mbWidth), Align: 1}}
	for k, y := range ys {
		spec.Args[k] = []uint64{uint64(y)}
	}
	r, err := tc.client.Map(ctx, spec, nil)
	if err != nil || r.Failed > 0 {
		t.Fatalf("map: %v, %d failed", err, r.Failed)
	}
	for k, y := range ys {
		got, ok := r.Tasks[k].Buffer(1)
		want := mandelbrotPixels(y)
		if !ok || string(got) != string(want) {
			t.Fatalf("row %d: %d bytes back (%v), differing from the Go reference", y, len(got), ok)
		}
	}
}

// The Mandelbrot image, computed in Go as examples/mandelbrot.c computes it (a copy of
// examples/check's reference).
const mbWidth, mbHeight, mbMaxIter = 1024, 1024, 256

func mandelbrotPixels(y int) []byte {
	ci := -1.5 + 3.0*float64(y)/mbHeight
	row := make([]byte, mbWidth)
	for x := range row {
		cr := -2.0 + 3.0*float64(x)/mbWidth
		zr, zi, i := 0.0, 0.0, 0
		for i < mbMaxIter && zr*zr+zi*zi <= 4.0 {
			zr, zi = zr*zr-zi*zi+cr, 2*zr*zi+ci
			i++
		}
		if i > 0 && i < mbMaxIter {
			k := 0
			for 2<<k <= i {
				k++
			}
			row[x] = byte(32*k + 32*(i-1<<k)>>k)
		}
	}
	return row
}

// Arrays the node cannot take fail the call with one line that says what to do, and the node
// goes on without a restart: a module without an allocator, an array over the node's memory
// limit.
func TestCallArraysRefused(t *testing.T) {
	tc := startCluster(t, 0)
	limited := tc.startNode(t, node.Settings{MemoryLimit: 1 << 20})
	noAlloc, sha := tc.load(t, basics), tc.load(t, stats)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name string
		call Call
		is   error
		want string
	}{
		{"no allocator", Call{Export: Export{Module: noAlloc, Func: "fib"}, Args: []uint64{0}, Buffers: []wasm.Buffer{{Arg: 0, Data: []byte{1}}}},
			wasm.ErrNoAllocator, "export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc"},
		{"over the memory limit", Call{Export: Export{Module: sha, Func: "sum"}, Args: []uint64{0, 0}, Buffers: []wasm.Buffer{{Arg: 0, Data: make([]byte, 2<<20)}}},
			wasm.ErrMemoryLimit, "argument 1 is 2 MiB, more than the instance's memory can grow to, 1 MiB (the memory limit; see --memory-limit)"},
		{"no room under the limit", Call{Export: Export{Module: sha, Func: "sum"}, Args: []uint64{0, 0}, Buffers: []wasm.Buffer{{Arg: 0, Data: make([]byte, 1000<<10)}}},
			wasm.ErrMemoryLimit, "no room for the 1000 KiB of argument 1"},
		{"not a pointer", Call{Export: Export{Module: sha, Func: "scale"}, Args: []uint64{0, 0, 0, 0}, Buffers: []wasm.Buffer{{Arg: 2, Data: []byte{1}}}},
			nil, "argument 3 is an f64, not a pointer (i32)"},
	} {
		_, err := tc.client.Call(ctx, tt.call)
		var remote *RemoteError
		if !errors.As(err, &remote) || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line from the node saying %q", tt.name, err, tt.want)
		}
	}
	// The node goes on, with the same worker.
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "sum"}, Args: []uint64{0, 2}, Buffers: []wasm.Buffer{{Arg: 0, Data: f64Bytes([]float64{1, 2})}}})
	if got := api.DecodeF64(res.Values[0]); got != 3 {
		t.Errorf("sum of [1, 2] after the errors = %v", got)
	}
	if n := tc.node(t, limited.ID); n.PID != limited.PID || n.Restarts != limited.Restarts {
		t.Errorf("the worker restarted: %+v, was %+v", n, limited)
	}
}

// Under a hub that carries small messages, a call's arrays too large for one go as parts of data
// (see TestCallLargeArrays, TestMapLargeTasks), a map over data's fail at once with one line
// naming the size and the limit;
// smaller ones travel in as many messages as they need, and an answer that grows past the limit
// comes back as an error, not as a wait.
func TestArraysOverMaxPayload(t *testing.T) {
	tc := startClusterOn(t, startHub(t, WithHubMaxPayload(64<<10)), 1, node.DefaultSettings())
	client := tc.client
	sha := tc.load(t, stats)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	xs := part(0, 100<<10/8)
	big := []wasm.Buffer{{Arg: 0, Data: f64Bytes(xs)}}
	res, err := client.Call(ctx, Call{Export: Export{Module: sha, Func: "sum"}, Args: []uint64{0, api.EncodeI32(int32(len(xs)))}, Buffers: big})
	if want := sums([][]byte{big[0].Data})[0]; err != nil || api.DecodeF64(res.Values[0]) != want {
		t.Errorf("a call with 100 KiB: %v, want the sum %v", err, want)
	}
	_, err = client.Map(ctx, MapSpec{Export: Export{Module: sha, Func: "scale"}, Args: [][]uint64{{0, 0, 0}},
		Out: &wasm.Buffer{Data: bytes.Repeat([]byte{1}, 100<<10)}, Data: []DataArg{{Hash: placedOf(t, client, f64Bytes(xs))[0].Hash}}}, nil)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "task 0 of the map") {
		t.Errorf("a map over data with a 100 KiB output: %v, want ErrTooLarge", err)
	}

	// 40 calls of 8 KiB each: 320 KiB, in messages under 64 KiB.
	b := BatchCall{Export: Export{Module: sha, Func: "sum"}, Args: make([][]uint64, 40), Buffers: make([][]wasm.Buffer, 40)}
	for k := range b.Args {
		b.Args[k] = []uint64{0, 1024}
		b.Buffers[k] = []wasm.Buffer{{Arg: 0, Data: f64Bytes(part(k, 1024))}}
	}
	rs, err := client.CallBatch(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range rs {
		want := 0.0
		for _, x := range part(k, 1024) {
			want += x
		}
		if r.Err != nil || api.DecodeF64(r.Values[0]) != want {
			t.Fatalf("call %d: %v, %v", k, r.Values, r.Err)
		}
	}

	// 10,000 calls without arguments: a request of a few bytes, an answer of 160 KB.
	noArgs := tc.load(t, basics)
	_, err = client.CallBatch(ctx, BatchCall{Export: Export{Module: noArgs, Func: "peek"}, Args: make([][]uint64, 10_000)})
	if err == nil || !strings.Contains(err.Error(), "over the hub's max payload of 64 KiB") {
		t.Errorf("a batch whose answer is over the max payload: %v", err)
	}
}

// BenchmarkCallArray measures the round trip of a call with a 1 KiB array, stats.sum(xs, 128),
// on one local node, beside BenchmarkCall's tiny call without one (the goal: at most
// twice as long):
//
//	go test ./cluster -run '^$' -bench 'BenchmarkCall(Array)?$' -benchtime 3000x
func BenchmarkCallArray(b *testing.B) {
	tc := startCluster(b, 1)
	client, sha := tc.client, tc.load(b, stats)
	xs := make([]float64, 128)
	for k := range xs {
		xs[k] = float64(k)
	}
	call := Call{Export: Export{Module: sha, Func: "sum"}, Args: []uint64{0, 128}, Buffers: []wasm.Buffer{{Arg: 0, Data: f64Bytes(xs)}}}
	for range 200 {
		if _, err := client.Call(b.Context(), call); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		res, err := client.Call(b.Context(), call)
		if err != nil || api.DecodeF64(res.Values[0]) != 127*128/2 {
			b.Fatal(res, err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
}
