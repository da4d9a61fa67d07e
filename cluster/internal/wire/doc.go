// Package wire is what crosses between Rain's processes: the messages a client and a node's
// supervisor exchange over NATS (wire.go, call.go, batch.go), the frames a supervisor and its
// worker exchange over the worker's stdin and stdout (pipe.go), the errors that travel in them
// (errors.go), and the connection to the hub that clients and nodes both dial (conn.go).
//
// Both sides import it, and neither side imports the other: package cluster (the client and
// the hub) and package cluster/node (the supervisor and its worker) re-export the errors their
// callers match.
package wire
