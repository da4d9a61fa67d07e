package node

import (
	"bufio"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/vmcopy"
	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// linkChunk is the size of the pieces a part arrives in on the data link's socket: the store
// keeps them as they are (see held), and checks each one's CRC-32C as it comes.
const linkChunk = 4 << 20

// listenLink opens the node's data link (see wire's link.go) on its data port, on the address
// this machine reaches the hub from, and serves it until the listener closes. It returns the
// listener, or nil when the node has none: its data port is off, or it talks to the hub over
// TLS (the link does not encrypt). A link on any port that cannot listen is none too (it logs
// why; data then moves through the hub); on the port the user gave, it is an error.
func (n *supervisor) listenLink() (net.Listener, error) {
	port := n.o.settings.DataPort
	if port == DataPortOff || n.o.tls.Enabled() {
		return nil, nil
	}
	host, err := wire.LinkHost(n.o.url)
	if err == nil {
		var ln net.Listener
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(max(0, int(port))))); err == nil {
			n.linkKey = wire.RandomHex(16)
			go n.serveLinks(ln)
			return ln, nil
		}
	}
	if port != DataPortAny {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // "bind: address already in use", without the address again
		}
		return nil, fmt.Errorf("cluster: node: data port %d: %v: give another --data-port, or any", port, err)
	}
	n.log.Printf("no data link (data moves through the hub): %v", err)
	return nil, nil
}

// serveLinks serves the connections to the data link ln until it closes.
func (n *supervisor) serveLinks(ln net.Listener) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		wg.Go(func() {
			n.serveLink(c)
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}
}

// serveLink answers a client's requests on one data link connection until it closes or breaks
// the protocol.
func (n *supervisor) serveLink(c net.Conn) {
	r := bufio.NewReaderSize(idleConn{c}, 64<<10)
	fw := wire.NewFrameWriter(c)
	answer := func(err error) error {
		return wire.WriteLinkFrame(fw, wire.FrameLinkReply, wire.LoadReply{V: wire.Version, Have: err == nil, Err: wire.EncodeError(err)})
	}
	var hello wire.LinkHello
	if err := wire.ReadLinkFrame(r, wire.FrameLinkHello, &hello); err != nil {
		return
	}
	switch {
	case wire.CheckVersion(hello.V) != nil:
		answer(wire.CheckVersion(hello.V))
		return
	case subtle.ConstantTimeCompare([]byte(hello.Key), []byte(n.linkKey)) != 1:
		answer(errors.New("cluster: data link: the key is not the link's"))
		return
	case hello.Client == "" || len(hello.Client) > 64:
		answer(fmt.Errorf("cluster: data link: bad client %q", hello.Client))
		return
	}
	if answer(nil) != nil {
		return
	}
	local := sameHost(c)
	for ; ; n.idle.used() { // each request is work the idle trim waits after
		typ, q, err := wire.ReadLinkRequest(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				answer(err)
			}
			return
		}
		switch typ {
		case wire.FrameLinkPut:
			if !n.linkPut(r, hello.Client, q, answer) {
				return
			}
		case wire.FrameLinkPutMem, wire.FrameLinkGetMem:
			if !n.linkMem(r, fw, typ, hello.Client, q, local, answer) {
				return
			}
		case wire.FrameLinkGet:
			h, ok := n.part(q.Hash, hello.Client, false)
			if !ok {
				if answer(fmt.Errorf("%w: part %s is not on node %s", wire.ErrNoData, q.Hash[:12], n.o.settings.ID)) != nil {
					return
				}
				continue
			}
			// The chunks are written from where they are; Buffers consumes its own copy of the list.
			err := answer(nil)
			if err == nil {
				bufs := net.Buffers(slices.Clone(h.chunks))
				_, err = bufs.WriteTo(c)
			}
			n.data.giveBack(h)
			if err != nil {
				return
			}
		}
	}
}

// linkIdle is how long a data link waits for a client that sends nothing: a client whose
// machine vanished must not hold the room of a part on its way in for ever.
const linkIdle = time.Minute

// idleConn is a connection whose reads fail once the client has sent nothing for linkIdle.
type idleConn struct{ net.Conn }

func (c idleConn) Read(p []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(linkIdle))
	return c.Conn.Read(p)
}

// sameHost says whether the client at the other end of c is on this machine, as far as its
// address says: it connected from the address it connected to.
func sameHost(c net.Conn) bool {
	l, ok1 := c.LocalAddr().(*net.TCPAddr)
	r, ok2 := c.RemoteAddr().(*net.TCPAddr)
	return ok1 && ok2 && l.IP.Equal(r.IP)
}

