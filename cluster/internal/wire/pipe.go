package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The supervisor and its worker talk over the worker's stdin and stdout in frames: a 4-byte
// big-endian length, then a type byte and the payload. The worker never touches the network.
//
//	supervisor → worker   FrameLoad (SHA-256 of a module in the cache dir),
//	                      FrameCall (a call as the client sent it, see call.go),
//	                      FrameBatch (a batch message as the client sent it, see batch.go),
//	                      FrameBatches (batch messages, each behind its 4-byte length),
//	                      FrameData (a part of data the node keeps, see data.go: its hash
//	                      in hex, then its bytes; no answer), FrameFree (a part's hash:
//	                      drop it; no answer)
//	worker → supervisor   FrameHello (the wire version, first), FrameLoaded (LoadReply),
//	                      FrameStdout, FrameStderr (raw WASI output, one frame per write),
//	                      FrameResult (a call's reply, sent on as is),
//	                      FrameBatchResult (a batch answer, sent on as is),
//	                      FrameBatchResults (the answers to a FrameBatches, each behind its length),
//	                      FrameTiers (the tier state of every module, []Tier, at any time:
//	                      the supervisor's frame reader takes it aside)
const (
	FrameHello  byte = 'H'
	FrameLoad   byte = 'L'
	FrameCall   byte = 'C'
	FrameLoaded byte = 'l'
	FrameStdout byte = 'o'
	FrameStderr byte = 'e'
	FrameResult byte = 'r'

	FrameBatch       byte = 'B'
	FrameBatchResult byte = 'b'

	FrameBatches      byte = 'G'
	FrameBatchResults byte = 'g'

	FrameTiers byte = 't'

	FrameData byte = 'D'
	FrameFree byte = 'F'
)

// ErrBadFrame is a frame that cannot be: the other side does not speak this protocol.
var ErrBadFrame = errors.New("cluster: bad frame")

// maxFrame bounds a frame so that a corrupt length cannot make a reader allocate gigabytes. It
// holds the largest message a hub carries (64 MiB, with arrays in it) and the frame's own bytes.
const maxFrame = 65 << 20

// MaxDataFrame bounds the frames of a supervisor and its worker once they know each other (the
// worker said hello): a part the node keeps (MaxPart, FrameData), and the answer to a batch
// that left an output as large.
const MaxDataFrame = maxFrame + MaxPart

// FrameWriter writes frames to an io.Writer, one at a time: it may be shared.
type FrameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // a small frame is copied here and written in one system call
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// smallFrame is the largest payload that FrameWriter copies to write its frame in one go.
const smallFrame = 64 << 10

// Write writes a frame of type typ.
func (f *FrameWriter) Write(typ byte, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(payload)+1))
	hdr[4] = typ
	if len(payload) <= smallFrame {
		f.buf = append(append(f.buf[:0], hdr[:]...), payload...)
		_, err := f.w.Write(f.buf)
		return err
	}
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := f.w.Write(payload)
	return err
}

// WritePieces writes a frame of type typ whose payload is the pieces, one after another: a
// large piece is written from where it is, not copied.
func (f *FrameWriter) WritePieces(typ byte, pieces [][]byte) error {
	n := 0
	for _, p := range pieces {
		n += len(p)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = binary.BigEndian.AppendUint32(f.buf[:0], uint32(n+1))
	f.buf = append(f.buf, typ)
	for _, p := range pieces {
		if len(p) <= smallFrame {
			f.buf = append(f.buf, p...)
			continue
		}
		if _, err := f.w.Write(f.buf); err != nil {
			return err
		}
		f.buf = f.buf[:0]
		if _, err := f.w.Write(p); err != nil {
			return err
		}
	}
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.w.Write(f.buf)
	return err
}

// ReadFrame reads a frame: its type and payload.
func ReadFrame(r io.Reader) (byte, []byte, error) { return ReadFrameUpTo(r, maxFrame) }

// ReadFrameUpTo reads a frame of at most limit bytes (MaxDataFrame at most): a longer one is
// ErrBadFrame.
func ReadFrameUpTo(r io.Reader, limit uint32) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > min(limit, MaxDataFrame) {
		return 0, nil, fmt.Errorf("%w: length %d", ErrBadFrame, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// FrameOutput is an io.Writer that sends each write as one frame of type Type (1 MiB at most
// a frame).
type FrameOutput struct {
	FW   *FrameWriter
	Type byte
}

func (o FrameOutput) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), 1<<20)
		if err := o.FW.Write(o.Type, p[:n]); err != nil {
			return 0, err
		}
		p = p[n:]
	}
	return total, nil
}

// AppendGroup appends a message to a group frame (FrameBatches or FrameBatchResults): its
// 4-byte big-endian length, then its bytes.
func AppendGroup(frame, msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32(frame, uint32(len(msg))), msg...)
}

// CutGroup cuts the first message off a group frame, if the frame holds one whole.
func CutGroup(frame []byte) (msg, rest []byte, ok bool) {
	if len(frame) < 4 {
		return nil, frame, false
	}
	l := binary.BigEndian.Uint32(frame)
	if uint64(l) > uint64(len(frame)-4) {
		return nil, frame, false
	}
	return frame[4 : 4+l], frame[4+l:], true
}
