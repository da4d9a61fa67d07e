package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rain-wasm/rain/wasm"
)

// A call and its reply travel in binary, like a batch's values (see batch.go): for a tiny call,
// encoding and decoding JSON four times (client, supervisor, worker, client) costs more than
// running it. The supervisor forwards both unchanged.
//
//	call:  version byte, flags byte (callOutput, callBuffers), task, module and func (each a
//	       uvarint length and its bytes), a uvarint count of arguments, each 8 bytes
//	       little-endian, then, with callBuffers, the buffers (see appendBuffers)
//	reply: version byte, flags byte (replyFailed, replyBuffers), task, started and finished
//	       (Unix ns, node clock, 8 bytes little-endian each), tier (uvarint length and bytes), a
//	       uvarint count of values, each 8 bytes little-endian, then, with replyBuffers, the
//	       buffers the call changed (see appendChanged), then, if the call failed, the Error in
//	       JSON
//
// A call without arrays has no buffers section: it costs what it did before arrays.
const (
	callOutput   = 1 << 0 // stream WASI output back
	callBuffers  = 1 << 1 // buffers follow the arguments
	replyFailed  = 1 << 0 // an Error follows the values
	replyBuffers = 1 << 1 // changed buffers follow the values
)

// MaxAlign is the largest alignment a buffer may ask for (wasm.Buffer.Align): 64 KiB.
const MaxAlign = wasm.PageSize

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

// appendBuffers appends a call's buffers: a uvarint count, then for each its argument, its
// alignment and its length as uvarints, and its bytes.
func appendBuffers(b []byte, bufs []wasm.Buffer) []byte {
	b = binary.AppendUvarint(b, uint64(len(bufs)))
	for _, buf := range bufs {
		b = binary.AppendUvarint(b, uint64(buf.Arg))
		b = binary.AppendUvarint(b, uint64(buf.Align))
		b = appendBytes(b, buf.Data)
	}
	return b
}

// appendChanged appends the buffers a call changed: a uvarint count, then for each its
// argument and its length as uvarints, and its bytes.
func appendChanged(b []byte, bufs []wasm.Buffer) []byte {
	b = binary.AppendUvarint(b, uint64(len(bufs)))
	for _, buf := range bufs {
		b = binary.AppendUvarint(b, uint64(buf.Arg))
		b = appendBytes(b, buf.Data)
	}
	return b
}

func appendBytes(b, data []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(data))), data...)
}

// BuffersSize is the most bytes appendBuffers takes for bufs.
func BuffersSize(bufs []wasm.Buffer) int {
	n := binary.MaxVarintLen64
	for _, b := range bufs {
		n += 3*binary.MaxVarintLen64 + len(b.Data)
	}
	return n
}

// AppendCall appends the encoding of c to b.
func AppendCall(b []byte, c *Call) []byte {
	var flags byte
	if c.Output {
		flags |= callOutput
	}
	if len(c.Bufs) > 0 {
		flags |= callBuffers
	}
	b = append(b, byte(Version), flags)
	b = appendString(b, c.Task)
	b = appendString(b, c.Module)
	b = appendString(b, c.Func)
	b = appendValues(b, c.Args)
	if len(c.Bufs) > 0 {
		b = appendBuffers(b, c.Bufs)
	}
	return b
}

// AppendReply appends the encoding of r to b.
func AppendReply(b []byte, r *Reply) []byte {
	var flags byte
	if r.Err != nil {
		flags |= replyFailed
	}
	if len(r.Bufs) > 0 {
		flags |= replyBuffers
	}
	b = append(b, byte(Version), flags)
	b = appendString(b, r.Task)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Started))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Finished))
	b = appendString(b, r.Tier)
	b = appendValues(b, r.Values)
	if len(r.Bufs) > 0 {
		b = appendChanged(b, r.Bufs)
	}
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

// uvarint reads a uvarint no larger than most.
func (r *callReader) uvarint(most uint64) uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > most {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return n
}

// bytes reads a uvarint length and as many bytes, which stay those of the message.
func (r *callReader) bytes() []byte {
	n := r.length(1)
	if r.err != nil {
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// buffers reads what appendBuffers wrote, for a call of arity arguments: each buffer names
// one of them, and asks for an alignment of at most MaxAlign.
func (r *callReader) buffers(arity int) []wasm.Buffer {
	n := r.length(3) // a buffer takes 3 bytes at least
	if n == 0 || n > arity {
		r.fail() // a flag that says buffers follow, and none do, or more than arguments
		return nil
	}
	bufs := make([]wasm.Buffer, n)
	for k := range bufs {
		bufs[k].Arg = int(r.uvarint(uint64(arity - 1)))
		bufs[k].Align = int(r.uvarint(MaxAlign))
		bufs[k].Data = r.bytes()
	}
	if r.err != nil {
		return nil
	}
	return bufs
}

// changed reads what appendChanged wrote.
func (r *callReader) changed() []wasm.Buffer {
	n := r.length(2) // a buffer takes 2 bytes at least
	if n == 0 {
		r.fail()
		return nil
	}
	bufs := make([]wasm.Buffer, n)
	for k := range bufs {
		bufs[k].Arg = int(r.uvarint(maxArg))
		bufs[k].Data = r.bytes()
	}
	if r.err != nil {
		return nil
	}
	return bufs
}

// maxArg bounds the argument a changed buffer names, which the receiver matches with those it
// sent: a Wasm function has at most 1,000 parameters in wazero.
const maxArg = 1 << 16

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
	c.Bufs = nil
	if flags&callBuffers != 0 {
		c.Bufs = r.buffers(len(c.Args))
	}
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
	rep.Bufs = nil
	if flags&replyBuffers != 0 {
		rep.Bufs = r.changed()
	}
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
