package protocol

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Version is the messaging protocol version Rain speaks, written in every header.
const Version = "5.3"

// Delimiter separates the routing identities from the message proper.
const Delimiter = "<IDS|MSG>"

// MaxIdentities bounds the routing identities a message may carry before its delimiter.
const MaxIdentities = 16

var (
	// ErrNoDelimiter is returned by Decode for frames without the "<IDS|MSG>" delimiter.
	ErrNoDelimiter = errors.New("protocol: no <IDS|MSG> delimiter")
	// ErrShortMessage is returned by Decode when fewer than the five frames of a message
	// (signature, header, parent header, metadata, content) follow the delimiter.
	ErrShortMessage = errors.New("protocol: message has fewer than 5 frames after the delimiter")
	// ErrBadSignature is returned by Decode when a message's signature does not match.
	ErrBadSignature = errors.New("protocol: bad message signature")
	// ErrBadJSON is returned by Decode when a header, parent header, metadata or content
	// frame is not a JSON object.
	ErrBadJSON = errors.New("protocol: frame is not a JSON object")
	// ErrBadHeader is returned by Decode when the header lacks a msg_type or msg_id.
	ErrBadHeader = errors.New("protocol: header lacks msg_id or msg_type")
	// ErrTooManyIdentities is returned by Decode when more than MaxIdentities frames
	// precede the delimiter.
	ErrTooManyIdentities = errors.New("protocol: too many routing identities")
	// ErrUnknownScheme is returned by NewSigner for a signature scheme it does not know.
	ErrUnknownScheme = errors.New("protocol: unknown signature scheme")
)

// Header is a message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is a decoded message. Header is parsed; RawHeader keeps the header frame exactly as
// received, so a reply's parent header is what the client sent. The other JSON frames stay
// raw for the handler of the message type to decode.
type Message struct {
	Identities   [][]byte
	Signature    []byte
	Header       Header
	RawHeader    json.RawMessage
	ParentHeader json.RawMessage
	Metadata     json.RawMessage
	Content      json.RawMessage
	Buffers      [][]byte
}

// Signer signs and verifies messages with a connection's key. The zero Signer (empty key)
// signs with the empty string and accepts any signature, as the protocol specifies.
type Signer struct {
	key  []byte
	hash func() hash.Hash
}

// NewSigner returns the signer for scheme ("hmac-sha256", also "hmac-sha1", "hmac-sha512";
// "" means hmac-sha256) and key.
func NewSigner(scheme, key string) (Signer, error) {
	var h func() hash.Hash
	switch scheme {
	case "", "hmac-sha256":
		h = sha256.New
	case "hmac-sha1":
		h = sha1.New
	case "hmac-sha512":
		h = sha512.New
	default:
		return Signer{}, fmt.Errorf("%w: %q", ErrUnknownScheme, scheme)
	}
	if key == "" {
		return Signer{}, nil
	}
	return Signer{key: []byte(key), hash: h}, nil
}

// Enabled reports whether messages are signed.
func (s Signer) Enabled() bool { return len(s.key) > 0 }

// sum is the raw HMAC of the four JSON frames.
func (s Signer) sum(header, parent, metadata, content []byte) []byte {
	m := hmac.New(s.hash, s.key)
	m.Write(header)
	m.Write(parent)
	m.Write(metadata)
	m.Write(content)
	return m.Sum(nil)
}

// Sign returns the hex signature of the four JSON frames ("" when the key is empty).
func (s Signer) Sign(header, parent, metadata, content []byte) []byte {
	if !s.Enabled() {
		return []byte{}
	}
	sum := s.sum(header, parent, metadata, content)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// Verify reports whether sig is the signature of the four JSON frames, in constant time.
func (s Signer) Verify(sig, header, parent, metadata, content []byte) bool {
	if !s.Enabled() {
		return true
	}
	want := s.sum(header, parent, metadata, content)
	if len(sig) != hex.EncodedLen(len(want)) {
		return false
	}
	got := make([]byte, len(want))
	if _, err := hex.Decode(got, sig); err != nil {
		return false
	}
	return hmac.Equal(got, want)
}

// Decode parses the frames of one message and checks its signature. The returned message
// shares memory with frames.
func Decode(frames [][]byte, s Signer) (*Message, error) {
	d := -1
	for i, f := range frames {
		if string(f) == Delimiter {
			d = i
			break
		}
		if i >= MaxIdentities {
			return nil, ErrTooManyIdentities
		}
	}
	if d < 0 {
		return nil, ErrNoDelimiter
	}
	rest := frames[d+1:]
	if len(rest) < 5 {
		return nil, ErrShortMessage
	}
	sig, header, parent, metadata, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	if !s.Verify(sig, header, parent, metadata, content) {
		return nil, ErrBadSignature
	}
	m := &Message{
		Identities:   frames[:d],
		Signature:    sig,
		RawHeader:    header,
		ParentHeader: parent,
		Metadata:     metadata,
		Content:      content,
		Buffers:      rest[5:],
	}
	for _, f := range [][]byte{header, parent, metadata, content} {
		if !isObject(f) {
			return nil, ErrBadJSON
		}
	}
	if err := json.Unmarshal(header, &m.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadJSON, err)
	}
	if m.Header.MsgType == "" || m.Header.MsgID == "" {
		return nil, ErrBadHeader
	}
	return m, nil
}

// isObject reports whether b is one valid JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// Encode returns the frames of a message: identities, delimiter, signature and the four JSON
// frames, then buffers. parent is the raw parent header ("{}" when nil).
func Encode(identities [][]byte, header, parent, metadata, content []byte, buffers [][]byte, s Signer) [][]byte {
	if len(parent) == 0 {
		parent = emptyObject
	}
	if len(metadata) == 0 {
		metadata = emptyObject
	}
	if len(content) == 0 {
		content = emptyObject
	}
	frames := make([][]byte, 0, len(identities)+6+len(buffers))
	frames = append(frames, identities...)
	frames = append(frames, []byte(Delimiter), s.Sign(header, parent, metadata, content), header, parent, metadata, content)
	return append(frames, buffers...)
}

var emptyObject = []byte("{}")

// NewHeader returns the header of a new message of msgType in session.
func NewHeader(msgType, session string) Header {
	return Header{
		MsgID:    NewID(),
		Session:  session,
		Username: "rain",
		Date:     Date(time.Now()),
		MsgType:  msgType,
		Version:  Version,
	}
}

// Date formats t as the protocol's ISO 8601 date: UTC with exactly 6 fractional digits
// (clients parse at most microseconds).
func Date(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// NewID returns a random (version 4) UUID.
func NewID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
