// Package cluster runs WebAssembly calls on worker nodes over NATS.
//
// A session starts a Hub (an embedded nats-server on loopback with token authentication),
// starts nodes (StartLocalNodes, or `rain node --join URL` on other machines), and talks to
// them through a Client: Load ships a module to every node (by SHA-256, only to nodes that lack
// it, and again to nodes that join or restart later), Call runs one export on the least-loaded
// node and streams its WASI output back while it runs.
//
// # Nodes and workers
//
// A node is two processes. RunNode is a supervisor: it re-executes the current binary as a
// worker (RunWorker, selected by the WorkerEnv environment variable) and restarts the worker
// whenever it exits, with a backoff when it crashes in a loop. The worker connects to the hub,
// announces itself and sends a heartbeat, keeps the modules it receives in its cache directory
// (with wazero's compilation cache beside them, so a restarted worker gets its compiled code back
// fast) and runs calls one at a time, in arrival order: an instance's memory is not shared
// between calls that run at once, so a machine with many cores runs many nodes.
//
// # Cancellation
//
// wazero cannot interrupt compiled code cheaply (closing a module on context cancellation slows
// loops many times over and cannot stop loop-free recursion). So when a call's context is
// cancelled the client sends a cancel for that task; if the task is running, the worker exits at
// once and its supervisor starts a new one, which takes the node's modules back from its disk
// cache. Call returns ErrInterrupted as soon as the cancel is acknowledged; a later call on that
// node waits for the new worker. Calls queued on that worker behind the cancelled one fail with
// ErrNodeLost, as they would if the node had crashed.
//
// # Wire
//
// Messages are small JSON documents with a version field "v", on subjects under "rain."
// (see wire.go). Module bytes travel raw, in chunks with a SHA-256 per chunk, described by
// NATS headers.
package cluster
