package wire

import (
	"encoding/binary"
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

// The costs of the scalar formats, which arrays must not slow down:
//
//	go test ./cluster/internal/wire -run '^$' -bench . -benchmem

// BenchmarkBatchScalar is a batch of 2,000 calls of add(i32, i32) as it goes: the client packs
// it, the node and the worker read it, the worker packs its answer and the client reads the
// answer's values and times.
func BenchmarkBatchScalar(b *testing.B) {
	const n, arity = 2000, 2
	finished := make([]int64, n)
	values := make([]uint64, n)
	for b.Loop() {
		req, body := PackBatchRequest(BatchHeader{V: Version, Task: "k3x9-1", Module: "ff00", Func: "add", N: n, Arity: arity}, nil)
		for k := range n * arity {
			binary.LittleEndian.PutUint64(body[8*k:], uint64(k))
		}
		if _, _, _, err := ReadBatch(req); err != nil { // the node
			b.Fatal(err)
		}
		h, args, _, err := ReadBatch(req) // the worker
		if err != nil {
			b.Fatal(err)
		}
		for k := range n {
			values[k] = binary.LittleEndian.Uint64(args[16*k:]) + binary.LittleEndian.Uint64(args[16*k+8:])
			finished[k] = int64(k)
		}
		rep := PackBatchAnswer(BatchReplyHeader{V: Version, Task: h.Task, N: n, Results: 1}, finished, values, nil)
		a, err := ReadBatchAnswer(rep, n)
		if err != nil {
			b.Fatal(err)
		}
		vals := a.Values()
		for i := range n {
			_ = a.Finished(i) + int64(vals[i])
		}
	}
}

// BenchmarkCallScalar is one call of add(i32, i32) and its reply, encoded and decoded.
func BenchmarkCallScalar(b *testing.B) {
	var buf []byte
	var c Call
	var r Reply
	for b.Loop() {
		buf = AppendCall(buf[:0], &Call{V: Version, Task: "k3x9-1", Module: "ff00", Func: "add", Args: []uint64{1, 2}})
		if err := DecodeCall(buf, &c); err != nil {
			b.Fatal(err)
		}
		buf = AppendReply(buf[:0], &Reply{V: Version, Task: c.Task, Values: []uint64{3}, Started: 1, Finished: 2, Tier: "compiler"})
		if err := DecodeReply(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchBuffers is a batch of 256 calls of scale(xs, n, k, out) with arrays of 1 KiB,
// xs read and out written: the client packs it, the node and the worker read it, the worker
// packs its answer with the changed out arrays and the client reads them.
func BenchmarkBatchBuffers(b *testing.B) {
	const n, arity = 256, 4
	in := make([]byte, 1024)
	bufs := make([][]wasm.Buffer, n)
	for i := range bufs {
		bufs[i] = []wasm.Buffer{{Arg: 0, Data: in}, {Arg: 3, Data: make([]byte, 1024)}}
	}
	finished := make([]int64, n)
	values := make([]uint64, 0)
	changed := make([][]wasm.Buffer, n)
	b.SetBytes(2 * 1024 * n)
	for b.Loop() {
		req, body := PackBatchRequest(BatchHeader{V: Version, Task: "k3x9-1", Module: "ff00", Func: "scale", N: n, Arity: arity}, bufs)
		for k := range n * arity {
			binary.LittleEndian.PutUint64(body[8*k:], uint64(k))
		}
		if _, _, _, err := ReadBatch(req); err != nil { // the node
			b.Fatal(err)
		}
		h, _, got, err := ReadBatch(req) // the worker
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			got[i][1].Data[0] = 1
			changed[i] = got[i][1:]
		}
		rep := PackBatchAnswer(BatchReplyHeader{V: Version, Task: h.Task, N: n}, finished, values, changed)
		a, err := ReadBatchAnswer(rep, n)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if a.Buffers(i)[0].Data[0] != 1 {
				b.Fatal("out not sent back")
			}
		}
	}
}

// BenchmarkCallBuffers is one call of scale(xs, n, k, out) with arrays of 1 KiB and its reply
// with the changed out array, encoded and decoded.
func BenchmarkCallBuffers(b *testing.B) {
	var call, reply []byte
	var c Call
	var r Reply
	bufs := []wasm.Buffer{{Arg: 0, Data: make([]byte, 1024)}, {Arg: 3, Data: make([]byte, 1024)}}
	b.SetBytes(2 * 1024)
	for b.Loop() {
		call = AppendCall(call[:0], &Call{V: Version, Task: "k3x9-1", Module: "ff00", Func: "scale", Args: []uint64{0, 128, 2, 0}, Bufs: bufs})
		if err := DecodeCall(call, &c); err != nil {
			b.Fatal(err)
		}
		reply = AppendReply(reply[:0], &Reply{V: Version, Task: c.Task, Started: 1, Finished: 2, Tier: "compiler", Bufs: c.Bufs[1:]})
		if err := DecodeReply(reply, &r); err != nil {
			b.Fatal(err)
		}
	}
}
