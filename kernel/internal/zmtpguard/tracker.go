package zmtpguard

import "encoding/binary"

// The flags byte of a ZMTP 3 frame.
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
)

// greetingLen is the size of a ZMTP 3 greeting; signatureLen its first part, which a libzmq
// peer sends alone before it waits for ours.
const (
	greetingLen  = 64
	signatureLen = 10
)

type trackerState uint8

const (
	inGreeting trackerState = iota
	inFlags
	inSize
	inBody
)

// tracker follows one direction of a ZMTP 3 byte stream — the greeting, then frames — without
// copying it, so that a connection can bound what it accepts before zmq4 allocates it, know
// when the handshake is over, and coalesce the frames of one message into one write.
type tracker struct {
	state   trackerState
	need    uint64 // bytes still to come in this state
	flags   byte
	size    [8]byte
	sizeLen int    // bytes of the size field (1 or 8)
	msg     uint64 // bytes of the message in progress (data frames only)
	inMsg   bool   // a frame with MORE has been seen and the message has not ended

	maxFrame, maxMessage uint64 // 0: no bound
}

func newTracker(maxFrame, maxMessage int64) tracker {
	return tracker{state: inGreeting, need: greetingLen, maxFrame: uint64(maxFrame), maxMessage: uint64(maxMessage)}
}

// events counts what feed saw end.
type events struct {
	greeting bool // the greeting ended
	messages int  // data messages that ended
	commands int  // commands that ended
}

// feed consumes p. It fails when a frame or message exceeds the bounds; the stream is then
// unusable.
func (t *tracker) feed(p []byte) (events, error) {
	var ev events
	for len(p) > 0 {
		switch t.state {
		case inGreeting:
			n := min(uint64(len(p)), t.need)
			t.need -= n
			p = p[n:]
			if t.need == 0 {
				t.state = inFlags
				ev.greeting = true
			}
		case inFlags:
			t.flags = p[0]
			p = p[1:]
			t.sizeLen = 1
			if t.flags&flagLong != 0 {
				t.sizeLen = 8
			}
			t.need = uint64(t.sizeLen)
			t.state = inSize
		case inSize:
			n := min(uint64(len(p)), t.need)
			copy(t.size[uint64(t.sizeLen)-t.need:], p[:n])
			t.need -= n
			p = p[n:]
			if t.need > 0 {
				continue
			}
			size := uint64(t.size[0])
			if t.sizeLen == 8 {
				size = binary.BigEndian.Uint64(t.size[:])
			}
			if t.maxFrame > 0 && size > t.maxFrame {
				return ev, errFrameTooLarge
			}
			if t.flags&flagCommand == 0 {
				t.msg += size
				if t.maxMessage > 0 && t.msg > t.maxMessage {
					return ev, errMessageTooLarge
				}
			}
			t.need = size
			t.state = inBody
			if size == 0 {
				t.endFrame(&ev)
			}
		case inBody:
			n := min(uint64(len(p)), t.need)
			t.need -= n
			p = p[n:]
			if t.need == 0 {
				t.endFrame(&ev)
			}
		}
	}
	return ev, nil
}

func (t *tracker) endFrame(ev *events) {
	t.state = inFlags
	switch {
	case t.flags&flagCommand != 0:
		ev.commands++
	case t.flags&flagMore != 0:
		t.inMsg = true
	default:
		ev.messages++
		t.inMsg = false
		t.msg = 0
	}
}

// atBoundary reports whether the stream is between messages (or right after the greeting).
func (t *tracker) atBoundary() bool { return t.state == inFlags && !t.inMsg }
