// Package node is a Rain node: the supervisor that `rain node` runs (Run) and the worker
// process it starts (RunWorker). Clients reach it through package cluster; the two sides share
// only the wire formats of package cluster/internal/wire.
//
// # Nodes and workers
//
// A node is two processes. Run is the supervisor: it holds the node's connection to the hub,
// announces the node and sends its heartbeat, stores the modules it receives (by SHA-256) in its
// cache directory, and queues calls. It runs them in a worker process — the same binary
// re-executed with WorkerEnv set, which must call RunWorker — one at a time, in arrival order,
// talking to it over the worker's stdin and stdout. The worker instantiates each module once
// (wazero's compilation cache sits beside the modules, so a restarted worker gets its compiled
// code back fast) and never touches the network. The supervisor restarts the worker whenever it
// exits, with a backoff when it crashes in a loop. A machine with many cores runs many nodes.
//
// Why two processes, when the worker could hold the connection itself: while wazero runs
// compiled code that calls nothing in Go (an empty loop, loop-free recursion), the Go runtime
// cannot preempt that goroutine, so the next garbage collection stops every other goroutine of
// the process until the call returns — heartbeats, cancels, everything. The supervisor runs no
// Wasm and stays responsive however long a call takes.
//
// # Settings
//
// How a node runs modules and where it keeps them — its tier, directory grants, memory limit,
// cache directory and ID — is one value, Settings. A user gives them as flags of `rain node`
// (RegisterFlags), or of a session for the nodes it starts (RegisterModuleFlags), and each flag
// parses its setting once into its typed value (wasm.Tier, wasm.Grant, wasm.MemoryLimit); a
// launcher turns Settings back into the command line of a node (Command), and the supervisor
// hands them to its worker as JSON in the worker's environment. So the flags of a node's
// settings are spelled in this package alone.
//
// # Limits
//
// A node bounds what one module and one call may take of a shared machine: each module
// instance's memory is capped (Settings.MemoryLimit, DefaultMemoryLimit 1 GiB), and a trap at the
// cap names it; a call's WASI output is cut at 1 MiB, stdout and stderr together, in the
// worker, with a note on stderr, while the call runs on. Output reaches the client in some 20
// messages a second at most (and one per 32 KiB), not one per line.
//
// # Data
//
// A node keeps the parts of arrays its clients scatter, and the outputs their maps leave on
// it, in the supervisor's memory (a worker that restarts loses nothing), each part once
// whatever the clients that hold it, and all of them within its memory limit
// (Settings.MemoryLimit): a part past it is refused with a message that names the sizes. A
// batch that names parts runs alone: the supervisor first gives its worker the parts it lacks
// (each once in the worker's life: a part a map uses is kept twice on its node, by the
// supervisor and by the worker), the worker passes them to the calls read-only, and the
// supervisor keeps the outputs the batch asks it to keep. The node drops a client's hold on its
// data when the client frees it, closes, or has not answered the node's "alive?" for the hub
// timeout; its status says how many bytes it keeps.
//
// # Tiers
//
// A node's worker runs modules as its Settings' Tier says (see wasm.Tier): every
// cluster.Result names the engine that ran it, and the node's status
// (cluster.NodeInfo.Tiers) carries each module's tier state — interpreter, compiling or
// compiled, from the cache or not, with its times — sent by the worker when a module is
// instantiated, when its compiled code is ready and after a call that switched to it.
package node
