package cluster

import (
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// coalescer publishes WASI output to subj, at each newline, every 50 ms, or when 32 KiB have
// gathered, whichever comes first.
type coalescer struct {
	nc    *nats.Conn
	subj  string
	mu    sync.Mutex
	buf   []byte
	timer *time.Timer
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
	case len(c.buf) >= coalesceMax || strings.IndexByte(string(p), '\n') >= 0:
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
