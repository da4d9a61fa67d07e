package cluster

// The fuzz target of what only the client decodes: a batch's answer, read into its results.
// The decoders the client shares with the node have theirs in cluster/internal/wire, and the
// worker's in cluster/node. Run it for longer with
//
//	go test ./cluster -run '^$' -fuzz '^FuzzDecodeBatch$' -fuzztime 60s

import (
	"fmt"
	"testing"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/internal/wiretest"
	"github.com/rain-wasm/rain/wasm"
)

type seedAnswer struct {
	answer []byte
	n      int
}

// seedAnswers are the answers a worker gives to wiretest.SeedBatches, on the interpreter.
func seedAnswers() []seedAnswer {
	answer := func(req []byte, results int, values []uint64, changed [][]wasm.Buffer, failed ...int) seedAnswer {
		h, _, _, err := wire.ReadBatch(req)
		if err != nil {
			panic(err)
		}
		rep := wire.BatchReplyHeader{V: wire.Version, Task: h.Task, N: h.N, Results: results,
			Started: 1_700_000_000_000_000_000, Finished: 1_700_000_000_000_000_000 + int64(h.N), Tier: wasm.EngineInterpreter}
		finished := make([]int64, h.N)
		for i := range finished {
			finished[i] = rep.Started + int64(i) + 1
		}
		for _, i := range failed {
			trap := &wasm.Trap{Func: h.Func, Reason: "integer divide by zero", Stack: []string{h.Func}}
			rep.Errs = append(rep.Errs, wire.BatchError{I: i, Err: wire.EncodeError(trap)})
		}
		return seedAnswer{wire.PackBatchAnswer(rep, finished, values, changed), h.N}
	}
	s := wiretest.SeedBatches
	return []seedAnswer{
		answer(s[0], 1, []uint64{3, 7, 0}, nil),
		answer(s[1], 2, []uint64{3, 1, 0, 0, 0, 0}, nil, 1, 2),
		answer(s[2], 1, []uint64{0, 0}, nil),
		answer(s[3], 0, nil, nil),
		answer(s[4], 1, []uint64{5, 0, 3}, [][]wasm.Buffer{nil, nil, {{Arg: 0, Data: []byte{8, 8, 9}}}}),
	}
}

// FuzzDecodeBatch: a batch's answer, as the client reads it; n is the number of calls the
// client sent in the message.
func FuzzDecodeBatch(f *testing.F) {
	for _, a := range seedAnswers() {
		f.Add(a.answer, uint16(a.n))
	}
	f.Add(wire.BatchFailure("k3x9-1", fmt.Errorf("%w: nope", wasm.ErrNoExport)), uint16(1))
	// Regressions: results counts for which 8×n×(1+results) wrapped around to the size of the
	// body (8 bytes, 0 bytes), and the client made a slice of 2⁶¹ values.
	for _, r := range []struct{ results, body int }{{1 << 61, 1}, {1<<61 - 1, 0}} {
		b, _ := wire.PackBatch(wire.BatchReplyHeader{V: wire.Version, Task: "k3x9-1", N: 1, Results: r.results}, r.body)
		f.Add(b, uint16(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		if n > 1024 { // the client's own count: bounded by wire.MaxBatchItems, kept small here
			return
		}
		res := make([]Result, n)
		if decodeBatch(b, int(n), res, "n1", "f") != nil {
			return
		}
		values := -1 // of every call that did not fail
		for i, r := range res {
			switch {
			case r.Node != "n1":
				t.Fatalf("call %d: node %q", i, r.Node)
			case r.Err != nil:
				if r.Values != nil {
					t.Fatalf("call %d failed with values %v", i, r.Values)
				}
			case values >= 0 && len(r.Values) != values:
				t.Fatalf("call %d: %d values, call before %d", i, len(r.Values), values)
			default:
				values = len(r.Values)
			}
		}
	})
}
