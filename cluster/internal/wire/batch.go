package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rain-wasm/rain/wasm"
)

// MaxBatchBytes bounds the arguments (and so, for small results, the answer) of one batch
// message; larger batches are split into several messages to the same node.
const MaxBatchBytes = 1 << 20

// MaxBatchItems bounds the calls of one message whatever their arity.
const MaxBatchItems = 1 << 16

// The batch path encodes its messages as a 4-byte big-endian length, a small JSON header, then
// the values in binary (little-endian uint64s), which costs far less than JSON arrays. The node
// forwards the request to its worker unchanged, in one frame, and the worker's answer to the
// client unchanged, in one message.
//
//	request body: N×Arity argument values, then, if the header's Bufs is set, the buffers of
//	              each call in turn as a call carries them (see appendBuffers): a count, 0 for a
//	              call without, then each buffer's argument, alignment, length and bytes
//	answer body:  N finish times (int64 Unix ns, node clock), then N×Results values
//	              (zeros for a call that failed), then, if the header's Bufs is set, the
//	              buffers each call changed, in turn, as a reply carries them (see
//	              appendChanged): a count, 0 for none, then each one's argument, length and bytes
//
// A batch without arrays has no buffers section, and its header no "bufs": it costs what it did
// before arrays.

// BatchHeader heads a batch request.
type BatchHeader struct {
	V      int    `json:"v"`
	Task   string `json:"task"`
	Module string `json:"module"`
	Func   string `json:"func"`
	N      int    `json:"n"`
	Arity  int    `json:"arity"`
	// Solo asks the node to run the message in a frame of its own, never in a group (see the
	// node's gather): a group runs as one, so none of its messages can be stolen while it
	// runs. A map sets it for chunks of more than a little work.
	Solo bool `json:"solo,omitempty"`
	// Bufs says the calls' buffers follow their arguments (see PackBatchRequest).
	Bufs bool `json:"bufs,omitempty"`
	// Data gives calls arrays the node has: parts it keeps, or zeros it makes (see data.go).
	Data []DataRef `json:"data,omitempty"`
	// Keep, if set, asks the node to keep the array each call left in this argument as a part
	// (see data.go), and to answer its hash instead of its bytes.
	Keep *int `json:"keep,omitempty"`
	// Output asks the node to stream the calls' WASI output back, as a Call's (Call.Output):
	// the worker then runs the calls one after another as it runs a Call, not in one go.
	Output bool `json:"output,omitempty"`
	// Large, if not 0, asks the node to keep each array a call changed that is larger than
	// Large bytes as a part, and to answer its hash (BatchReplyHeader.Large) instead of its
	// bytes: a call whose arrays are too large for the hub's max payload, which go to the node as
	// parts (Data, with Write) and come back from it as parts. Not with Keep.
	Large int `json:"large,omitempty"`
	// Client is the client that sent the batch: the node keeps the parts of Keep and Large for
	// it, and gives it the parts of Data it holds for it, or that it has checked (see data.go).
	Client string `json:"client,omitempty"`
}

// BatchReplyHeader heads a batch answer.
type BatchReplyHeader struct {
	V        int          `json:"v"`
	Task     string       `json:"task"`
	N        int          `json:"n"`
	Results  int          `json:"results"`
	Started  int64        `json:"started"` // worker took the message, Unix ns, node clock
	Finished int64        `json:"finished"`
	Tier     string       `json:"tier,omitempty"`  // the engine that ran every call of the message
	Errs     []BatchError `json:"errs,omitempty"`  // calls that failed, by index
	Err      *Error       `json:"err,omitempty"`   // the whole message failed: no body
	Bufs     bool         `json:"bufs,omitempty"`  // the buffers calls changed follow the values
	Kept     []Kept       `json:"kept,omitempty"`  // the parts the node kept (BatchHeader.Keep)
	Large    []Kept       `json:"large,omitempty"` // the arrays it kept (BatchHeader.Large)
}

// BatchError is the failure of call I of a batch.
type BatchError struct {
	I   int    `json:"i"`
	Err *Error `json:"err"`
}

// PackBatch lays out a header and a body of n uint64s, leaving the body for the caller to fill.
func PackBatch(hdr any, body int) ([]byte, []byte) {
	h, _ := json.Marshal(hdr)
	buf := make([]byte, 4+len(h)+8*body)
	binary.BigEndian.PutUint32(buf, uint32(len(h)))
	copy(buf[4:], h)
	return buf, buf[4+len(h):]
}

