package cluster

import (
	"io"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// NodeInfo is what the client knows of one node.
type NodeInfo struct {
	ID       string   // unique, stable across the node's restarts
	Host     string   // hostname
	OS, Arch string   // runtime.GOOS, runtime.GOARCH
	Cores    int      // runtime.NumCPU
	Engine   string   // wasm.EngineCompiler or wasm.EngineInterpreter
	Modules  []string // SHA-256 of modules instantiated on the node
	Busy     int      // this client's calls in flight on the node
	Done     int      // calls the node completed, for all clients
	RTT      time.Duration
	Restarts int  // times the node's worker was restarted
	Ready    bool // false while the node receives this client's modules, or after it was lost
	PID      int  // process ID of the node's current worker, on Host
	// Tiers is the tier state of each module instantiated on the node, by SHA-256: which
	// engine its calls run on (State wasm.StateInterpreter, StateCompiling or StateCompiled),
	// whether the compiled code came from the node's cache, and when it became callable and
	// compiled (Loaded is read from the node's clock). It is as fresh as the node's last status.
	Tiers map[string]wasm.ModuleTier
	// Data is the bytes of the parts of arrays the node keeps, for all clients (see Scatter),
	// DataParts how many they are, and DataLimit the most it keeps: its memory limit, 0 for
	// none. They are as fresh as the node's last status.
	Data      int64
	DataParts int
	DataLimit int64
	// DataLink says whether parts go to and from the node over its data link (see Scatter),
	// rather than through the hub: the node has one and this client could reach it.
	DataLink bool
}

// Export names an exported function of a module the client loaded: what a Call, a BatchCall
// and a MapSpec run.
type Export struct {
	Module string // SHA-256 of the module (as returned by Client.Load)
	Func   string // export name
}

// Call is one call of an export on some node.
type Call struct {
	Export
	Args []uint64 // encoded as wazero encodes them
	// Buffers are arrays passed by pointer (see wasm.Buffer): the node copies each into the
	// instance's memory through the module's allocator and passes its pointer as argument Arg
	// (whose value in Args is ignored). What the function leaves in them comes back in
	// Result.Buffers; the Data given here is not changed.
	Buffers []wasm.Buffer
	Node    string    // optional: run on this node ID; empty means least-loaded
	Stdout  io.Writer // optional: WASI stdout, streamed while the call runs
	Stderr  io.Writer // optional: WASI stderr
}

// Result is the outcome of one call: of a Call, of one call of a CallBatch, or of one task of a
// Map.
type Result struct {
	Values []uint64
	// Buffers are the arrays the call changed, each with its Arg and the bytes the function
	// left in it (Changed set); an array it left as it was does not travel back. A map with an
	// Out array has it here for every task that succeeded, changed or not.
	Buffers []wasm.Buffer
	// Err is nil, or why the call failed: a *RemoteError (a *wasm.Trap inside for a trap). Only
	// CallBatch and Map set it; Call returns its error instead.
	Err  error
	Node string // the node that ran the call; for a map's task, its last attempt
	Tier string // the engine that ran the call: wasm.EngineInterpreter or wasm.EngineCompiler
	// Timestamps: submitted by the client, started and finished on the node (read from its
	// clock), received back. In a batch, Submitted and Received are those of the message that
	// carried the call, and a call starts when the one before it in its message finishes (the
	// first when the worker took the message).
	Submitted, Started, Finished, Received time.Time
	// Retries is how many times a map ran the task again (after traps or lost nodes) before
	// this result; 0 for Call and CallBatch.
	Retries int
	// Kept is the output a map with Keep left on the task's node, held by the client until
	// Free; nil otherwise.
	Kept *DataPart

	large []wire.Kept // the arrays the node kept, too large to send back (see callLarge)
}

// Buffer is the bytes the call left in its array for argument arg, if the call changed them
// (or, for a map's Out array, if the task succeeded).
func (r *Result) Buffer(arg int) ([]byte, bool) {
	for _, b := range r.Buffers {
		if b.Arg == arg {
			return b.Data, true
		}
	}
	return nil, false
}
