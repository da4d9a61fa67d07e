// Package cluster runs WebAssembly calls on worker nodes over NATS.
//
// A session starts a Hub (an embedded nats-server on loopback with token authentication),
// starts nodes (package cluster/launch, or `rain node --join URL` on other machines; a node is
// package cluster/node), and talks to them through a Client: Load ships a module to every node
// (by SHA-256, only to nodes that lack it, and again to nodes that join or restart later;
// StartLoad does so without waiting, for a module the caller decoded with wasm.Decode), Call
// runs one export on the least-loaded node and streams its WASI output back while it runs.
// Call, CallBatch and Map name what they run with an Export, and each call or task comes back
// as a Result.
//
// # Batches
//
// CallBatch sends many calls of one export to one node in one message (split at about 1 MiB
// of arguments): the supervisor hands the message to its worker in one frame, the worker runs
// the calls in order through wasm's allocation-free path (Instance.CallEach) and answers in one
// frame, which the supervisor publishes unchanged. A trap fails its call alone. Each call
// carries its node-side start and finish times, so the cost of a call is known even inside a
// batch. Arguments, results and times travel as binary uint64s behind a small JSON header.
//
// # Arrays
//
// A Call, each call of a CallBatch and each task of a Map may pass arrays by pointer
// (wasm.Buffer: an argument, an alignment and bytes): the node's worker copies each into the
// instance's memory through the module's allocator, passes its pointer, and sends back only
// the arrays the call changed, which come back in Result.Buffers. A map's Out gives every task
// an array of its own as its last argument, and its Result holds it whether the function wrote
// it or not. A batch with arrays is cut into messages of about 1 MiB of arguments and arrays, a
// call larger than that going alone. An array is never split over messages. A Call whose
// arrays do not fit in one message of the hub (its max payload, 8 MiB by default, see
// WithHubMaxPayload) sends its largest arrays to its node as data kept there (see below), as
// many as the rest needs to fit, and has those it changed kept there and fetched back: they
// cross the network once each way, over the node's data link. So does a map's task whose
// arrays do not fit: it runs alone, its arrays copied to the node that runs it (an array
// tasks on several nodes share is copied to each, once for the tasks that run there at a time)
// and dropped there after. A batch's calls do not, nor do those of a map over data: one too
// large fails at once with ErrTooLarge, naming its size and the limit. An answer that would not
// fit comes back as an error that says so.
//
// # Data kept on the nodes
//
// Scatter keeps parts of an array on the nodes, each on one node (the ready node with the most
// room that holds least of the client's data), until Free: a part is addressed by the hash of
// its bytes (BLAKE3-256, faster than a module's SHA-256 and as hard to forge), and a node keeps
// data up to its memory limit (ErrDataLimit past it). A part's bytes go to
// its node, and come back, over the node's data link: a TCP port of its own (node.Settings'
// DataPort), on the address it reaches the hub from, which asks for a key the node gives in
// its status over the hub; so they cross the network once and never the hub. A node on the
// client's machine lets the client copy them straight into its memory and out of it (see
// package internal/vmcopy): one copy with no socket between, and the socket when the kernel
// does not allow it. To a node with no data link (its data port off, or
// TLS to the hub: the link does not encrypt), or one whose link the client cannot reach (it
// tries once each incarnation of the node), they go through the hub in chunks, as a module
// does. Either way they carry their CRC-32C: a part damaged on the way is refused, and sent
// again. The hash a part is named by is the client's; the node checks it only when another
// client asks for the part, and then once: a client can fool no one but itself by misnaming
// its data, and the node does not hash what it receives at full speed. A map over parts
// (MapSpec.Data) pins each task to the node that holds its part: the node puts the part in the
// instance's memory as if the call had carried it, so no byte of it crosses the hub
// (MapResult.Sent and Hub.Traffic show it), and no other node steals it. With MapSpec.Keep a
// map's outputs stay on their nodes as new parts (Result.Kept), for a next map; Gather brings
// parts back.
//
// The client keeps the parts it scattered (not copies), and remembers how a kept output was
// computed. A node that dies, or restarts, loses its parts: the next map or Gather that needs
// one sends it again from the client's copy, or computes a kept output again from its input, on
// another node, and runs its tasks there, so that a map ends with nothing lost. A node drops the
// data of a client that closes, or that has not answered for the hub timeout.
//
// # Cancellation
//
// wazero cannot interrupt compiled code cheaply (closing a module on context cancellation slows
// loops many times over and cannot stop loop-free recursion). So when a call's context is
// cancelled the client sends a cancel for that task; if the task is running, the supervisor kills
// the worker and starts a new one, which instantiates the node's modules again (memory and globals
// start afresh); if it is still queued, it is dropped. Call returns ErrInterrupted as soon as the
// node has acknowledged the cancel (or after 300 ms without an answer). Calls queued behind the
// cancelled one wait for the new worker.
//
// A worker that dies during a call fails that call with ErrNodeLost at once; a supervisor that
// dies (its worker dies with it) is declared lost after 2 s without a heartbeat, and its calls
// fail with ErrNodeLost. A map reruns such tasks elsewhere (a retry). It never copies a chunk
// because it is merely slower than expected, and never kills a worker that is making progress:
// once every task has been handed out, a node with nothing to do asks another node to drop a
// chunk still waiting, unstarted, in its queue (a cancel marked "queued", which a node refuses
// for a task that has started) and runs it instead. Every task's result is recorded once.
//
// # A hub that goes away
//
// Clients and nodes try every 250 ms to reach a hub they lost (a `rain hub` that restarts, a
// NATS server that comes back). A client that loses it can reach no node: it marks them all not
// ready and fails its calls out with ErrNodeLost, saying that the connection dropped, since
// their requests or answers may be lost with it; a map runs those tasks again once the nodes
// are heard from again, and the client then cancels the dropped calls on their nodes. Calls
// made while the hub is away wait for it; after the hub timeout (WithHubTimeout, 30 s) they
// fail with a *HubError, and so do the contexts of WatchHub, which a Map waiting for nodes
// needs; the client goes on trying. A node gives up with ErrHubLost after its reconnect window
// (node.WithReconnectWindow, 30 s too).
//
// # Wire
//
// Messages are small JSON documents with a version field "v", on subjects under "rain."
// (package cluster/internal/wire, which client and node both import), except a call and its
// reply, in binary behind a version byte: for a tiny call, JSON cost more than running it.
// Arrays travel as raw bytes in calls, batches and their answers (wire version 3), and parts
// of data kept on the nodes in chunks, as modules do (version 4), with their CRC-32C (version 5).
// Module bytes travel raw, in chunks with a SHA-256 per chunk, described by NATS headers. A
// node rejects a chunk whose bytes do not match its SHA-256 before keeping any of it, and the
// client sends that chunk again (3 times at most, then Load fails with ErrChecksum).
//
// # Watching
//
// A dashboard (package cluster/dashboard) watches the hub without standing in the calls' way:
// while it has a page open it says so, and every client that hears it publishes what it does
// 4 times a second — its maps' progress (MapSpec, done, calls, chunk and why), and the spans of
// its calls merged per node — until the dashboard says its last page closed. A client that no
// dashboard watches publishes nothing; WithName and NameModule say how a dashboard names the
// client and its modules, and Dashboard asks where the dashboard's page is.
//
// # Tiers
//
// A node's worker runs modules as its node.Settings' Tier says: every Result names the engine
// that ran it, and the node's status (NodeInfo.Tiers) carries each module's tier state.
package cluster
