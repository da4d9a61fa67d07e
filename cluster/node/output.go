package node

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// coalescer publishes WASI output to subj: at a newline when nothing was published in the
// last 50 ms, else 50 ms after the output came, or when 32 KiB have gathered, whichever comes
// first. A line printed now and then shows at once; a flood of lines goes out in some 20
// messages a second (and one per 32 KiB), each of which the client, the session and the front
// end handle once, rather than one per line.
type coalescer struct {
	nc        *nats.Conn
	subj      string
	mu        sync.Mutex
	buf       []byte
	timer     *time.Timer
	published time.Time // when flushLocked last published
}

const (
	coalesceDelay = 50 * time.Millisecond
	coalesceMax   = 32 << 10
)

func newCoalescer(nc *nats.Conn, subj string) *coalescer { return &coalescer{nc: nc, subj: subj} }

func (c *coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	switch {
	case len(c.buf) >= coalesceMax || (bytes.IndexByte(p, '\n') >= 0 && time.Since(c.published) >= coalesceDelay):
		c.flushLocked()
	case c.timer == nil:
		c.timer = time.AfterFunc(coalesceDelay, func() {
			c.mu.Lock()
			c.timer = nil
			c.flushLocked()
			c.mu.Unlock()
		})
	}
	return len(p), nil
}

func (c *coalescer) flushLocked() {
	if len(c.buf) > 0 {
		c.published = time.Now()
	}
	for len(c.buf) > 0 {
		k := min(len(c.buf), coalesceMax)
		c.nc.Publish(c.subj, c.buf[:k])
		c.buf = c.buf[k:]
	}
	c.buf = c.buf[:0]
}

// close flushes what is left; it may be called more than once.
func (c *coalescer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.flushLocked()
}

var _ io.Writer = (*coalescer)(nil)

// callOutput forwards the WASI output of a call, or of a batch's calls, from the worker's
// frames to the client that asked for it (reply + ".o" and ".e"). The zero value forwards none.
type callOutput [2]*coalescer

func newCallOutput(nc *nats.Conn, reply string) callOutput {
	return callOutput{newCoalescer(nc, reply+".o"), newCoalescer(nc, reply+".e")}
}

// write forwards f if it is output (wire.FrameStdout or wire.FrameStderr).
func (o callOutput) write(f frame) {
	if k := slices.Index([]byte{wire.FrameStdout, wire.FrameStderr}, f.typ); k >= 0 && o[k] != nil {
		o[k].Write(f.payload)
	}
}

// close sends what is left of the output: before the answer, which the client reads last.
func (o callOutput) close() {
	if o[0] != nil {
		o[0].close()
		o[1].close()
	}
}
