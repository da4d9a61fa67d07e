package cluster

import (
	"io"
	"time"

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
}

// Call is one call of an export on some node.
type Call struct {
	Module string    // SHA-256 of the module (as returned by Client.Load)
	Func   string    // export name
	Args   []uint64  // encoded as wazero encodes them
	Node   string    // optional: run on this node ID; empty means least-loaded
	Stdout io.Writer // optional: WASI stdout, streamed while the call runs
	Stderr io.Writer // optional: WASI stderr
}

// Result is what came back.
type Result struct {
	Values []uint64
	Node   string
	Tier   string // the engine that ran the call: wasm.EngineInterpreter or wasm.EngineCompiler
	// Timestamps: submitted by the client, started and finished on the node, received back.
	// Started and Finished are read from the node's clock.
	Submitted, Started, Finished, Received time.Time
}
