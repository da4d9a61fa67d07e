package wire

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// A node's data link: a TCP listener of its own through which a client sends a part of data
// (see data.go) and fetches one, so that the part's bytes cross the network once, straight
// between the two, rather than into the hub and out again. The node names its link's address in
// its status (Status.Link), and the key a client must present there (Status.LinkKey, random for
// each incarnation of the node: only who hears the hub learns it, whatever the hub's own
// authentication); a client that cannot reach the link, or a node with none (its data port is
// off, or it talks to the hub over TLS), moves data through the hub as data.go says.
//
// The link speaks in the frames of pipe.go. The client opens a connection with FrameLinkHello
// (a LinkHello) and the node answers FrameLinkReply (a LoadReply: an Err if the key is not
// the link's). Then, any number of times, one after another:
//
//	FrameLinkPut  a LinkRequest (SHA, Size): the node makes room for the part (a LoadReply:
//	              Err ErrDataLimit if it has none), then reads Size bytes, unframed, and their
//	              CRC-32C (see CRC), 4 bytes big-endian, checks it and keeps the part for the
//	              client (a LoadReply: Have, or Err ErrChecksum).
//	FrameLinkGet  a LinkRequest (SHA): the node answers a LoadReply (Err ErrNoData if it does
//	              not hold the part), then the part's bytes, unframed.
//
// A client on the node's machine may instead copy a part's bytes straight between its memory and
// the node's (see package vmcopy), with no socket between, when the node lets it:
//
//	FrameLinkPutMem  a LinkRequest (SHA, Size): the node makes room for the part and answers
//	                 FrameLinkMem (a LinkMem: where to write it, or Err: ErrDataLimit, or
//	                 ErrNoMem if it takes no copy from this client). The client copies the bytes
//	                 there and sends FrameLinkMemDone (a LinkMemDone: whether it could); the
//	                 node keeps the part if it could (a LoadReply: Have), and forgets it if not.
//	FrameLinkGetMem  a LinkRequest (SHA): the node answers FrameLinkMem (where the part's bytes
//	                 are, or Err: ErrNoData, ErrNoMem), and leaves them there until the client,
//	                 having copied them, sends FrameLinkMemDone; it answers a LoadReply.
//
// A node answers FrameLinkMem only on a connection from its own address (the client is on its
// machine, as far as addresses say). The client's first such request carries a challenge,
// random bytes the node copies into its memory: the client reads them there (LinkMem's Token)
// before it copies anything, to know that LinkMem's PID is the process at the other end of the
// link, as seen from the client's machine.
const (
	FrameLinkHello   byte = 'h'
	FrameLinkPut     byte = 'p'
	FrameLinkGet     byte = 'q'
	FrameLinkReply   byte = 'a'
	FrameLinkPutMem  byte = 'P'
	FrameLinkGetMem  byte = 'Q'
	FrameLinkMem     byte = 'm'
	FrameLinkMemDone byte = 'd'
)

// MaxLinkFrame bounds the frames of a data link: their payload is a little JSON (a LinkMem
// names each piece of a part of up to MaxPart bytes).
const MaxLinkFrame = 64 << 10

// LinkMem is where a part's bytes are to be written (FrameLinkPutMem) or read
// (FrameLinkGetMem) in the memory of the node's process PID, one span after another; or Err.
// Token is the address there of the bytes of the request's Challenge (0 for none).
type LinkMem struct {
	PID   int       `json:"pid,omitempty"`
	Token uint64    `json:"token,omitempty"`
	Spans []MemSpan `json:"spans,omitempty"`
	Err   *Error    `json:"err,omitempty"`
}

// MemSpan is Len bytes at Addr in a process's memory.
type MemSpan struct {
	Addr uint64 `json:"a"`
	Len  int    `json:"n"`
}

// LinkMemDone ends a copy through memory: OK says whether the client copied every span.
type LinkMemDone struct {
	OK bool `json:"ok"`
}

// LinkHello opens a data link: the client's ID, and the link's key (Status.LinkKey).
type LinkHello struct {
	V      int    `json:"v"`
	Client string `json:"client"`
	Key    string `json:"key"`
}

// LinkRequest asks a node to keep a part (FrameLinkPut, FrameLinkPutMem) or to send one
// (FrameLinkGet, FrameLinkGetMem). Challenge, in a copy through memory, is the hex of 16 random
// bytes for the node to hold where the client can read them (LinkMem's Token).
type LinkRequest struct {
	Hash      string `json:"hash"`
	Size      int    `json:"size,omitempty"`
	Challenge string `json:"challenge,omitempty"`
}

// WriteLinkFrame writes a frame of type typ whose payload is v in JSON.
func WriteLinkFrame(fw *FrameWriter, typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return fw.Write(typ, b)
}

// ReadLinkFrame reads a frame of a data link, of type want, into v.
func ReadLinkFrame(r io.Reader, want byte, v any) error {
	typ, payload, err := ReadFrameUpTo(r, MaxLinkFrame)
	if err != nil {
		return err
	}
	if typ != want {
		return fmt.Errorf("%w: type %q, want %q", ErrBadFrame, typ, want)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	return nil
}

// ReadLinkRequest reads a client's request on a data link: its type (FrameLinkPut,
// FrameLinkGet, FrameLinkPutMem or FrameLinkGetMem) and a LinkRequest whose SHA is valid, and
// for a put, whose Size is that of a part (1 to MaxPart bytes).
func ReadLinkRequest(r io.Reader) (byte, LinkRequest, error) {
	var q LinkRequest
	typ, payload, err := ReadFrameUpTo(r, MaxLinkFrame)
	if err != nil {
		return 0, q, err
	}
	if typ != FrameLinkPut && typ != FrameLinkGet && typ != FrameLinkPutMem && typ != FrameLinkGetMem {
		return 0, q, fmt.Errorf("%w: data link frame of type %q", ErrBadFrame, typ)
	}
	if err := json.Unmarshal(payload, &q); err != nil {
		return 0, q, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	if !ValidHash(q.Hash) || (typ == FrameLinkPut || typ == FrameLinkPutMem) && (q.Size <= 0 || q.Size > MaxPart) ||
		q.Challenge != "" && !lowerHex(q.Challenge, 16) {
		return 0, q, fmt.Errorf("%w: data link request %+v", ErrBadFrame, q)
	}
	return typ, q, nil
}

// ReadLinkReply reads the node's answer on a data link: its error, if it gave one, is in the
// reply's Err; the error returned is the link's.
func ReadLinkReply(r io.Reader) (LoadReply, error) {
	var rep LoadReply
	err := ReadLinkFrame(r, FrameLinkReply, &rep)
	return rep, err
}

// LinkHost is the address of this machine on the way to the hub at hubURL (the first of a
// comma-separated list): the one its clients reach it at, as far as this machine can tell. It
// sends nothing.
func LinkHost(hubURL string) (string, error) {
	first, _, _ := strings.Cut(hubURL, ",")
	u, err := url.Parse(strings.TrimSpace(first))
	if err != nil {
		return "", err
	}
	ip, err := RouteFrom(u.Hostname())
	if err != nil {
		return "", err
	}
	return ip.String(), nil
}

// RouteFrom is this machine's source address for a route to host (a name or an address): what
// a machine at host sees this one as. No packet is sent.
func RouteFrom(host string) (net.IP, error) {
	c, err := net.Dial("udp", net.JoinHostPort(host, "9"))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP, nil
}
