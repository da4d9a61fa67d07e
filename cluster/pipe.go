package cluster

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
//	supervisor → worker   frameLoad (SHA-256 of a module in the cache dir),
//	                      frameCall (a call as the client sent it, see callwire.go),
//	                      frameBatch (a batch message as the client sent it, see batch.go),
//	                      frameBatches (batch messages, each behind its 4-byte length)
//	worker → supervisor   frameHello (the wire version, first), frameLoaded (loadReply),
//	                      frameStdout, frameStderr (raw WASI output, one frame per write),
//	                      frameResult (a call's reply, sent on as is),
//	                      frameBatchResult (a batch answer, sent on as is),
//	                      frameBatchResults (the answers to a frameBatches, each behind its length),
//	                      frameTiers (the tier state of every module, []tierMsg, at any time:
//	                      the supervisor's frame reader takes it aside)
const (
	frameHello  byte = 'H'
	frameLoad   byte = 'L'
	frameCall   byte = 'C'
	frameLoaded byte = 'l'
	frameStdout byte = 'o'
	frameStderr byte = 'e'
	frameResult byte = 'r'

	frameBatch       byte = 'B'
	frameBatchResult byte = 'b'

	frameBatches      byte = 'G'
	frameBatchResults byte = 'g'

	frameTiers byte = 't'
)

// errBadFrame is a frame that cannot be: the other side does not speak this protocol.
var errBadFrame = errors.New("cluster: bad frame")

// maxFrame bounds a frame so that a corrupt length cannot make a reader allocate gigabytes.
const maxFrame = 64 << 20

type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // a small frame is copied here and written in one system call
}

// smallFrame is the largest payload that frameWriter copies to write its frame in one go.
const smallFrame = 64 << 10

func (f *frameWriter) write(typ byte, payload []byte) error {
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

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("%w: length %d", errBadFrame, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// frameOutput is an io.Writer that sends each write as one frame of type typ.
type frameOutput struct {
	fw  *frameWriter
	typ byte
}

func (o frameOutput) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), 1<<20)
		if err := o.fw.write(o.typ, p[:n]); err != nil {
			return 0, err
		}
		p = p[n:]
	}
	return total, nil
}