// PackBatchRequest lays out a batch request of h.N calls of h.Arity arguments with the calls'
// buffers (bufs[i] are call i's; bufs nil or all empty for none, which is PackBatch's layout),
// and returns the message and its h.N×h.Arity values for the caller to fill.
func PackBatchRequest(h BatchHeader, bufs [][]wasm.Buffer) (msg, values []byte) {
	h.Bufs = false
	for _, b := range bufs {
		if len(b) > 0 {
			h.Bufs = true
			break
		}
	}
	if !h.Bufs {
		return PackBatch(h, h.N*h.Arity)
	}
	size := 0
	for _, b := range bufs {
		size += BuffersSize(b)
	}
	hdr, _ := json.Marshal(h)
	n := 4 + len(hdr) + 8*h.N*h.Arity
	msg = make([]byte, n, n+size)
	binary.BigEndian.PutUint32(msg, uint32(len(hdr)))
	copy(msg[4:], hdr)
	for i := range h.N {
		var b []wasm.Buffer
		if i < len(bufs) {
			b = bufs[i]
		}
		if len(b) == 0 {
			msg = append(msg, 0)
		} else {
			msg = appendBuffers(msg, b)
		}
	}
	return msg, msg[4+len(hdr) : n]
}

// UnpackBatch reads a message's header into hdr and returns its body.
func UnpackBatch(msg []byte, hdr any) ([]byte, error) {
	if len(msg) < 4 {
		return nil, errors.New("cluster: short batch message")
	}
	n := binary.BigEndian.Uint32(msg)
	if uint64(n) > uint64(len(msg)-4) {
		return nil, errors.New("cluster: bad batch header length")
	}
	if err := json.Unmarshal(msg[4:4+n], hdr); err != nil {
		return nil, fmt.Errorf("cluster: bad batch header: %w", err)
	}
	return msg[4+n:], nil
}

// ReadBatch reads a batch request: its header, checked against this wire version and the
// bounds of a batch, its N×Arity argument values and, if the header's Bufs is set, each call's
// buffers (bufs[i] are call i's; their bytes are those of msg).
func ReadBatch(msg []byte) (h BatchHeader, args []byte, bufs [][]wasm.Buffer, err error) {
	body, err := UnpackBatch(msg, &h)
	if err == nil {
		err = CheckVersion(h.V)
	}
	if err != nil {
		return h, nil, nil, err
	}
	size, ok := valuesSize(body, h.N, h.Arity, h.Bufs)
	if h.N < 0 || h.N > MaxBatchItems || !ok {
		return h, nil, nil, fmt.Errorf("cluster: batch of %d calls × %d arguments in %d bytes", h.N, h.Arity, len(body))
	}
	args = body[:size]
	if h.Bufs {
		r := callReader{b: body[size:]}
		if len(r.b) < h.N { // each call takes a byte at least
			return h, nil, nil, fmt.Errorf("cluster: batch of %d calls: bad buffers", h.N)
		}
		bufs = make([][]wasm.Buffer, h.N)
		for i := range bufs {
			if len(r.b) > 0 && r.b[0] == 0 {
				r.b = r.b[1:] // a call without buffers
				continue
			}
			bufs[i] = r.buffers(h.Arity)
		}
		if r.err == nil && len(r.b) > 0 {
			r.err = ErrShortMessage
		}
		if r.err != nil {
			return h, nil, nil, fmt.Errorf("cluster: batch of %d calls: bad buffers", h.N)
		}
	}
	return h, args, bufs, nil
}

// valuesSize is the size of n×m values of 8 bytes at the start of body, counted without
// overflow, and whether body holds them: exactly, or followed by more bytes when more is set.
func valuesSize(body []byte, n, m int, more bool) (int, bool) {
	if n < 0 || m < 0 {
		return 0, false
	}
	if n == 0 || m == 0 {
		return 0, more || len(body) == 0
	}
	if m > len(body)/8/n {
		return 0, false
	}
	size := 8 * n * m
	return size, more || size == len(body)
}

// BatchFailure is the answer of a message that failed as a whole.
func BatchFailure(task string, err error) []byte {
	b, _ := PackBatch(BatchReplyHeader{V: Version, Task: task, Err: EncodeError(err)}, 0)
	return b
}

