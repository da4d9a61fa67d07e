// Package kernel is Rain's Jupyter kernel: the Jupyter messaging protocol (5.3) over ZeroMQ
// (go-zeromq/zmq4), driving a session. It knows no cell language: every request that is about
// code (execute, complete, inspect, is_complete) goes to the session, and what the session
// produces goes back as messages.
//
// Run serves one connection file until Jupyter shuts the kernel down; Install writes the
// kernelspec Jupyter starts it from.
//
// The sockets: shell, control and stdin are ROUTERs, iopub a PUB, the heartbeat a ROUTER that
// echoes. Each socket has one goroutine that reads it and one that writes it; shell requests
// run one at a time on their own goroutine, control requests (interrupt, shutdown) on the
// control reader's, so they are answered while a cell runs. The wire format is in
// kernel/protocol; kernel/internal/zmtpguard keeps a misbehaving client from stalling a socket.
package kernel
