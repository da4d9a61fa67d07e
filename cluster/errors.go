package cluster

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/internal/units"
)

var (
	// ErrNoNodes is returned when a call finds no node to run on.
	ErrNoNodes = errors.New("cluster: no nodes")

	// ErrUnknownNode is returned when a call names a node the client has never heard of.
	ErrUnknownNode = errors.New("cluster: unknown node")

	// ErrUnknownModule is returned when a call names a module that was not loaded through
	// this client.
	ErrUnknownModule = wire.ErrUnknownModule

	// ErrInterrupted is returned when a call's context was cancelled; the node that ran it
	// has been stopped and is being restarted.
	ErrInterrupted = errors.New("cluster: interrupted")

	// ErrNodeLost is returned (wrapped in *RemoteError) when the node running a call died, or
	// when the client's connection to the hub dropped while the call was out (the error then
	// says so, and matches ErrNodeLost): its request or its answer may be lost with the
	// connection. A map runs such a task again.
	ErrNodeLost = wire.ErrNodeLost

	// ErrUnauthorized is returned when the hub refused the token.
	ErrUnauthorized = wire.ErrUnauthorized

	// ErrHubLost is returned by Connect when the hub cannot be reached, and by node.Run when
	// the hub could not be reached again within the reconnect window. A client's *HubError
	// matches it.
	ErrHubLost = wire.ErrHubLost

	// ErrChecksum is returned when bytes arrive on a node damaged: a module's whose SHA-256,
	// or a part's whose CRC-32C, does not match the one announced.
	ErrChecksum = wire.ErrChecksum

	// ErrTLS is returned when the TLS handshake with the hub failed: a certificate that does
	// not verify, TLS on one side only, or unreadable PEM files.
	ErrTLS = wire.ErrTLS

	// ErrClosed is returned by a Client's methods after Close.
	ErrClosed = errors.New("cluster: client closed")

	// ErrTooLarge is returned (wrapped) for a batch's call, or a task of a map over data, whose
	// arrays make a message larger than the hub carries (its max payload, see
	// WithHubMaxPayload), and for a Call or a map's task whose arguments alone do. The message
	// names the size and the limit. Arrays are not split over several messages: keep a large
	// one on the nodes (Scatter) and map over its parts, pass smaller ones, or start the hub
	// with a larger max payload.
	ErrTooLarge = errors.New("cluster: message too large for the hub")

	// ErrNoData is returned (wrapped) for data kept on the nodes that is no longer anywhere: a
	// part freed, or a map's output lost with its node when what it was computed from is gone
	// too. A map's task whose node no longer holds its part (it restarted) gets it inside a
	// *RemoteError, and runs again once the part is sent again.
	ErrNoData = wire.ErrNoData

	// ErrDataLimit is returned (wrapped) for a part of an array no node has room for: a node
	// keeps data up to its memory limit (node.Settings.MemoryLimit). The message names the
	// sizes.
	ErrDataLimit = wire.ErrDataLimit

	// ErrUnknownData is returned for a part this client did not scatter or keep, or freed.
	ErrUnknownData = errors.New("cluster: no such data: it was freed, or kept by another client")
)

// tooLarge is the error of a call of fn whose message would be size bytes, over limit.
func tooLarge(fn string, size, limit int) error {
	return fmt.Errorf("%w: %s: its arrays make %s, over the hub's max payload of %s: scatter a large array and map over its parts (they stay on the nodes), pass smaller arrays, or start the hub with a larger max payload (up to 64 MiB)",
		ErrTooLarge, fn, units.Bytes(uint64(size)), units.Bytes(uint64(limit)))
}

// HubError is the error of a client's calls, and the cause of the contexts of WatchHub, once
// its hub has been unreachable for the hub timeout (WithHubTimeout). The client goes on trying
// to reach the hub: once it is back, calls run again. It matches ErrHubLost.
type HubError struct {
	URL string        // the hub's URL, as given to Connect
	For time.Duration // how long it has been unreachable: the hub timeout
}

func (e *HubError) Error() string {
	return fmt.Sprintf("cluster: the hub at %s has been unreachable for %s", e.URL, units.Duration(e.For))
}

// Is reports whether target is ErrHubLost.
func (e *HubError) Is(target error) bool { return target == ErrHubLost }

// errHubDropped fails the calls out when the client's connection to the hub drops: their
// requests or answers may be lost with it. It matches ErrNodeLost, so that a map runs them
// again once the nodes are heard from again.
var errHubDropped error = hubDropped{}

type hubDropped struct{}

func (hubDropped) Error() string        { return "cluster: the connection to the hub dropped during the call" }
func (hubDropped) Is(target error) bool { return target == ErrNodeLost }

// RemoteError is an error a node reported for a call or a load, or the loss of that node.
// Use errors.As to find what is inside: a *wasm.Trap for a trap, ErrNodeLost when the node died,
// wasm.ErrNoExport or wasm.ErrInvalid when the node rejected the call or the module.
type RemoteError struct {
	Node string // the node's ID
	Func string // the export called; empty for a load
	Err  error  // a *wasm.Trap rebuilt from the wire, ErrNodeLost, or another error
}

func (e *RemoteError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "cluster: ")
	if e.Func == "" {
		return fmt.Sprintf("cluster: node %s: %s", e.Node, msg)
	}
	return fmt.Sprintf("cluster: node %s: %s: %s", e.Node, e.Func, msg)
}

// Unwrap returns the error the node reported.
func (e *RemoteError) Unwrap() error { return e.Err }
