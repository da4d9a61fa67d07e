package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// A call and its reply travel in binary, like a batch's values (see batch.go): for a tiny call,
// encoding and decoding JSON four times (client, supervisor, worker, client) costs more than
// running it. The supervisor forwards both unchanged.
//
//	call:  version byte, flags byte (callOutput), task, module and func (each a uvarint length
//	       and its bytes), a uvarint count of arguments, each 8 bytes little-endian
//	reply: version byte, flags byte (replyFailed), task, started and finished (Unix ns, node
//	       clock, 8 bytes little-endian each), tier (uvarint length and bytes), a uvarint count
//	       of values, each 8 bytes little-endian, then, if the call failed, the Error in JSON
const (
	callOutput  = 1 << 0 // stream WASI output back
	replyFailed = 1 << 0 // an Error follows the values
)

// ErrShortMessage is a call or reply cut short, or with more bytes than it says.
var ErrShortMessage = errors.New("cluster: malformed call message")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendValues(b []byte, vs []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// AppendCall appends the encoding of c to b.
func AppendCall(b []byte, c *Call) []byte {
	var flags byte
	if c.Output {
		flags |= callOutput
	}
	b = append(b, byte(Version), flags)
	b = appendString(b, c.Task)
	b = appendString(b, c.Module)
	b = appendString(b, c.Func)
	return appendValues(b, c.Args)
}

// AppendReply appends the encoding of r to b.
func AppendReply(b []byte, r *Reply) []byte {
	var flags byte
	if r.Err != nil {
		flags |= replyFailed
	}
	b = append(b, byte(Version), flags)
	b = appendString(b, r.Task)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Started))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Finished))
	b = appendString(b, r.Tier)
	b = appendValues(b, r.Values)
	if r.Err != nil {
		e, _ := json.Marshal(r.Err)
		b = append(b, e...)
	}
	return b
}

// callReader reads the fields of a call or a reply in order; the first failure sticks.
type callReader struct {
	b   []byte
	err error
}

func (r *callReader) fail() {
	if r.err == nil {
		r.err = ErrShortMessage
	}
	r.b = nil
}

func (r *callReader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *callReader) length(size int) int {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k)/uint64(size) {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func (r *callReader) string() string {
	n := r.length(1)
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *callReader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *callReader) values() []uint64 {
	n := r.length(8)
	if n == 0 {
		return nil
	}
	vs := make([]uint64, n)
	for k := range vs {
		vs[k] = binary.LittleEndian.Uint64(r.b[8*k:])
	}
	r.b = r.b[8*n:]
	return vs
}

// version reads the version byte: a message of another version is not read further.
func (r *callReader) version() error {
	v := r.byte()
	if r.err != nil {
		return r.err
	}
	if err := CheckVersion(int(v)); err != nil {
		r.err, r.b = err, nil
	}
	return r.err
}

// DecodeCall reads a call from b into c; on an error c.Task is set if it could be read.
func DecodeCall(b []byte, c *Call) error {
	r := callReader{b: b}
	if err := r.version(); err != nil {
		return err
	}
	c.V = Version
	flags := r.byte()
	c.Task = r.string()
	c.Module = r.string()
	c.Func = r.string()
	c.Args = r.values()
	c.Output = flags&callOutput != 0
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrShortMessage
	}
	return r.err
}

// DecodeReply reads a reply from b into rep.
func DecodeReply(b []byte, rep *Reply) error {
	r := callReader{b: b}
	if err := r.version(); err != nil {
		return err
	}
	rep.V = Version
	flags := r.byte()
	rep.Task = r.string()
	rep.Started = int64(r.uint64())
	rep.Finished = int64(r.uint64())
	rep.Tier = r.string()
	rep.Values = r.values()
	if r.err != nil {
		return r.err
	}
	if flags&replyFailed != 0 {
		rep.Err = new(Error)
		if err := json.Unmarshal(r.b, rep.Err); err != nil {
			return fmt.Errorf("cluster: bad reply error: %w", err)
		}
	} else if len(r.b) > 0 {
		return ErrShortMessage
	}
	return nil
}
