package cluster

// CONTRACT — the API the session codes against. Replace the stub bodies with the real thing
// (in other files) and delete this comment block; keep the signatures or change the session too.

import (
	"errors"
	"io"
	"time"
)

// NodeInfo is what the client knows of one node.
type NodeInfo struct {
	ID       string   // unique, stable across the node's restarts
	Host     string   // hostname
	OS, Arch string   // runtime.GOOS, runtime.GOARCH
	Cores    int      // runtime.NumCPU
	Engine   string   // wasm.EngineCompiler or wasm.EngineInterpreter
	Modules  []string // SHA-256 of modules loaded on the node
	Busy     int      // calls in flight
	Done     int      // calls completed
	RTT      time.Duration
	Restarts int
}

// Call is one call of an export on some node.
type Call struct {
	Module string   // SHA-256 of the module (as given to Client.Load)
	Func   string   // export name
	Args   []uint64 // encoded as wazero encodes them
	Node   string   // optional: run on this node ID; empty means least-loaded
	Stdout io.Writer // optional: WASI stdout, streamed while the call runs
	Stderr io.Writer // optional: WASI stderr
}

// Result is what came back.
type Result struct {
	Values []uint64
	Node   string
	// Timestamps: submitted by the client, started and finished on the node, received back.
	Submitted, Started, Finished, Received time.Time
}

// Errors.
var (
	// ErrNoNodes is returned when a call finds no node to run on.
	ErrNoNodes = errors.New("cluster: no nodes")
	// ErrInterrupted is returned when a call's context was cancelled; the node that ran it
	// has been stopped and is being restarted.
	ErrInterrupted = errors.New("cluster: interrupted")
	// ErrNodeLost is returned (wrapped in *RemoteError) when the node running a call died.
	ErrNodeLost = errors.New("cluster: node died during the call")
)

// RemoteError is an error a node reported for a call, or the loss of that node.
type RemoteError struct {
	Node string
	Func string
	Err  error // a *wasm.Trap rebuilt from the wire, ErrNodeLost, or a plain error
}
