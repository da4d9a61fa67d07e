package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rain-wasm/rain/wasm"
)

// Subjects. Node IDs are single subject tokens (see validNodeID).
//
//	rain.status             worker → clients: statusMsg, at start, every heartbeat, on discover
//	rain.discover           client → workers: publish your status now
//	rain.node.<id>.call     client → worker: callMsg (binary); reply replyMsg to <inbox>.<task>;
//	                        WASI output goes to <inbox>.<task>.o (stdout) and .e (stderr)
//	rain.node.<id>.batch    client → worker: a batch of calls (binary, see batch.go); the
//	                        answer goes to <inbox>.<task>
//	rain.node.<id>.cancel   client → worker: cancelMsg; reply cancelReply
//	rain.node.<id>.load     client → worker: module bytes (headers below); reply loadReply
//	rain.node.<id>.ping     client → worker: empty; reply empty
const (
	subjStatus   = "rain.status"
	subjDiscover = "rain.discover"
)

func nodeSubject(id, verb string) string { return "rain.node." + id + "." + verb }

// wireVersion is the "v" of every message this package sends. A receiver rejects messages
// of another version with a clear error rather than misreading them.
// Version 2: calls and replies in binary (see callwire.go).
const wireVersion = 2

// Headers of a load message. Op "has" asks whether the node has the module (it answers from
// memory or from its disk cache); op "chunk" carries bytes Offset… of the module, with the
// chunk's own SHA-256, and the last chunk (Offset+len == Size) makes the node instantiate it.
const (
	hdrVersion  = "Rain-V"
	hdrOp       = "Rain-Op"
	hdrSHA      = "Rain-SHA256"
	hdrSize     = "Rain-Size"
	hdrOffset   = "Rain-Offset"
	hdrChunkSHA = "Rain-Chunk-SHA256"
	hdrTransfer = "Rain-Transfer" // chunks of one sending share it: two senders never mix
)

// statusMsg announces a worker: sent when it starts, at every heartbeat and on discover.
// A new Incarnation under the same ID means the worker was restarted.
type statusMsg struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Incarnation string    `json:"inc"`
	Host        string    `json:"host"`
	OS          string    `json:"os"`
	Arch        string    `json:"arch"`
	Cores       int       `json:"cores"`
	Engine      string    `json:"engine"`
	Modules     []string  `json:"modules,omitempty"`
	Busy        int       `json:"busy"`
	Done        int       `json:"done"`
	Restarts    int       `json:"restarts"`
	PID         int       `json:"pid,omitempty"`   // the current worker's process ID
	Tiers       []tierMsg `json:"tiers,omitempty"` // tier state of each instantiated module
}

// decodeStatus reads a status message of this wire version from a node whose ID is valid.
func decodeStatus(b []byte) (statusMsg, error) {
	var st statusMsg
	if err := json.Unmarshal(b, &st); err != nil {
		return st, err
	}
	if err := checkVersion(st.V); err != nil {
		return st, err
	}
	if !validNodeID(st.ID) {
		return st, fmt.Errorf("cluster: bad node ID %q", st.ID)
	}
	return st, nil
}

// tierMsg is a wasm.ModuleTier on the wire: the worker sends its runtime's (frameTiers) when
// a module is instantiated, when its compiled code is ready and after a call that changed it;
// the supervisor puts the latest in its status.
type tierMsg struct {
	SHA      string `json:"sha"`
	State    string `json:"state"`
	Tier     string `json:"tier"`
	Cache    bool   `json:"cache,omitempty"`
	Loaded   int64  `json:"loaded"`   // Unix ns, node clock
	Ready    int64  `json:"ready"`    // ns from Loaded
	Compiled int64  `json:"compiled"` // ns from Loaded, 0 before
	Err      string `json:"err,omitempty"`
}

