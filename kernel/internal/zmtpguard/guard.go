// Package zmtpguard is a zmq4 transport whose connections cannot stall or exhaust a socket.
//
// go-zeromq/zmq4 (v0.17.0) accepts connections one at a time and runs each ZMTP handshake
// without a deadline, so one client that connects and stays silent blocks every later
// connection on that port. It reads a frame's length from the wire and allocates it, with no
// bound. Its writes have no deadline, so a peer that stops reading blocks the socket.
//
// The transport this package registers accepts connections through its own listener: each new
// connection must send the 10-byte ZMTP signature within Limits.Greeting before zmq4 sees it
// (waiting for more deadlocks libzmq peers, which send the signature alone and wait for ours),
// and must finish the handshake within Limits.Handshake. Every connection follows the frames it
// reads and fails when a frame or message exceeds the bounds, before zmq4 allocates it. Every
// write has a deadline, and the frames of one message go out in one write.
package zmtpguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// Limits bounds what a connection may do. Zero fields take their defaults.
type Limits struct {
	// Greeting is how long a new connection has to send the ZMTP signature. Default 2 s.
	Greeting time.Duration
	// Handshake is how long it then has to finish the ZMTP handshake. Default 5 s.
	Handshake time.Duration
	// Write is how long one write may block before the connection is dropped. Default 10 s.
	Write time.Duration
	// MaxFrame and MaxMessage bound the frames and messages a connection accepts.
	// Default 256 MiB each.
	MaxFrame, MaxMessage int64
	// MaxPending bounds connections that have not yet sent their signature; more are closed
	// at once. Default 64.
	MaxPending int
}

func (l Limits) withDefaults() Limits {
	if l.Greeting <= 0 {
		l.Greeting = 2 * time.Second
	}
	if l.Handshake <= 0 {
		l.Handshake = 5 * time.Second
	}
	if l.Write <= 0 {
		l.Write = 10 * time.Second
	}
	if l.MaxFrame <= 0 {
		l.MaxFrame = 256 << 20
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = 256 << 20
	}
	if l.MaxPending <= 0 {
		l.MaxPending = 64
	}
	return l
}

var (
	errFrameTooLarge   = &connError{"zmtpguard: frame exceeds the size limit"}
	errMessageTooLarge = &connError{"zmtpguard: message exceeds the size limit"}
	errNotZMTP         = errors.New("zmtpguard: peer did not send a ZMTP signature")
)

// connError is a net.Error that is not a timeout, so that zmq4 marks the connection closed
// and removes it from its socket.
type connError struct{ msg string }

func (e *connError) Error() string   { return e.msg }
func (e *connError) Timeout() bool   { return false }
func (e *connError) Temporary() bool { return false }

// Register registers with zmq4 a transport named scheme (endpoints "scheme://address") over
// network ("tcp" or "unix") with the given limits.
func Register(scheme, network string, lim Limits) error {
	return zmq4.RegisterTransport(scheme, guarded{network: network, lim: lim.withDefaults(), base: transport.New(network)})
}

type guarded struct {
	network string
	lim     Limits
	base    transport.Transport
}

func (g guarded) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, g.network, addr)
	if err != nil {
		return nil, err
	}
	return newConn(c, nil, g.lim), nil
}

func (g guarded) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := net.Listen(g.network, addr)
	if err != nil {
		return nil, err
	}
	return Listen(l, g.lim), nil
}

func (g guarded) Addr(ep string) (string, error) { return g.base.Addr(ep) }

// Listener hands over only connections that have sent a ZMTP signature.
type Listener struct {
	net.Listener
	lim     Limits
	ready   chan net.Conn
	done    chan struct{}
	close   sync.Once
	pending chan struct{} // a semaphore of MaxPending
}

// Listen guards l.
func Listen(l net.Listener, lim Limits) *Listener {
	lim = lim.withDefaults()
	gl := &Listener{Listener: l, lim: lim, ready: make(chan net.Conn), done: make(chan struct{}),
		pending: make(chan struct{}, lim.MaxPending)}
	go gl.acceptLoop()
	return gl
}

func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select { // a transient error (EMFILE): back off
			case <-l.done:
				return
			case <-time.After(delay):
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			continue
		}
		delay = 0
		select {
		case l.pending <- struct{}{}:
			go l.greet(c)
		default:
			c.Close()
		}
	}
}

// greet waits for the ZMTP signature, then offers the connection to Accept.
func (l *Listener) greet(c net.Conn) {
	defer func() { <-l.pending }()
	var sig [signatureLen]byte
	c.SetReadDeadline(time.Now().Add(l.lim.Greeting))
	if _, err := io.ReadFull(c, sig[:]); err != nil || sig[0] != 0xff || sig[9] != 0x7f {
		c.Close()
		return
	}
	gc := newConn(c, sig[:], l.lim)
	select {
	case l.ready <- gc:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection that has sent its signature.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (l *Listener) Close() error {
	var err error
	l.close.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// flushSize is the most a connection buffers before it writes.
const flushSize = 64 << 10

// conn is a guarded connection.
type conn struct {
	net.Conn
	lim Limits

	pre         []byte // bytes the listener read, replayed first
	rt          tracker
	handshaking bool

	wmu  sync.Mutex
	wt   tracker
	wbuf []byte
}

func newConn(c net.Conn, pre []byte, lim Limits) *conn {
	gc := &conn{Conn: c, lim: lim, pre: pre, handshaking: true,
		rt: newTracker(lim.MaxFrame, lim.MaxMessage), wt: newTracker(0, 0)}
	c.SetReadDeadline(time.Now().Add(lim.Handshake))
	return gc
}

func (c *conn) Read(p []byte) (int, error) {
	var n int
	var err error
	if len(c.pre) > 0 {
		n = copy(p, c.pre)
		c.pre = c.pre[n:]
	} else {
		n, err = c.Conn.Read(p)
	}
	if n > 0 {
		ev, ferr := c.rt.feed(p[:n])
		if ferr != nil {
			c.Conn.Close()
			return 0, ferr
		}
		if c.handshaking && ev.commands > 0 {
			// The peer's READY: the handshake is over, reads may now wait forever.
			c.handshaking = false
			c.Conn.SetReadDeadline(time.Time{})
		}
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.Conn.Close()
			return n, &connError{fmt.Sprintf("zmtpguard: handshake not finished within %v", c.lim.Handshake)}
		}
	}
	return n, err
}

// Write buffers the frames of a message and writes them at once when the message ends.
func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wt.feed(p)
	if len(c.wbuf)+len(p) > flushSize {
		if err := c.flush(); err != nil {
			return 0, err
		}
		if err := c.write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.wbuf = append(c.wbuf, p...)
	if c.wt.atBoundary() {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *conn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	err := c.write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

func (c *conn) write(p []byte) error {
	c.Conn.SetWriteDeadline(time.Now().Add(c.lim.Write))
	if _, err := c.Conn.Write(p); err != nil {
		// A partial write leaves the stream unusable, and a timeout would leave zmq4 holding
		// the connection: drop it.
		c.Conn.Close()
		return &connError{"zmtpguard: write: " + err.Error()}
	}
	return nil
}
