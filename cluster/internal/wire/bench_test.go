package wire

import (
	"encoding/binary"
	"testing"
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
		req, body := PackBatch(BatchHeader{V: Version, Task: "k3x9-1", Module: "ff00", Func: "add", N: n, Arity: arity}, n*arity)
		for k := range n * arity {
			binary.LittleEndian.PutUint64(body[8*k:], uint64(k))
		}
		if _, _, err := ReadBatch(req); err != nil { // the node
			b.Fatal(err)
		}
		h, args, err := ReadBatch(req) // the worker
		if err != nil {
			b.Fatal(err)
		}
		for k := range n {
			values[k] = binary.LittleEndian.Uint64(args[16*k:]) + binary.LittleEndian.Uint64(args[16*k+8:])
			finished[k] = int64(k)
		}
		rep := PackBatchAnswer(BatchReplyHeader{V: Version, Task: h.Task, N: n, Results: 1}, finished, values)
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
