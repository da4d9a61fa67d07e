package zmtpguard

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// greeting is a ZMTP 3.0 NULL greeting.
func greeting() []byte {
	g := make([]byte, greetingLen)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:], "NULL")
	return g
}

// frame encodes one frame.
func frame(flags byte, body []byte) []byte {
	if len(body) > 255 {
		h := make([]byte, 9)
		h[0] = flags | flagLong
		binary.BigEndian.PutUint64(h[1:], uint64(len(body)))
		return append(h, body...)
	}
	return append([]byte{flags, byte(len(body))}, body...)
}

// ready is a READY command announcing sockType and identity.
func ready(sockType, identity string) []byte {
	body := []byte("\x05READY")
	for _, kv := range [][2]string{{"Socket-Type", sockType}, {"Identity", identity}} {
		body = append(body, byte(len(kv[0])))
		body = append(body, kv[0]...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(kv[1])))
		body = append(body, kv[1]...)
	}
	return frame(flagCommand, body)
}

func TestTracker(t *testing.T) {
	stream := bytes.Join([][]byte{
		greeting(),
		ready("DEALER", "x"),
		frame(flagMore, []byte("a")),
		frame(flagMore, nil),
		frame(0, bytes.Repeat([]byte("b"), 300)),
		frame(0, []byte("c")),
	}, nil)
	// Whatever the chunking, the same events come out.
	for _, chunk := range []int{1, 2, 7, 64, 65, len(stream)} {
		tr := newTracker(0, 0)
		var greet, msgs, cmds int
		var boundaries []int
		for i := 0; i < len(stream); i += chunk {
			ev, err := tr.feed(stream[i:min(i+chunk, len(stream))])
			if err != nil {
				t.Fatal(err)
			}
			if ev.greeting {
				greet++
			}
			msgs += ev.messages
			cmds += ev.commands
			if tr.atBoundary() {
				boundaries = append(boundaries, min(i+chunk, len(stream)))
			}
		}
		if greet != 1 || msgs != 2 || cmds != 1 {
			t.Errorf("chunk %d: greeting %d, messages %d, commands %d; want 1, 2, 1", chunk, greet, msgs, cmds)
		}
		if chunk == 1 && len(boundaries) != 4 { // after the greeting, READY, and each message
			t.Errorf("chunk 1: boundaries at %v", boundaries)
		}
	}
}

func TestTrackerLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"frame", append(greeting(), frame(0, make([]byte, 101))...), errFrameTooLarge},
		{"message", append(greeting(), append(frame(flagMore, make([]byte, 80)), frame(0, make([]byte, 80))...)...), errMessageTooLarge},
		// A length near 2^64 must be refused from the header alone.
		{"huge header", append(greeting(), 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), errFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(100, 150)
			if _, err := tr.feed(tc.stream); err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	tr := newTracker(100, 150)
	if _, err := tr.feed(append(greeting(), frame(flagCommand, make([]byte, 100))...)); err != nil {
		t.Fatalf("a command within the frame bound: %v", err)
	}
}

var scheme atomic.Int32

// listen starts a ROUTER on a guarded transport with limits lim.
func listen(t *testing.T, lim Limits) (zmq4.Socket, string) {
	t.Helper()
	name := "guardtest" + string(rune('a'+scheme.Add(1)))
	if err := Register(name, "tcp", lim); err != nil {
		t.Fatal(err)
	}
	r := zmq4.NewRouter(context.Background(), zmq4.WithTimeout(time.Second))
	if err := r.Listen(name + "://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, r.Addr().String()
}

func dealer(t *testing.T, addr, id string) zmq4.Socket {
	t.Helper()
	d := zmq4.NewDealer(context.Background(), zmq4.WithID(zmq4.SocketIdentity(id)), zmq4.WithTimeout(time.Second))
	if err := d.Dial("tcp://" + addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func recv(t *testing.T, s zmq4.Socket) zmq4.Msg {
	t.Helper()
	ch := make(chan zmq4.Msg, 1)
	go func() { m, _ := s.Recv(); ch <- m }()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
		return zmq4.Msg{}
	}
}

// A client that connects and stays silent must not block the clients after it, and is
// dropped after the greeting deadline.
func TestSilentClientDoesNotBlock(t *testing.T) {
	r, addr := listen(t, Limits{Greeting: 300 * time.Millisecond})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	d := dealer(t, addr, "d1")
	if err := d.Send(zmq4.NewMsgFrom([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	m := recv(t, r)
	if len(m.Frames) != 2 || string(m.Frames[0]) != "d1" || string(m.Frames[1]) != "hello" {
		t.Fatalf("got %q", m.Frames)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Errorf("second client served after %v: the silent one blocked it", el)
	}
	silent.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(silent); err != nil {
		t.Fatalf("silent client not closed by the kernel side: %v", err)
	}
	if el := time.Since(start); el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("silent client closed after %v, want about 300ms", el)
	}
}

// A client that sends the signature and then stalls is dropped after the handshake deadline;
// one that sends something else is dropped at once.
func TestStalledHandshakeAndNotZMTP(t *testing.T) {
	_, addr := listen(t, Limits{Handshake: 300 * time.Millisecond})
	for name, send := range map[string][]byte{
		"stalled":  greeting()[:signatureLen],
		"not zmtp": []byte("GET / HTTP/1.0\r\n\r\n"),
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(send)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		start := time.Now()
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: not closed: %v", name, err)
		}
		t.Logf("%s: closed after %v", name, time.Since(start))
		c.Close()
	}
}

// A message over the bound drops its connection before zmq4 reads it; other clients go on.
func TestOversizedMessageDropsConnection(t *testing.T) {
	r, addr := listen(t, Limits{MaxMessage: 1000})
	big := dealer(t, addr, "big")
	// The guard may drop the connection while the second frame is still being written: then
	// the send fails, as the peer would see it.
	big.Send(zmq4.NewMsgFrom(make([]byte, 600), make([]byte, 600)))
	small := dealer(t, addr, "small")
	small.Send(zmq4.NewMsgFrom([]byte("ok")))
	m := recv(t, r)
	if string(m.Frames[0]) != "small" {
		t.Fatalf("router received %q from %q", m.Frames[1:], m.Frames[0])
	}
}

// A peer that never reads cannot block sends for longer than the write deadline.
func TestWriteDeadline(t *testing.T) {
	r, addr := listen(t, Limits{Write: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(greeting())
	c.Write(ready("DEALER", "stuck"))
	// Wait for the handshake to complete: the router's greeting and READY arrive.
	buf := make([]byte, greetingLen+2)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	// Send waits until zmq4 has registered the connection: it is the only one.
	payload := make([]byte, 1<<20)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 1000; i++ {
			if err := r.Send(zmq4.NewMsgFrom([]byte("stuck"), payload)); err != nil {
				done <- err
				return
			}
		}
		done <- errors.New("1000 MiB sent to a peer that never reads")
	}()
	select {
	case err := <-done:
		if !strings.Contains(err.Error(), "zmtpguard") && !strings.Contains(err.Error(), "closed") {
			t.Logf("send failed with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("send still blocked after 5 s")
	}
}