func toTierMsgs(ts []wasm.ModuleTier) []tierMsg {
	out := make([]tierMsg, len(ts))
	for k, t := range ts {
		out[k] = tierMsg{SHA: t.SHA256, State: t.State, Tier: t.Tier, Cache: t.CacheHit,
			Loaded: t.Loaded.UnixNano(), Ready: int64(t.Ready), Compiled: int64(t.Compiled)}
		if t.Err != nil {
			out[k].Err = t.Err.Error()
		}
	}
	return out
}

func fromTierMsgs(ts []tierMsg) map[string]wasm.ModuleTier {
	if len(ts) == 0 {
		return nil
	}
	out := make(map[string]wasm.ModuleTier, len(ts))
	for _, t := range ts {
		mt := wasm.ModuleTier{SHA256: t.SHA, State: t.State, Tier: t.Tier, CacheHit: t.Cache,
			Loaded: unixNano(t.Loaded), Ready: time.Duration(t.Ready), Compiled: time.Duration(t.Compiled)}
		if t.Err != "" {
			mt.Err = errors.New(t.Err)
		}
		out[t.SHA] = mt
	}
	return out
}

// callMsg is one call; it travels in binary (appendCall, decodeCall).
type callMsg struct {
	V      int
	Task   string
	Module string
	Func   string
	Args   []uint64
	Output bool // stream WASI output back
}

// replyMsg is a call's answer; it travels in binary (appendReply, decodeReply).
type replyMsg struct {
	V        int
	Task     string
	Values   []uint64
	Err      *wireError
	Started  int64 // Unix nanoseconds, node clock
	Finished int64
	Tier     string // the engine that ran the call
}

type cancelMsg struct {
	V    int    `json:"v"`
	Task string `json:"task"`
	// Queued asks the node to drop the task only if it has not started: a task already
	// running is left to finish (a map steals a slow node's queued chunk this way).
	Queued bool `json:"queued,omitempty"`
}

// decodeCancel reads a cancel message of this wire version.
func decodeCancel(b []byte) (cancelMsg, error) {
	var c cancelMsg
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	return c, checkVersion(c.V)
}

// cancelReply says whether the task was running: then, unless the cancel was for a queued
// task only, the worker is exiting.
type cancelReply struct {
	V       int  `json:"v"`
	Running bool `json:"running"`
}

type loadReply struct {
	V    int        `json:"v"`
	Have bool       `json:"have"`
	Err  *wireError `json:"err,omitempty"`
}

// wireError carries an error across the wire, with a code from which the receiver rebuilds
// the sentinel or the *wasm.Trap.
type wireError struct {
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
	codeMemory   = "memory_limit" // a module whose memory starts over the node's limit
)

// errNoModule is what a node reports for a call of a module it does not have.
var errNoModule = errors.New("module not loaded on this node")

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Msg: err.Error()}
	var trap *wasm.Trap
	switch {
	case errors.As(err, &trap):
		w.Code = codeTrap
		w.Trap, _ = json.Marshal(trap)
	case errors.Is(err, wasm.ErrMemoryLimit):
		w.Code = codeMemory
	case errors.Is(err, wasm.ErrNoExport):
		w.Code = codeNoExport
	case errors.Is(err, wasm.ErrNotWasm):
		w.Code = codeNotWasm
	case errors.Is(err, wasm.ErrImport):
		w.Code = codeImport
	case errors.Is(err, wasm.ErrInvalid):
		w.Code = codeInvalid
	case errors.Is(err, errNoModule):
		w.Code = codeNoModule
	case errors.Is(err, ErrChecksum):
		w.Code = codeChecksum
	case errors.Is(err, ErrNodeLost):
		w.Code = codeNodeLost
	}
	return w
}

// fromWire rebuilds an error so that errors.Is and errors.As find what the node found.
func fromWire(w *wireError) error {
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

func checkVersion(v int) error {
	if v != wireVersion {
		return fmt.Errorf("cluster: wire version %d, this build speaks %d", v, wireVersion)
	}
	return nil
}

func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// validNodeID reports whether id can be one token of a NATS subject.
func validNodeID(id string) bool {
	return id != "" && !strings.ContainsAny(id, ". \t\r\n*>")
}
