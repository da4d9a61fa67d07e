package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/vmcopy"
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
	// mem says whether parts are copied straight between the client's memory and the node's
	// (see memRequest): 0 not tried yet, 1 they are, -1 they cannot be.
	mem int8
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
	addr, key, inc, noMem := s.link, s.linkKey, s.inc, s.noMem
	if c.linkAddr != nil {
		addr = c.linkAddr(node, addr)
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: linkDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	var l *link
	if err == nil {
		l = &link{c: c, node: node, inc: inc, conn: conn, r: bufio.NewReaderSize(conn, 64<<10), fw: wire.NewFrameWriter(conn), stop: make(chan struct{})}
		if noMem || !onThisMachine(conn.RemoteAddr()) {
			l.mem = -1
		}
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
	if err := wire.WriteLinkFrame(l.fw, typ, wire.LinkRequest{Hash: p.hash, Size: p.size}); err != nil {
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

// put sends part p's bytes: into the node's memory if it is on this machine (see memRequest),
// else with their CRC-32C, which the node checks. The node keeps the part.
func (l *link) put(ctx context.Context, p *stored) error {
	if err := l.throughMem(ctx, wire.FrameLinkPutMem, p, p.data[:p.size], vmcopy.Write); !errors.Is(err, wire.ErrNoMem) {
		return err
	}
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

// get reads part p's bytes into out: from the node's memory if it is on this machine (see
// memRequest), else from the socket.
func (l *link) get(ctx context.Context, p *stored, out []byte) error {
	vmcopy.Prefault(out[:p.size]) // fresh memory, most likely: mapped in one pass
	if err := l.throughMem(ctx, wire.FrameLinkGetMem, p, out[:p.size], vmcopy.Read); !errors.Is(err, wire.ErrNoMem) {
		return err
	}
	if err := l.request(ctx, wire.FrameLinkGet, p); err != nil {
		return err
	}
	if _, err := io.ReadFull(l.r, out[:p.size]); err != nil {
		return l.fail(ctx, err)
	}
	return nil
}

// throughMem copies part p between b and the node's memory: typ FrameLinkPutMem with op
// vmcopy.Write, or FrameLinkGetMem with vmcopy.Read. It fails with wire.ErrNoMem when the part
// cannot go so: the socket carries it.
func (l *link) throughMem(ctx context.Context, typ byte, p *stored, b []byte, op func(pid int, addr uint64, b []byte) error) error {
	m, err := l.memRequest(ctx, typ, p)
	if err != nil {
		return err
	}
	return l.memDone(ctx, l.copyMem(m, b, op))
}

// memRequest asks the node to copy part p through memory (typ FrameLinkPutMem or
// FrameLinkGetMem, see wire's link.go): the part's bytes go straight from the client's memory
// into the node's, or back, one copy with no socket between, when the node is on this machine
// and lets the client at its memory (see package vmcopy). It returns where they go or are; the
// copy ends with memDone. It fails with wire.ErrNoMem when they cannot be copied so: the part
// goes over the socket.
func (l *link) memRequest(ctx context.Context, typ byte, p *stored) (wire.LinkMem, error) {
	var m wire.LinkMem
	switch {
	case l.broken:
		return m, errLinkDown
	case l.mem < 0, l.c.damage != nil, l.c.socketOnly: // damage is the socket's
		return m, wire.ErrNoMem
	}
	q := wire.LinkRequest{Hash: p.hash, Size: p.size}
	if l.mem == 0 {
		q.Challenge = wire.RandomHex(16)
	}
	if err := wire.WriteLinkFrame(l.fw, typ, q); err != nil {
		return m, l.fail(ctx, err)
	}
	if err := wire.ReadLinkFrame(l.r, wire.FrameLinkMem, &m); err != nil {
		return m, l.fail(ctx, err)
	}
	if m.Err != nil {
		err := wire.DecodeError(m.Err)
		if errors.Is(err, wire.ErrNoMem) {
			l.noMem()
			return m, err
		}
		return m, &RemoteError{Node: l.node, Err: err}
	}
	if q.Challenge != "" && !l.reaches(m, q.Challenge) {
		return m, l.memDone(ctx, wire.ErrNoMem)
	}
	return m, nil
}

// reaches says whether the process m names is the one at the other end of the link, seen from
// here: it holds the challenge the client sent (which no other process has) where m says. It
// is not this process, which holds it too.
func (l *link) reaches(m wire.LinkMem, challenge string) bool {
	got := make([]byte, len(challenge)/2)
	return m.PID > 0 && m.PID != os.Getpid() && m.Token != 0 &&
		vmcopy.Read(m.PID, m.Token, got) == nil && hex.EncodeToString(got) == challenge
}

// onThisMachine says whether addr is one of this machine's addresses, a loopback one included.
func onThisMachine(addr net.Addr) bool {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	if a.IP.IsLoopback() {
		return true
	}
	own, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, o := range own {
		if n, ok := o.(*net.IPNet); ok && n.IP.Equal(a.IP) {
			return true
		}
	}
	return false
}

// copyMem copies b into the spans of m (op vmcopy.Write) or the spans into b (vmcopy.Read).
func (l *link) copyMem(m wire.LinkMem, b []byte, op func(pid int, addr uint64, b []byte) error) error {
	total := 0
	for _, s := range m.Spans {
		total += s.Len
	}
	if total != len(b) {
		return fmt.Errorf("%w: the node has room for %d bytes of a part of %d", wire.ErrNoMem, total, len(b))
	}
	for _, s := range m.Spans {
		if err := op(m.PID, s.Addr, b[:s.Len]); err != nil {
			return err
		}
		b = b[s.Len:]
	}
	l.c.memCopied.Add(int64(total))
	return nil
}

// memDone ends a copy through memory that failed with err (nil if it was made): the node keeps
// a part put, or lets go of the one it lent, and answers. A copy that failed fails with
// wire.ErrNoMem, unless the link did: the part goes over the socket, and so do the next ones.
func (l *link) memDone(ctx context.Context, err error) error {
	if werr := wire.WriteLinkFrame(l.fw, wire.FrameLinkMemDone, wire.LinkMemDone{OK: err == nil}); werr != nil {
		return l.fail(ctx, werr)
	}
	answer := l.answer(ctx)
	if err == nil {
		l.mem = 1
		return answer
	}
	l.noMem()
	if l.broken {
		return answer
	}
	return wire.ErrNoMem
}

// noMem notes that the node's memory cannot be reached from here: parts go over the socket, on
// this link and the next ones to the node's incarnation.
func (l *link) noMem() {
	l.mem = -1
	c := l.c
	c.mu.Lock()
	if s := c.nodes[l.node]; s != nil && s.inc == l.inc {
		s.noMem = true
	}
	c.mu.Unlock()
}
