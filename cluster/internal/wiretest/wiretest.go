// Package wiretest holds the messages that the fuzz targets of the client, the node and the
// wire formats start from: batch requests of every function of cluster/node/testdata/fuzz.wasm.
package wiretest

import (
	"encoding/binary"
	"math"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// FuzzSHA is the SHA-256 of cluster/node/testdata/fuzz.wasm, the module of the seeds.
const FuzzSHA = "85f545c19f826914c01961ef2e6e4d714d7d671a573aa44b2f1a6cdb83592bf5"

// BatchRequest is a batch message as the client sends it.
func BatchRequest(h wire.BatchHeader, args ...uint64) []byte {
	req, body := wire.PackBatch(h, len(args))
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
