package wire

import (
	"encoding/json"
	"errors"

	"github.com/rain-wasm/rain/wasm"
)

// Errors both sides of the wire know. Package cluster and package cluster/node re-export the
// ones their callers match, with their documentation.
var (
	// ErrNodeLost is a node that died during a call, or a connection to the hub that dropped.
	ErrNodeLost = errors.New("cluster: node died during the call")

	// ErrUnknownModule is a call of a module that was not loaded.
	ErrUnknownModule = errors.New("cluster: module not loaded")

	// ErrChecksum is bytes that arrived damaged: a module's whose SHA-256, or data's whose
	// CRC-32C, does not match the one announced.
	ErrChecksum = errors.New("cluster: checksum mismatch")

	// ErrUnauthorized is a token the hub refused (see Dial).
	ErrUnauthorized = errors.New("cluster: the hub refused the token")

	// ErrHubLost is a hub that could not be reached (see Dial).
	ErrHubLost = errors.New("cluster: lost the hub")

	// ErrTLS is a TLS handshake with the hub that failed (see Dial).
	ErrTLS = errors.New("cluster: TLS with the hub failed")

	// ErrNoModule is what a node reports for a call of a module it does not have; the client
	// reads it as ErrUnknownModule.
	ErrNoModule = errors.New("module not loaded on this node")

	// ErrNoMem is a node's answer to a client that asks to copy a part through memory (see
	// FrameLinkPutMem) from another machine: it sends the part over the link's socket instead.
	ErrNoMem = errors.New("cluster: no copy through memory with this node")
)

// Error carries an error across the wire, with a code from which the receiver rebuilds
// the sentinel or the *wasm.Trap.
type Error struct {
	Code string          `json:"code,omitempty"`
	Msg  string          `json:"msg"`
	Trap json.RawMessage `json:"trap,omitempty"`
}

const (
	codeTrap     = "trap"
	codeNoExport = "no_export"
	codeInvalid  = "invalid"
	codeNotWasm  = "not_wasm"
	codeImport   = "import"
	codeNoModule = "no_module"
	codeChecksum = "checksum"
	codeNodeLost = "node_lost"
	codeMemory   = "memory_limit" // a module whose memory starts over the node's limit, or an array over it
	codeNoAlloc  = "no_allocator" // an array for a module that exports no allocator
	codeBadPtr   = "bad_pointer"  // an allocator that gave a pointer outside memory
	codeNoData   = "no_data"      // a part the node does not hold
	codeDataFull = "data_limit"   // a part the node's memory limit leaves no room for
	codeNoMem    = "no_mem"       // a copy through memory the node does not take
)

// EncodeError is err on the wire; nil for nil.
func EncodeError(err error) *Error {
	if err == nil {
		return nil
	}
	w := &Error{Msg: err.Error()}
	var trap *wasm.Trap
	switch {
	case errors.As(err, &trap):
		w.Code = codeTrap
		w.Trap, _ = json.Marshal(trap)
	case errors.Is(err, wasm.ErrMemoryLimit):
		w.Code = codeMemory
	case errors.Is(err, wasm.ErrNoExport):
		w.Code = codeNoExport
	case errors.Is(err, wasm.ErrNoAllocator):
		w.Code = codeNoAlloc
	case errors.Is(err, wasm.ErrBadPointer):
		w.Code = codeBadPtr
	case errors.Is(err, wasm.ErrNotWasm):
		w.Code = codeNotWasm
	case errors.Is(err, wasm.ErrImport):
		w.Code = codeImport
	case errors.Is(err, wasm.ErrInvalid):
		w.Code = codeInvalid
	case errors.Is(err, ErrNoModule):
		w.Code = codeNoModule
	case errors.Is(err, ErrChecksum):
		w.Code = codeChecksum
	case errors.Is(err, ErrNodeLost):
		w.Code = codeNodeLost
	case errors.Is(err, ErrNoData):
		w.Code = codeNoData
	case errors.Is(err, ErrDataLimit):
		w.Code = codeDataFull
	case errors.Is(err, ErrNoMem):
		w.Code = codeNoMem
	}
	return w
}

// DecodeError rebuilds an error so that errors.Is and errors.As find what the node found.
func DecodeError(w *Error) error {
	if w == nil {
		return nil
	}
	switch w.Code {
	case codeTrap:
		trap := new(wasm.Trap)
		if err := json.Unmarshal(w.Trap, trap); err == nil {
			return trap
		}
	case codeMemory:
		return &wrapped{w.Msg, wasm.ErrMemoryLimit}
	case codeNoExport:
		return &wrapped{w.Msg, wasm.ErrNoExport}
	case codeNoAlloc:
		return &wrapped{w.Msg, wasm.ErrNoAllocator}
	case codeBadPtr:
		return &wrapped{w.Msg, wasm.ErrBadPointer}
	case codeInvalid:
		return &wrapped{w.Msg, wasm.ErrInvalid}
	case codeNotWasm:
		return &wrapped{w.Msg, wasm.ErrNotWasm}
	case codeImport:
		return &wrapped{w.Msg, wasm.ErrImport}
	case codeNoModule:
		return &wrapped{w.Msg, ErrUnknownModule}
	case codeChecksum:
		return &wrapped{w.Msg, ErrChecksum}
	case codeNodeLost:
		return &wrapped{w.Msg, ErrNodeLost}
	case codeNoData:
		return &wrapped{w.Msg, ErrNoData}
	case codeDataFull:
		return &wrapped{w.Msg, ErrDataLimit}
	case codeNoMem:
		return &wrapped{w.Msg, ErrNoMem}
	}
	return errors.New(w.Msg)
}

// wrapped is an error with the node's message that unwraps to a local sentinel.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