// PackBatchAnswer is the answer to a batch whose calls finished at finished (Unix ns, node
// clock) with values, h.Results a call (zeros for a call that failed), and changed the buffers
// changed[i] (nil for no buffers at all, or none changed).
func PackBatchAnswer(h BatchReplyHeader, finished []int64, values []uint64, changed [][]wasm.Buffer) []byte {
	h.Bufs = false
	size := 0
	for _, b := range changed {
		if len(b) > 0 {
			h.Bufs = true
			size += BuffersSize(b)
		}
	}
	var buf, body []byte
	if h.Bufs {
		hdr, _ := json.Marshal(h)
		n := 4 + len(hdr) + 8*(len(finished)+len(values))
		buf = make([]byte, n, n+len(finished)+size)
		binary.BigEndian.PutUint32(buf, uint32(len(hdr)))
		copy(buf[4:], hdr)
		body = buf[4+len(hdr):]
	} else {
		buf, body = PackBatch(h, len(finished)+len(values))
	}
	for i, t := range finished {
		binary.LittleEndian.PutUint64(body[8*i:], uint64(t))
	}
	body = body[8*len(finished):]
	for k, v := range values {
		binary.LittleEndian.PutUint64(body[8*k:], v)
	}
	if h.Bufs {
		for i := range finished {
			var b []wasm.Buffer
			if i < len(changed) {
				b = changed[i]
			}
			if len(b) == 0 {
				buf = append(buf, 0)
			} else {
				buf = appendChanged(buf, b)
			}
		}
	}
	return buf
}

// BatchAnswer is the answer to a batch message, as ReadBatchAnswer reads it.
type BatchAnswer struct {
	BatchReplyHeader
	body []byte
	bufs [][]wasm.Buffer // the buffers each call changed, when the header's Bufs is set
}

// ReadBatchAnswer reads the answer to a batch message of n calls, checked against this wire
// version and n. A message that failed as a whole gives the node's error (see DecodeError).
func ReadBatchAnswer(msg []byte, n int) (BatchAnswer, error) {
	var a BatchAnswer
	body, err := UnpackBatch(msg, &a.BatchReplyHeader)
	if err != nil {
		return a, err
	}
	if err := CheckVersion(a.V); err != nil {
		return a, err
	}
	if a.Err != nil {
		return a, DecodeError(a.Err)
	}
	size, ok := valuesSize(body, n, 1+a.Results, a.Bufs)
	if a.N != n || a.Results < 0 || !ok {
		return a, fmt.Errorf("cluster: batch answer of %d calls × %d results in %d bytes, want %d calls", a.N, a.Results, len(body), n)
	}
	a.body = body[:size]
	if a.Bufs {
		r := callReader{b: body[size:]}
		if len(r.b) < n { // each call takes a byte at least
			return a, fmt.Errorf("cluster: batch answer of %d calls: bad buffers", n)
		}
		a.bufs = make([][]wasm.Buffer, n)
		for i := range a.bufs {
			if len(r.b) > 0 && r.b[0] == 0 {
				r.b = r.b[1:] // a call that changed no buffer
				continue
			}
			a.bufs[i] = r.changed()
		}
		if r.err == nil && len(r.b) > 0 {
			r.err = ErrShortMessage
		}
		if r.err != nil {
			return a, fmt.Errorf("cluster: batch answer of %d calls: bad buffers", n)
		}
	}
	return a, nil
}

// Buffers are the buffers call i changed, with the bytes it left in them (those of the
// message): nil for none.
func (a BatchAnswer) Buffers(i int) []wasm.Buffer {
	if a.bufs == nil {
		return nil
	}
	return a.bufs[i]
}

// Values are the results of every call, Results a call, in call order.
func (a BatchAnswer) Values() []uint64 {
	vals := make([]uint64, a.N*a.Results)
	for k := range vals {
		vals[k] = binary.LittleEndian.Uint64(a.body[8*(a.N+k):])
	}
	return vals
}

// Finished is when call i finished (Unix ns, node clock). It started when call i-1 finished,
// the first call at Started.
func (a BatchAnswer) Finished(i int) int64 { return int64(binary.LittleEndian.Uint64(a.body[8*i:])) }

// Names says whether the batch names data the node keeps, or asks it to keep some: its
// supervisor then runs it (see the node's data.go).
func (h BatchHeader) Names() bool { return len(h.Data) > 0 || h.Keep != nil || h.Large > 0 }
