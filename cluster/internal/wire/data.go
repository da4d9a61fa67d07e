package wire

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/zeebo/blake3"
)

// Data kept on the nodes: the parts of an array a client scattered, and the outputs a map left
// where they were computed. A part is addressed by the hash of its bytes (PartHash), as a module
// is by its SHA-256: BLAKE3-256, which runs 1.7 times as fast as SHA-256 (with SHA-NI) on each
// core of the machine Rain is measured on, and is as hard to forge. Its bytes travel over the
// node's data link (see link.go), straight between client and node; the client asks whether
// the node holds a part ("has", below) and frees it through the hub. To and from a node with no
// data link, the bytes travel as a module's do: in chunks on the node's "data" subject, with
// the headers of a load (HdrOp, HdrSize, HdrOffset, HdrTransfer), the part's hash in HdrHash
// and the client's ID (HdrClient), each chunk a request answered by a LoadReply.
//
// A part's bytes carry their CRC-32C (Castagnoli, see CRC): each data chunk in HdrCRC, a part on
// the data link after its bytes. The node checks it as they arrive and refuses a part damaged on
// the way (ErrChecksum): the client sends it again. The part's hash, its name, the node checks
// only when another client asks for the part (a "has", a get or a batch of a client that does
// not hold it yet), once: no client gets bytes another named wrongly. Hashing every part as it
// came would cost the node as much CPU as receiving it (on the 2-core machine Rain is measured
// on, BLAKE3 runs at 3.2 GB/s a core, CRC-32C at 5–7).
//
//	op "has"    does the node hold the part? If it does, it holds it for this client too.
//	op "chunk"  bytes Offset… of a part of Size bytes; the first makes room for the whole part
//	            under the node's memory limit, or fails with ErrDataLimit; a chunk whose CRC-32C
//	            (HdrCRC) does not match fails with ErrChecksum, and the part with it; the last
//	            one makes the node keep the part.
//	op "get"    the bytes Offset…Offset+Length of a part: the answer is the bytes, or, with the
//	            header HdrError, none and the Error in JSON in that header.
//	op "free"   the client no longer needs the part: the node drops it once no client does.
//
// A batch names the parts its calls take (BatchHeader.Data), so no byte of a part crosses the
// hub for a call: the node's supervisor hands its worker each part once (FrameData), and the
// worker passes it to the calls that name it as if the client had sent it, read-only. With
// BatchHeader.Keep, the supervisor keeps the array a call left in argument Keep as a part of its
// own, and answers its hash and size (BatchReplyHeader.Kept) instead of its bytes.
const (
	HdrClient = "Rain-Client" // the client a part is kept for
	HdrLength = "Rain-Length" // of a get: how many bytes
	HdrError  = "Rain-Error"  // of the answer to a get that failed: the Error, in JSON
	HdrCRC    = "Rain-CRC32C" // of a chunk: its bytes' CRC-32C, in decimal
)

// castagnoli is the table of CRC-32C: read only.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC is crc updated with the CRC-32C of b: CRC(0, b) is b's.
func CRC(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }

// MaxPart is the largest part a node keeps: 2 GiB. A call copies a part into a Wasm instance's
// memory, whose 32-bit addresses reach 4 GiB, beside the module's own data.
const MaxPart = 1 << 31

var (
	// ErrNoData is a call or a get of a part the node does not hold: it restarted, or the
	// part was freed.
	ErrNoData = errors.New("cluster: the node does not hold the data")

	// ErrDataLimit is a part the node cannot keep: its data would pass its memory limit.
	ErrDataLimit = errors.New("cluster: the node's data would pass its memory limit")
)

// DataOp is what the headers of a data message say (see ReadData).
type DataOp struct {
	Op        string // "has", "chunk", "get" or "free"
	Hash      string // the part's hash, in hex
	Client    string // the client it is kept for
	Size, Off int    // of a chunk: the part's size, and the chunk's offset in it; of a get, the offset
	Length    int    // of a get
	Transfer  string // of a chunk: the sending it belongs to
	CRC       uint32 // of a chunk: its bytes' CRC-32C, checked by ReadData
}

// HdrHash is the header of a data message that names its part: the part's hash, in hex.
const HdrHash = "Rain-Hash"

