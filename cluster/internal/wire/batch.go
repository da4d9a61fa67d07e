package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
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
//	request body: N×Arity argument values
//	answer body:  N finish times (int64 Unix ns, node clock), then N×Results values
//	              (zeros for a call that failed)

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
}

// BatchReplyHeader heads a batch answer.
type BatchReplyHeader struct {
	V        int          `json:"v"`
	Task     string       `json:"task"`
	N        int          `json:"n"`
	Results  int          `json:"results"`
	Started  int64        `json:"started"` // worker took the message, Unix ns, node clock
	Finished int64        `json:"finished"`
	Tier     string       `json:"tier,omitempty"` // the engine that ran every call of the message
	Errs     []BatchError `json:"errs,omitempty"` // calls that failed, by index
	Err      *Error       `json:"err,omitempty"`  // the whole message failed: no body
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
// bounds of a batch, and its N×Arity argument values.
func ReadBatch(msg []byte) (BatchHeader, []byte, error) {
	var h BatchHeader
	args, err := UnpackBatch(msg, &h)
	if err == nil {
		err = CheckVersion(h.V)
	}
	if err == nil && (h.N < 0 || h.N > MaxBatchItems || !holds(args, h.N, h.Arity)) {
		err = fmt.Errorf("cluster: batch of %d calls × %d arguments in %d bytes", h.N, h.Arity, len(args))
	}
	return h, args, err
}

// holds reports whether body is exactly n×m values of 8 bytes, counting without overflow.
func holds(body []byte, n, m int) bool {
	if n < 0 || m < 0 {
		return false
	}
	if n == 0 || m == 0 {
		return len(body) == 0
	}
	vals := len(body) / 8
	return len(body)%8 == 0 && vals%n == 0 && vals/n == m
}

// BatchFailure is the answer of a message that failed as a whole.
func BatchFailure(task string, err error) []byte {
	b, _ := PackBatch(BatchReplyHeader{V: Version, Task: task, Err: EncodeError(err)}, 0)
	return b
}

// PackBatchAnswer is the answer to a batch whose calls finished at finished (Unix ns, node
// clock) with values, h.Results a call (zeros for a call that failed).
func PackBatchAnswer(h BatchReplyHeader, finished []int64, values []uint64) []byte {
	buf, body := PackBatch(h, len(finished)+len(values))
	for i, t := range finished {
		binary.LittleEndian.PutUint64(body[8*i:], uint64(t))
	}
	body = body[8*len(finished):]
	for k, v := range values {
		binary.LittleEndian.PutUint64(body[8*k:], v)
	}
	return buf
}

// BatchAnswer is the answer to a batch message, as ReadBatchAnswer reads it.
type BatchAnswer struct {
	BatchReplyHeader
	body []byte
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
	if a.N != n || a.Results < 0 || !holds(body, n, 1+a.Results) {
		return a, fmt.Errorf("cluster: batch answer of %d calls × %d results in %d bytes, want %d calls", a.N, a.Results, len(body), n)
	}
	a.body = body
	return a, nil
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
