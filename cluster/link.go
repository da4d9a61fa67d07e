package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// linkDialTimeout bounds the time a client takes to reach a node's data link; past it, data
// to and from the node moves through the hub.
const linkDialTimeout = 2 * time.Second

// errLinkDown is a data link that failed while its node is still there: what was to cross it
// moves through the hub instead.
var errLinkDown = errors.New("cluster: data link down")

// link is a connection to a node's data link (see wire's link.go): parts go to and come from
// the node straight, not through the hub. It does one thing at a time.
type link struct {
	c      *Client
	node   string
	inc    string
	conn   net.Conn
	r      *bufio.Reader
	fw     *wire.FrameWriter
	stop   chan struct{} // closed by close: the watch ends
	broken bool
}

// openLink connects to the data link of node in incarnation inc (any, if inc is ""). It returns
// nil when data to and from the node moves through the hub: the node has no link, the client
// talks to the hub over TLS (the link does not encrypt), or the link cannot be reached — then
// it is not tried again while the node keeps its incarnation.
func (c *Client) openLink(ctx context.Context, node, inc string) *link {
	c.mu.Lock()
	s := c.nodes[node]
	if s == nil || s.lost || s.link == "" || s.noLink || c.o.tls.Enabled() || inc != "" && s.inc != inc {
		c.mu.Unlock()
		return nil
	}
	addr, key, inc := s.link, s.linkKey, s.inc
	if c.linkAddr != nil {
		addr = c.linkAddr(node, addr)
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: linkDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	var l *link
	if err == nil {
		l = &link{c: c, node: node, inc: inc, conn: conn, r: bufio.NewReaderSize(conn, 64<<10), fw: wire.NewFrameWriter(conn), stop: make(chan struct{})}
		err = wire.WriteLinkFrame(l.fw, wire.FrameLinkHello, wire.LinkHello{V: wire.Version, Client: c.id, Key: key})
		var rep wire.LoadReply
		if err == nil {
			rep, err = wire.ReadLinkReply(l.r)
		}
		if err == nil && rep.Err != nil {
			err = wire.DecodeError(rep.Err)
		}
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		if ctx.Err() == nil {
			c.mu.Lock()
			if s := c.nodes[node]; s != nil && s.inc == inc {
				s.noLink = true
			}
			c.mu.Unlock()
		}
		return nil
	}
	go l.watch(ctx)
	return l
}

// watch closes the connection when ctx is done, the client closes, or the node is lost or
// restarts, so that nothing waits on a link to a node that is gone.
func (l *link) watch(ctx context.Context) {
	c := l.c
	for {
		c.mu.Lock()
		s := c.nodes[l.node]
		gone := c.closed || s == nil || s.lost || s.inc != l.inc
		changed := c.changed
		c.mu.Unlock()
		if gone {
			l.conn.Close()
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			l.conn.Close()
			return
		case <-l.stop:
			return
		}
	}
}

func (l *link) close() {
	close(l.stop)
	l.conn.Close()
}

// fail is the error of a link whose connection failed with err: ErrInterrupted when ctx is
// done, ErrNodeLost when the node is lost or restarted, else errLinkDown.
func (l *link) fail(ctx context.Context, err error) error {
	l.broken = true
	l.conn.Close()
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	}
	c := l.c
	c.mu.Lock()
	s := c.nodes[l.node]
	lost := s == nil || s.lost || s.inc != l.inc
	c.mu.Unlock()
	if lost {
		return &RemoteError{Node: l.node, Err: ErrNodeLost}
	}
	return fmt.Errorf("%w: %v", errLinkDown, err)
}

// request sends a request of type typ about part p, and reads the node's answer: its error as a
// RemoteError, or the link's failure.
func (l *link) request(ctx context.Context, typ byte, p *stored) error {
	if l.broken {
		return errLinkDown
	}
	if err := wire.WriteLinkFrame(l.fw, typ, wire.LinkRequest{SHA: p.sha, Size: p.size}); err != nil {
		return l.fail(ctx, err)
	}
	return l.answer(ctx)
}

// answer reads the node's answer to the last request.
func (l *link) answer(ctx context.Context) error {
	rep, err := wire.ReadLinkReply(l.r)
	switch {
	case err != nil:
		return l.fail(ctx, err)
	case rep.Err != nil:
		return &RemoteError{Node: l.node, Err: wire.DecodeError(rep.Err)}
	}
	return nil
}

// put sends part p's bytes and their CRC-32C: the node checks it and keeps the part.
func (l *link) put(ctx context.Context, p *stored) error {
	if err := l.request(ctx, wire.FrameLinkPut, p); err != nil {
		return err
	}
	var crc uint32
	for off, chunk := 0, l.c.dataChunkSize(); off < p.size; off += chunk {
		piece := p.data[off:min(off+chunk, p.size)]
		crc = wire.CRC(crc, piece) // while the piece is in the cache
		if damage := l.c.damage; damage != nil {
			piece = damage(l.node, off, piece)
		}
		if _, err := l.conn.Write(piece); err != nil {
			return l.fail(ctx, err)
		}
	}
	if _, err := l.conn.Write(binary.BigEndian.AppendUint32(nil, crc)); err != nil {
		return l.fail(ctx, err)
	}
	return l.answer(ctx)
}

// get reads part p's bytes into out.
func (l *link) get(ctx context.Context, p *stored, out []byte) error {
	if err := l.request(ctx, wire.FrameLinkGet, p); err != nil {
		return err
	}
	if _, err := io.ReadFull(l.r, out[:p.size]); err != nil {
		return l.fail(ctx, err)
	}
	return nil
}
