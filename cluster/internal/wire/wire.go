package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/wasm"
)

// Subjects. Node IDs are single subject tokens (see ValidNodeID).
//
//	rain.status             worker → clients: Status, at start, every heartbeat, on discover
//	rain.discover           client → workers: publish your status now
//	rain.node.<id>.call     client → worker: Call (binary); reply Reply to <inbox>.<task>;
//	                        WASI output goes to <inbox>.<task>.o (stdout) and .e (stderr)
//	rain.node.<id>.batch    client → worker: a batch of calls (binary, see batch.go); the
//	                        answer goes to <inbox>.<task>
//	rain.node.<id>.cancel   client → worker: Cancel; reply CancelReply
//	rain.node.<id>.load     client → worker: module bytes (headers below); reply LoadReply
//	rain.node.<id>.data     client → worker: parts of arrays kept on the node (see data.go)
//	rain.node.<id>.ping     client → worker: empty; reply empty
//	rain.client.<id>.alive  worker → client: empty; reply empty (is the client that a node
//	                        keeps data for still there?)
const (
	SubjStatus   = "rain.status"
	SubjDiscover = "rain.discover"
)

// ClientSubject is the subject of a verb (alive) to client id.
func ClientSubject(id, verb string) string { return "rain.client." + id + "." + verb }

// NodeSubject is the subject of a verb (call, batch, cancel, load, ping) to node id.
func NodeSubject(id, verb string) string { return "rain.node." + id + "." + verb }

// Version is the "v" of every message Rain sends. A receiver rejects messages of another
// version with a clear error rather than misreading them.
// Version 2: calls and replies in binary (see call.go). Version 3: calls, batches and their
// answers carry arrays (wasm.Buffer): a receiver of version 2 would misread a batch's.
// Version 4: data kept on the nodes (see data.go): a batch may name parts its calls take, which
// a receiver of version 3 would run without.
// Version 5: a data chunk, and a part on a data link, carry their CRC-32C (see data.go); a
// batch may keep the large arrays its calls changed (BatchHeader.Large), which a receiver of
// version 4 would send back whatever their size.
// Version 6: parts copied through memory, on a data link to a node on the client's machine.
// Version 7: a part is named by its BLAKE3-256 (see data.go), no longer its SHA-256: a receiver
// of version 6 would find no part its clients' names name, or misname the outputs it keeps.
const Version = 7

// Headers of a load message. Op "has" asks whether the node has the module (it answers from
// memory or from its disk cache); op "chunk" carries bytes Offset… of the module, with the
// chunk's own SHA-256, and the last chunk (Offset+len == Size) makes the node instantiate it.
const (
	HdrVersion  = "Rain-V"
	HdrOp       = "Rain-Op"
	HdrSHA      = "Rain-SHA256"
	HdrSize     = "Rain-Size"
	HdrOffset   = "Rain-Offset"
	HdrChunkSHA = "Rain-Chunk-SHA256"
	HdrTransfer = "Rain-Transfer" // chunks of one sending share it: two senders never mix
)

// Status announces a node: sent when it starts, at every heartbeat and on discover.
// A new Incarnation under the same ID means the worker was restarted.
type Status struct {
	V           int      `json:"v"`
	ID          string   `json:"id"`
	Incarnation string   `json:"inc"`
	Host        string   `json:"host"`
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	Cores       int      `json:"cores"`
	Engine      string   `json:"engine"`
	Modules     []string `json:"modules,omitempty"`
	Busy        int      `json:"busy"`
	Done        int      `json:"done"`
	Restarts    int      `json:"restarts"`
	PID         int      `json:"pid,omitempty"`   // the current worker's process ID
	Tiers       []Tier   `json:"tiers,omitempty"` // tier state of each instantiated module
	// BusyNs is the time the node has spent with work since it started (its busy share is how
	// fast it grows), and RSS the resident memory of its supervisor and worker, in bytes (0
	// where the system does not say).
	BusyNs int64 `json:"busy_ns,omitempty"`
	RSS    int64 `json:"rss,omitempty"`
	// Data is the bytes of the parts the node keeps for its clients (see data.go), Parts how
	// many they are, and DataLimit the most it keeps (its memory limit; 0: none).
	Data      int64 `json:"data,omitempty"`
	Parts     int   `json:"parts,omitempty"`
	DataLimit int64 `json:"data_limit,omitempty"`
	// Held are those parts, by hash and size: the MaxHeld largest.
	Held []Held `json:"held,omitempty"`
	// Link is the address of the node's data link (see link.go), "" if it has none, and
	// LinkKey the key a client presents there.
	Link    string `json:"link,omitempty"`
	LinkKey string `json:"link_key,omitempty"`
}