// PartHash is the name of a part whose bytes are b, one piece after another: their BLAKE3-256,
// in lower-case hex.
func PartHash(b ...[]byte) string {
	if len(b) == 1 {
		sum := blake3.Sum256(b[0])
		return hex.EncodeToString(sum[:])
	}
	h := NewPartHasher()
	for _, p := range b {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewPartHasher hashes a part written to it piece by piece: the hex of its Sum is the part's
// name (see PartHash).
func NewPartHasher() hash.Hash { return blake3.New() }

// ReadData reads and checks the headers of a data message whose body is data.
func ReadData(h nats.Header, data []byte) (DataOp, error) {
	if v, _ := strconv.Atoi(h.Get(HdrVersion)); CheckVersion(v) != nil {
		return DataOp{}, CheckVersion(v)
	}
	d := DataOp{Op: h.Get(HdrOp), Hash: h.Get(HdrHash), Client: h.Get(HdrClient)}
	if !ValidHash(d.Hash) {
		return d, fmt.Errorf("bad part hash %q", d.Hash)
	}
	if d.Client == "" || len(d.Client) > 64 {
		return d, fmt.Errorf("bad data client %q", d.Client)
	}
	switch d.Op {
	case "has", "free":
	case "chunk":
		size, err1 := strconv.Atoi(h.Get(HdrSize))
		off, err2 := strconv.Atoi(h.Get(HdrOffset))
		if err1 != nil || err2 != nil || size <= 0 || size > MaxPart || off < 0 || off > size-len(data) || len(data) == 0 {
			return d, fmt.Errorf("bad chunk: size %q offset %q", h.Get(HdrSize), h.Get(HdrOffset))
		}
		d.Size, d.Off, d.Transfer = size, off, h.Get(HdrTransfer)
		crc, err := strconv.ParseUint(h.Get(HdrCRC), 10, 32)
		if err != nil {
			return d, fmt.Errorf("bad chunk: CRC-32C %q", h.Get(HdrCRC))
		}
		if d.CRC = uint32(crc); CRC(0, data) != d.CRC {
			return d, fmt.Errorf("%w: chunk at %d of part %s", ErrChecksum, off, d.Hash)
		}
	case "get":
		off, err1 := strconv.Atoi(h.Get(HdrOffset))
		n, err2 := strconv.Atoi(h.Get(HdrLength))
		if err1 != nil || err2 != nil || off < 0 || off > MaxPart || n <= 0 || n > MaxPart {
			return d, fmt.Errorf("bad get: offset %q length %q", h.Get(HdrOffset), h.Get(HdrLength))
		}
		d.Off, d.Length = off, n
	default:
		return d, fmt.Errorf("unknown data op %q", d.Op)
	}
	return d, nil
}

// DataRef gives call I of a batch an array the node has (see BatchHeader.Data) as its argument
// Arg: the part SHA, or, with SHA empty, Zeros bytes of zeros (an output the node makes, so
// that its zeros do not travel). A part is passed read-only, unless Write: the call then gets a
// copy, and what it leaves there comes back as an array it changed.
type DataRef struct {
	I     int    `json:"i"`
	Arg   int    `json:"arg"`
	Align int    `json:"align,omitempty"`
	Hash  string `json:"hash,omitempty"`
	Zeros int    `json:"zeros,omitempty"`
	Write bool   `json:"write,omitempty"`
}

// Kept is a part a node kept from call I of a batch: its output of argument Keep (see
// BatchHeader.Keep), or an array of argument Arg it changed, too large to send back (see
// BatchHeader.Large).
type Kept struct {
	I    int    `json:"i"`
	Arg  int    `json:"arg,omitempty"`
	Hash string `json:"hash"`
	Size int    `json:"size"`
}

// CheckRefs checks a batch's data references against its calls and arity.
func CheckRefs(h BatchHeader) error {
	for _, r := range h.Data {
		switch {
		case r.I < 0 || r.I >= h.N || r.Arg < 0 || r.Arg >= h.Arity || r.Align < 0 || r.Align > MaxAlign:
			return fmt.Errorf("cluster: batch of %d calls × %d arguments: bad data reference %+v", h.N, h.Arity, r)
		case r.Hash != "" && !ValidHash(r.Hash), r.Hash == "" && (r.Zeros < 0 || r.Zeros > MaxPart):
			return fmt.Errorf("cluster: bad data reference %+v", r)
		}
	}
	if h.Keep != nil && (*h.Keep < 0 || *h.Keep >= h.Arity) {
		return fmt.Errorf("cluster: batch of %d arguments keeps argument %d", h.Arity, *h.Keep)
	}
	if h.Large < 0 || h.Large > 0 && h.Keep != nil {
		return fmt.Errorf("cluster: batch keeps arrays over %d bytes, and argument %v", h.Large, h.Keep)
	}
	return nil
}

// GetFailure is the answer to a get that failed.
func GetFailure(err error) *nats.Msg {
	e, _ := json.Marshal(EncodeError(err))
	m := nats.NewMsg("")
	m.Header.Set(HdrError, string(e))
	return m
}

// ReadGet reads the answer to a get, body and headers: the bytes, or the node's error.
func ReadGet(body []byte, h nats.Header) ([]byte, error) {
	e := h.Get(HdrError)
	if e == "" {
		return body, nil
	}
	var w Error
	if err := json.Unmarshal([]byte(e), &w); err != nil {
		return nil, fmt.Errorf("cluster: bad answer to a get: %w", err)
	}
	return nil, DecodeError(&w)
}
