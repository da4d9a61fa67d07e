package node

import (
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// MaxCallOutput is the most WASI output, stdout and stderr together, that one call sends
// back: 1 MiB, a long scroll in a terminal and about what a notebook cell shows without
// slowing down. A cell that prints without end would otherwise flood the hub, the client and
// the front end until it is stopped.
const (
	MaxCallOutput     = 1 << 20
	maxCallOutputText = "1 MiB"
)

// cappedOutput sends a call's WASI output to the supervisor, one frame per write, up to
// MaxCallOutput bytes. The write that reaches the limit is cut there (at a character boundary), a note on
// stderr says so at once, and later writes are only counted: the call runs on to its end,
// costing no pipe, supervisor or network traffic for what it prints, and then a second note
// says how much was dropped. The output is cut in the worker, where it is made, so that
// nothing downstream handles what nobody will see.
type cappedOutput struct {
	fw *wire.FrameWriter

	mu      sync.Mutex // stdout and stderr share the limit
	sent    int
	dropped int64
	midLine bool // the last byte sent did not end a line
}

// newCappedOutput is the output of a call sent over fw, and its stdout and stderr.
func newCappedOutput(fw *wire.FrameWriter) (o *cappedOutput, stdout, stderr io.Writer) {
	o = &cappedOutput{fw: fw}
	return o, o.stream(wire.FrameStdout), o.stream(wire.FrameStderr)
}

// stream is the writer of one stream (wire.FrameStdout or wire.FrameStderr) of the call.
func (o *cappedOutput) stream(typ byte) io.Writer { return outputStream{o, typ} }

type outputStream struct {
	o   *cappedOutput
	typ byte
}

func (s outputStream) Write(p []byte) (int, error) { return s.o.write(s.typ, p) }

func (o *cappedOutput) write(typ byte, p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped > 0 {
		o.dropped += int64(len(p))
		return len(p), nil
	}
	k := len(p)
	if room := MaxCallOutput - o.sent; k > room {
		k = room
		for k > 0 && !utf8.RuneStart(p[k]) {
			k--
		}
	}
	if k > 0 {
		if _, err := (wire.FrameOutput{FW: o.fw, Type: typ}).Write(p[:k]); err != nil {
			return 0, err
		}
		o.sent += k
		o.midLine = p[k-1] != '\n'
	}
	if k < len(p) {
		o.dropped = int64(len(p) - k)
		o.note(fmt.Sprintf("… output cut at %s: the call goes on, and the rest of what it prints is dropped", maxCallOutputText))
	}
	return len(p), nil
}

// end sends the note that says how much output was dropped, if any was.
func (o *cappedOutput) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped > 0 {
		o.note(fmt.Sprintf("… output cut at %s (%d bytes dropped)", maxCallOutputText, o.dropped))
	}
}

// note sends a line of its own on stderr. o.mu is held.
func (o *cappedOutput) note(line string) {
	if o.midLine {
		line = "\n" + line
	}
	o.fw.Write(wire.FrameStderr, []byte(line+"\n"))
	o.midLine = false
}