// Held is a part of data a node keeps, as its status names it.
type Held struct {
	Hash   string   `json:"hash"`
	Size   int64    `json:"size"`
	Owners []string `json:"owners,omitempty"` // the clients it is kept for
}

// MaxHeld bounds the parts a status names (Status.Held): its Data and Parts count them all.
const MaxHeld = 64

// DecodeStatus reads a status message of this wire version from a node whose ID is valid.
func DecodeStatus(b []byte) (Status, error) {
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return st, err
	}
	if err := CheckVersion(st.V); err != nil {
		return st, err
	}
	if !ValidNodeID(st.ID) {
		return st, fmt.Errorf("cluster: bad node ID %q", st.ID)
	}
	return st, nil
}

// Tier is a wasm.ModuleTier on the wire: the worker sends its runtime's (FrameTiers) when
// a module is instantiated, when its compiled code is ready and after a call that changed it;
// the supervisor puts the latest in its status.
type Tier struct {
	SHA      string `json:"sha"`
	State    string `json:"state"`
	Tier     string `json:"tier"`
	Cache    bool   `json:"cache,omitempty"`
	Loaded   int64  `json:"loaded"`   // Unix ns, node clock
	Ready    int64  `json:"ready"`    // ns from Loaded
	Compiled int64  `json:"compiled"` // ns from Loaded, 0 before
	Err      string `json:"err,omitempty"`
}

// ToTiers is ts on the wire.
func ToTiers(ts []wasm.ModuleTier) []Tier {
	out := make([]Tier, len(ts))
	for k, t := range ts {
		out[k] = Tier{SHA: t.SHA256, State: t.State, Tier: t.Tier, Cache: t.CacheHit,
			Loaded: t.Loaded.UnixNano(), Ready: int64(t.Ready), Compiled: int64(t.Compiled)}
		if t.Err != nil {
			out[k].Err = t.Err.Error()
		}
	}
	return out
}

// FromTiers is ts off the wire, by SHA-256; nil for none.
func FromTiers(ts []Tier) map[string]wasm.ModuleTier {
	if len(ts) == 0 {
		return nil
	}
	out := make(map[string]wasm.ModuleTier, len(ts))
	for _, t := range ts {
		mt := wasm.ModuleTier{SHA256: t.SHA, State: t.State, Tier: t.Tier, CacheHit: t.Cache,
			Loaded: Time(t.Loaded), Ready: time.Duration(t.Ready), Compiled: time.Duration(t.Compiled)}
		if t.Err != "" {
			mt.Err = errors.New(t.Err)
		}
		out[t.SHA] = mt
	}
	return out
}

// Call is one call; it travels in binary (AppendCall, DecodeCall).
type Call struct {
	V      int
	Task   string
	Module string
	Func   string
	Args   []uint64
	Bufs   []wasm.Buffer // arrays passed by pointer: Arg, Align and Data travel
	Output bool          // stream WASI output back
}

