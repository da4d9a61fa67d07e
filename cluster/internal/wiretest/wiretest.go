// Package wiretest holds the messages that the fuzz targets of the client, the node and the
// wire formats start from: batch requests of every function of cluster/node/testdata/fuzz.wasm.
package wiretest

import (
	"encoding/binary"
	"math"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// FuzzSHA is the SHA-256 of cluster/node/testdata/fuzz.wasm, the module of the seeds.
const FuzzSHA = "2ae0dd23713be3f6f3586761746d8e86e985fe8325af9bffb1b9f24721a271fb"

// BatchRequest is a batch message as the client sends it.
func BatchRequest(h wire.BatchHeader, args ...uint64) []byte {
	return BatchBuffers(h, nil, args...)
}

// BatchBuffers is a batch message with arrays, bufs[i] those of call i, as the client sends it.
func BatchBuffers(h wire.BatchHeader, bufs [][]wasm.Buffer, args ...uint64) []byte {
	req, body := wire.PackBatchRequest(h, bufs)
	for k, v := range args {
		binary.LittleEndian.PutUint64(body[8*k:], v)
	}
	return req
}

// SeedBatches are batch messages of every function of fuzz.wasm.
var SeedBatches = [][]byte{
	BatchRequest(wire.BatchHeader{V: wire.Version, Task: "k3x9-1", Module: FuzzSHA, Func: "add", N: 3, Arity: 2},
		1, 2, 3, 4, math.MaxUint32, 1),
	BatchRequest(wire.BatchHeader{V: wire.Version, Task: "k3x9-2", Module: FuzzSHA, Func: "divmod", N: 3, Arity: 2},
		7, 2, 1, 0, 1<<31, math.MaxUint32), // the last two trap: divide by zero, overflow
	BatchRequest(wire.BatchHeader{V: wire.Version, Task: "k3x9-3", Module: FuzzSHA, Func: "zero", N: 2}),
	BatchRequest(wire.BatchHeader{V: wire.Version, Task: "k3x9-4", Module: FuzzSHA, Func: "nothing", N: 1}),
	// Arrays: a call without, one with an empty array, one with an array of 3 bytes, aligned to 4.
	BatchBuffers(wire.BatchHeader{V: wire.Version, Task: "k3x9-6", Module: FuzzSHA, Func: "inc", N: 3, Arity: 2},
		[][]wasm.Buffer{nil, {{Arg: 0}}, {{Arg: 0, Data: []byte{7, 8, 9}, Align: 4}}},
		1024, 5, 0, 0, 0, 3),
}

// SeedCalls are calls of fuzz.wasm, with and without arrays.
var SeedCalls = []wire.Call{
	{V: wire.Version, Task: "k3x9-1", Module: FuzzSHA, Func: "add", Args: []uint64{1, 2}},
	{V: wire.Version, Task: "k3x9-2", Module: FuzzSHA, Func: "nothing", Output: true},
	{V: wire.Version, Task: "k3x9-3", Module: FuzzSHA, Func: "divmod", Args: []uint64{1 << 63, math.MaxUint64}},
	{V: wire.Version, Task: "k3x9-4", Module: FuzzSHA, Func: "inc", Args: []uint64{0, 3},
		Bufs: []wasm.Buffer{{Arg: 0, Data: []byte{1, 2, 3}, Align: 8}}},
	{V: wire.Version, Task: "k3x9-5", Module: FuzzSHA, Func: "add", Args: []uint64{0, 0},
		Bufs: []wasm.Buffer{{Arg: 1, Data: []byte{}}, {Arg: 0, Data: []byte("xy"), Align: 1}}},
}

// HugeBatch is a regression: 2⁶² calls without arguments fit in a body of 0 bytes, and the
// worker made slices of 2⁶² results for them.
var HugeBatch = BatchRequest(wire.BatchHeader{V: wire.Version, Task: "k3x9-5", Module: FuzzSHA, Func: "zero", N: 1 << 62})

// SeedGroup is SeedBatches in one group frame (wire.FrameBatches).
var SeedGroup = func() []byte {
	var group []byte
	for _, b := range SeedBatches {
		group = wire.AppendGroup(group, b)
	}
	return group
}()