// linkMem serves a copy through memory of part q for client (typ FrameLinkPutMem or
// FrameLinkGetMem, see wire's link.go): it says where the part's bytes go or are, waits for the
// client to have copied them, and keeps a part put. local says whether the client is on this
// machine. It says whether the link may go on.
func (n *supervisor) linkMem(r io.Reader, fw *wire.FrameWriter, typ byte, client string, q wire.LinkRequest, local bool, answer func(error) error) bool {
	refuse := func(err error) bool {
		return wire.WriteLinkFrame(fw, wire.FrameLinkMem, wire.LinkMem{Err: wire.EncodeError(err)}) == nil
	}
	if !local {
		return refuse(fmt.Errorf("%w: the client is not on node %s's machine", wire.ErrNoMem, n.o.settings.ID))
	}
	var chunks [][]byte
	var d wire.DataOp
	put := typ == wire.FrameLinkPutMem
	if put {
		d = wire.DataOp{Op: "chunk", Hash: q.Hash, Client: client, Size: q.Size, Transfer: "mem-" + wire.RandomHex(8)}
		b, err := n.data.room(d)
		if err != nil {
			return refuse(err)
		}
		chunks = [][]byte{b}
	} else {
		h, ok := n.part(q.Hash, client, false)
		if !ok {
			return refuse(fmt.Errorf("%w: part %s is not on node %s", wire.ErrNoData, q.Hash[:12], n.o.settings.ID))
		}
		defer n.data.giveBack(h) // once the client has copied it
		chunks = h.chunks
	}
	m := wire.LinkMem{PID: os.Getpid()}
	challenge, _ := hex.DecodeString(q.Challenge) // for the client to read here
	if len(challenge) > 0 {
		m.Token = vmcopy.Addr(challenge)
	}
	for _, c := range chunks {
		m.Spans = append(m.Spans, wire.MemSpan{Addr: vmcopy.Addr(c), Len: len(c)})
	}
	var done wire.LinkMemDone
	err := wire.WriteLinkFrame(fw, wire.FrameLinkMem, m)
	if err == nil {
		err = wire.ReadLinkFrame(r, wire.FrameLinkMemDone, &done)
	}
	runtime.KeepAlive(chunks) // where the client copies, until it says it is done
	runtime.KeepAlive(challenge)
	if put && (err != nil || !done.OK) {
		n.data.abandon(d)
	}
	switch {
	case err != nil:
		return false
	case !done.OK: // the client sends the part over the socket instead
		return answer(wire.ErrNoMem) == nil
	case !put:
		return answer(nil) == nil
	}
	_, dropped, err := n.data.chunk(d, chunks[0])
	if dropped {
		n.dropped(d.Hash)
	}
	if err == nil {
		n.publishStatus() // the clients see the bytes it holds
	}
	return answer(err) == nil
}

// linkPut receives part q on a data link for client, as the store receives chunks from the
// hub, and says whether the link may go on.
func (n *supervisor) linkPut(r io.Reader, client string, q wire.LinkRequest, answer func(error) error) bool {
	d := wire.DataOp{Op: "chunk", Hash: q.Hash, Client: client, Size: q.Size, Transfer: "link-" + wire.RandomHex(8)}
	if err := n.data.begin(d); err != nil {
		return answer(err) == nil // the client sends nothing more of this part
	}
	if answer(nil) != nil {
		n.data.abandon(d)
		return false
	}
	// The last piece goes to the store once the CRC-32C after it has been checked.
	var crc uint32
	var trailer [4]byte
	for d.Off = 0; d.Off < q.Size; d.Off += linkChunk {
		buf := make([]byte, min(linkChunk, q.Size-d.Off))
		if _, err := io.ReadFull(r, buf); err != nil {
			n.data.abandon(d)
			return false
		}
		crc = wire.CRC(crc, buf)
		if d.Off+len(buf) == q.Size {
			if _, err := io.ReadFull(r, trailer[:]); err != nil {
				n.data.abandon(d)
				return false
			}
			if binary.BigEndian.Uint32(trailer[:]) != crc {
				n.data.abandon(d)
				return answer(fmt.Errorf("%w: part %s", wire.ErrChecksum, q.Hash)) == nil
			}
		}
		_, dropped, err := n.data.chunk(d, buf)
		if dropped {
			n.dropped(d.Hash)
		}
		if err != nil { // the store lost the transfer: the bytes left unread end the link
			answer(err)
			return false
		}
	}
	n.publishStatus() // the clients see the bytes it holds
	return answer(nil) == nil
}