// Reply is a call's answer; it travels in binary (AppendReply, DecodeReply).
type Reply struct {
	V        int
	Task     string
	Values   []uint64
	Bufs     []wasm.Buffer // the buffers the call changed: Arg and Data travel
	Err      *Error
	Started  int64 // Unix nanoseconds, node clock
	Finished int64
	Tier     string // the engine that ran the call
}

// Cancel asks a node to stop a task.
type Cancel struct {
	V    int    `json:"v"`
	Task string `json:"task"`
	// Queued asks the node to drop the task only if it has not started: a task already
	// running is left to finish (a map steals a slow node's queued chunk this way).
	Queued bool `json:"queued,omitempty"`
}

// DecodeCancel reads a cancel message of this wire version.
func DecodeCancel(b []byte) (Cancel, error) {
	var c Cancel
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	return c, CheckVersion(c.V)
}

// CancelReply says whether the task was running: then, unless the cancel was for a queued
// task only, the worker is exiting.
type CancelReply struct {
	V       int  `json:"v"`
	Running bool `json:"running"`
}

// LoadReply is a node's answer to a load message, and a worker's to FrameLoad: whether it has
// the module instantiated.
type LoadReply struct {
	V    int    `json:"v"`
	Have bool   `json:"have"`
	Err  *Error `json:"err,omitempty"`
}

// CheckVersion says whether v is this build's Version.
func CheckVersion(v int) error {
	if v != Version {
		return fmt.Errorf("cluster: wire version %d, this build speaks %d", v, Version)
	}
	return nil
}

// Time is a time sent as Unix nanoseconds; 0 is the zero time.
func Time(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// ValidNodeID reports whether id can be one token of a NATS subject.
func ValidNodeID(id string) bool {
	return id != "" && !strings.ContainsAny(id, ". \t\r\n*>")
}

// Load is what the headers of a load message say (see HdrOp).
type Load struct {
	Op        string // "has" or "chunk"
	SHA       string // the module's SHA-256, in hex
	Size, Off int    // of a chunk: the module's size, and the chunk's offset in it
	Transfer  string // of a chunk: the sending it belongs to
}

// ReadLoad reads and checks the headers of a load message whose body is data; a chunk's
// bytes must fit in the module and match the chunk's SHA-256.
func ReadLoad(h nats.Header, data []byte) (Load, error) {
	if v, _ := strconv.Atoi(h.Get(HdrVersion)); CheckVersion(v) != nil {
		return Load{}, CheckVersion(v)
	}
	l := Load{Op: h.Get(HdrOp), SHA: h.Get(HdrSHA)}
	if !ValidHash(l.SHA) {
		return l, fmt.Errorf("bad module SHA-256 %q", l.SHA)
	}
	switch l.Op {
	case "has":
	case "chunk":
		size, err1 := strconv.Atoi(h.Get(HdrSize))
		off, err2 := strconv.Atoi(h.Get(HdrOffset))
		if err1 != nil || err2 != nil || size <= 0 || size > MaxModule || off < 0 || off > size-len(data) {
			return l, fmt.Errorf("bad chunk: size %q offset %q", h.Get(HdrSize), h.Get(HdrOffset))
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != h.Get(HdrChunkSHA) {
			return l, fmt.Errorf("%w: chunk at %d of module %s", ErrChecksum, off, l.SHA)
		}
		l.Size, l.Off, l.Transfer = size, off, h.Get(HdrTransfer)
	default:
		return l, fmt.Errorf("unknown load op %q", l.Op)
	}
	return l, nil
}

// ValidHash reports whether h can name a module or a part: a hash of 32 bytes in lower-case hex
// (a module's SHA-256, a part's BLAKE3-256).
func ValidHash(h string) bool { return lowerHex(h, 32) }

// lowerHex reports whether s is n bytes in lower-case hex.
func lowerHex(s string, n int) bool {
	return len(s) == 2*n && strings.Trim(s, "0123456789abcdef") == ""
}

// MaxModule is the largest module a node accepts: 1 GiB.
const MaxModule = 1 << 30
