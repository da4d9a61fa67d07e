package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/kernel/internal/zmtpguard"
	"github.com/rain-wasm/rain/kernel/protocol"
	"github.com/rain-wasm/rain/session"
)

// engine is what the kernel asks of a session; *session.Session is one. Tests give the
// kernel a fake.
type engine interface {
	Exec(ctx context.Context, code string, out session.Output) (starlark.Value, error)
	Complete(code string, cursor int) (matches []string, start, end int)
	Inspect(code string, cursor, detail int) (display.Bundle, bool)
	IsComplete(code string) (status, indent string)
	Banner() string
	Close() error
}

var _ engine = (*session.Session)(nil)

// Option configures the kernel.
type Option func(*options) error

type options struct {
	historyFile string
	log         io.Writer
}

// WithHistoryFile keeps the kernel's input history in path (JSON lines of session, line and
// input) for history_request; "" keeps it in memory only. The default is
// kernel-history.jsonl in Rain's directory of the user's cache (os.UserCacheDir()/rain).
func WithHistoryFile(path string) Option {
	return func(o *options) error { o.historyFile = path; return nil }
}

// WithLog sends the kernel's log (rejected messages, failed sends) to w. The default is
// standard error, which Jupyter shows in its own log.
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("kernel: WithLog(nil)")
		}
		o.log = w
		return nil
	}
}

func defaultOptions() options {
	o := options{log: os.Stderr}
	if dir, err := os.UserCacheDir(); err == nil {
		o.historyFile = filepath.Join(dir, "rain", "kernel-history.jsonl")
	}
	return o
}

// Limits of the kernel's sockets.
const (
	sendTimeout = 5 * time.Second // a send waits at most this long for a connection
	pubHWM      = 10000           // iopub messages queued for slow subscribers before dropping
	queueLen    = 256             // messages waiting for a socket's writer
)

// schemes are the zmq4 transports with the kernel's guards.
var registerSchemes = sync.OnceValue(func() error {
	if err := zmtpguard.Register("rain+tcp", "tcp", zmtpguard.Limits{}); err != nil {
		return err
	}
	return zmtpguard.Register("rain+ipc", "unix", zmtpguard.Limits{})
})

// kernel is one running kernel.
type kernel struct {
	conn   protocol.Connection
	signer protocol.Signer
	id     string // the session id in the kernel's headers
	log    *log.Logger
	opts   options

	shell, control, stdin, iopub, hb zmq4.Socket

	shellIn                        chan *protocol.Message
	shellOut, controlOut, stdinOut chan outgoing
	iopubOut                       chan outgoing

	engReady chan struct{} // closed when eng and engErr are set
	eng      engine
	engErr   error

	count int // the execution count; the shell goroutine's

	cellMu     sync.Mutex
	cellCancel context.CancelFunc // interrupts the running cell
	cellMsg    *protocol.Message  // the running cell's execute_request
	// late are updates of displays whose cell had returned, sent while no cell ran: sent
	// again as the next cell begins (see lateUpdate).
	late map[string]protocol.DisplayData

	inputMu sync.Mutex             // one input_request at a time
	inputs  chan *protocol.Message // input_reply messages from stdin

	hist   *history
	replay replayGuard

	quitOnce sync.Once
	quit     chan struct{} // closed when the kernel is asked to stop
	restart  bool          // set before quit is closed
	down     chan struct{} // closed when writers are to drain and exit
	shellEnd chan struct{} // closed when the shell goroutine has returned
	writers  sync.WaitGroup
}

// outgoing is a message for a writer: it is encoded and signed on the writer's goroutine.
type outgoing struct {
	ids      [][]byte // routing identities (ROUTER sockets)
	msgType  string
	parent   *protocol.Message
	content  any
	metadata any
}

// Run serves the Jupyter kernel described by the connection file connFile until a
// shutdown_request, SIGTERM, the death of the process that started it (JPY_PARENT_PID) or
// the end of ctx. It answers kernel_info at once and calls newSession in the background;
// requests that need the session wait for it. SIGINT interrupts the running cell, as an
// interrupt_request does. Run closes the session before it returns.
func Run(ctx context.Context, connFile string, newSession func(context.Context) (*session.Session, error), opts ...Option) error {
	c, err := protocol.ReadConnection(connFile)
	if err != nil {
		return err
	}
	k, err := newKernel(c, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := k.handleSignals()
	defer stopSignals()
	watchParent(ctx, k)
	return k.serve(ctx, func(ctx context.Context) (engine, error) {
		s, err := newSession(ctx)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

func newKernel(c protocol.Connection, opts ...Option) (*kernel, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	signer, err := protocol.NewSigner(c.SignatureScheme, c.Key)
	if err != nil {
		return nil, err
	}
	return &kernel{
		conn:       c,
		signer:     signer,
		id:         protocol.NewID(),
		log:        log.New(o.log, "rain kernel: ", log.LstdFlags),
		opts:       o,
		shellIn:    make(chan *protocol.Message, queueLen),
		shellOut:   make(chan outgoing, queueLen),
		controlOut: make(chan outgoing, queueLen),
		stdinOut:   make(chan outgoing, queueLen),
		iopubOut:   make(chan outgoing, queueLen),
		engReady:   make(chan struct{}),
		inputs:     make(chan *protocol.Message, 1),
		hist:       newHistory(o.historyFile),
		replay:     newReplayGuard(1 << 14),
		quit:       make(chan struct{}),
		down:       make(chan struct{}),
		shellEnd:   make(chan struct{}),
	}, nil
}

// serve listens, answers until asked to stop, then shuts down in order: the running cell is
// interrupted, the session closed, the queued replies sent, the sockets closed.
func (k *kernel) serve(ctx context.Context, newEngine func(context.Context) (engine, error)) error {
	if err := k.listen(); err != nil {
		k.closeSockets()
		return err
	}
	engCtx, cancelEng := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelEng()
	go func() {
		k.eng, k.engErr = newEngine(engCtx)
		if k.engErr == nil && k.eng == nil {
			k.engErr = errors.New("kernel: no session")
		}
		close(k.engReady)
	}()

	k.writers.Add(4)
	go k.write(k.shell, k.shellOut)
	go k.write(k.control, k.controlOut)
	go k.write(k.stdin, k.stdinOut)
	go k.publishLoop()
	go k.heartbeat()
	go k.read(k.shell, "shell", k.queueShell)
	go k.read(k.control, "control", k.handleControl)
	go k.read(k.stdin, "stdin", k.handleStdin)
	go k.shellLoop()
	k.publish(nil, "status", protocol.Status{ExecutionState: "starting"})

	select {
	case <-ctx.Done():
		k.stop(false)
	case <-k.quit:
	}
	k.interrupt()
	wait(k.shellEnd, 3*time.Second)
	select {
	case <-k.engReady:
	default:
		cancelEng() // the session is still starting: abort that, and close what it started
		wait(k.engReady, 3*time.Second)
	}
	select {
	case <-k.engReady:
		if k.eng != nil {
			closed := make(chan struct{})
			go func() { k.eng.Close(); close(closed) }()
			wait(closed, 3*time.Second)
		}
	default:
	}
	close(k.down)
	writersDone := make(chan struct{})
	go func() { k.writers.Wait(); close(writersDone) }()
	wait(writersDone, 2*time.Second)
	k.closeSockets()
	k.hist.close()
	return nil
}

// wait waits for ch to be closed or d to pass.
func wait(ch <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// stop asks the kernel to stop; restart is what the shutdown_request said.
func (k *kernel) stop(restart bool) {
	k.quitOnce.Do(func() {
		k.restart = restart
		close(k.quit)
	})
}

// listen opens the five sockets on the connection's ports.
func (k *kernel) listen() error {
	if err := registerSchemes(); err != nil {
		return err
	}
	scheme := "rain+tcp://"
	if k.conn.Transport == "ipc" {
		scheme = "rain+ipc://"
	}
	zlog := log.New(k.log.Writer(), "rain kernel: zmq4: ", log.LstdFlags)
	sockOpts := []zmq4.Option{zmq4.WithTimeout(sendTimeout), zmq4.WithLogger(zlog)}
	bg := context.Background()
	k.shell = zmq4.NewRouter(bg, sockOpts...)
	k.control = zmq4.NewRouter(bg, sockOpts...)
	k.stdin = zmq4.NewRouter(bg, sockOpts...)
	k.hb = zmq4.NewRouter(bg, sockOpts...)
	k.iopub = zmq4.NewPub(bg, sockOpts...)
	if err := k.iopub.SetOption(zmq4.OptionHWM, pubHWM); err != nil {
		return fmt.Errorf("kernel: iopub: %w", err)
	}
	for _, s := range []struct {
		name string
		sock zmq4.Socket
		port int
	}{
		{"shell", k.shell, k.conn.ShellPort},
		{"iopub", k.iopub, k.conn.IOPubPort},
		{"stdin", k.stdin, k.conn.StdinPort},
		{"control", k.control, k.conn.ControlPort},
		{"heartbeat", k.hb, k.conn.HBPort},
	} {
		if err := s.sock.Listen(scheme + k.conn.Endpoint(s.port)); err != nil {
			return fmt.Errorf("kernel: %s socket: %w", s.name, err)
		}
	}
	return nil
}

func (k *kernel) closeSockets() {
	for _, s := range []zmq4.Socket{k.shell, k.control, k.stdin, k.hb, k.iopub} {
		if s != nil {
			s.Close()
		}
	}
	if k.conn.Transport == "ipc" {
		for _, p := range []int{k.conn.ShellPort, k.conn.IOPubPort, k.conn.StdinPort, k.conn.ControlPort, k.conn.HBPort} {
			os.Remove(k.conn.Endpoint(p))
		}
	}
}

// read decodes the messages of one socket and hands them to handle; messages with a bad
// signature, a replayed signature or a bad shape are logged and ignored.
func (k *kernel) read(sock zmq4.Socket, name string, handle func(*protocol.Message)) {
	for {
		zm, err := sock.Recv()
		if err != nil {
			return // the socket is closed
		}
		m, err := protocol.Decode(zm.Frames, k.signer)
		if err != nil {
			k.log.Printf("%s: ignored a message: %v", name, err)
			continue
		}
		if k.signer.Enabled() && !k.replay.fresh(string(m.Signature)) {
			k.log.Printf("%s: ignored a replayed message (%s)", name, m.Header.MsgType)
			continue
		}
		handle(m)
	}
}

// write sends what producers queue on ch, on one ROUTER socket, until the kernel is down.
func (k *kernel) write(sock zmq4.Socket, ch <-chan outgoing) {
	defer k.writers.Done()
	for {
		select {
		case o := <-ch:
			k.send(sock, o)
		case <-k.down:
			for {
				select {
				case o := <-ch:
					k.send(sock, o)
				default:
					return
				}
			}
		}
	}
}

func (k *kernel) send(sock zmq4.Socket, o outgoing) {
	frames := k.encode(o)
	if frames == nil {
		return
	}
	if err := sock.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		k.log.Printf("sending %s: %v", o.msgType, err)
	}
}

// encode signs and frames o.
func (k *kernel) encode(o outgoing) [][]byte {
	h, err := json.Marshal(protocol.NewHeader(o.msgType, k.id))
	if err != nil {
		k.log.Printf("encoding a %s header: %v", o.msgType, err)
		return nil
	}
	content, err := json.Marshal(o.content)
	if err != nil {
		k.log.Printf("encoding %s: %v", o.msgType, err)
		return nil
	}
	var meta []byte
	if o.metadata != nil {
		if meta, err = json.Marshal(o.metadata); err != nil {
			k.log.Printf("encoding %s metadata: %v", o.msgType, err)
			meta = nil
		}
	}
	var parent []byte
	if o.parent != nil {
		parent = o.parent.RawHeader
	}
	return protocol.Encode(o.ids, h, parent, meta, content, nil, k.signer)
}

// enqueue gives o to a writer, unless the kernel is down.
func (k *kernel) enqueue(ch chan<- outgoing, o outgoing) {
	select {
	case ch <- o:
	case <-k.down:
	}
}

// reply answers request m on the socket it came from (ch is that socket's writer queue).
func (k *kernel) reply(ch chan<- outgoing, m *protocol.Message, msgType string, content, metadata any) {
	k.enqueue(ch, outgoing{ids: m.Identities, msgType: msgType, parent: m, content: content, metadata: metadata})
}

// publish sends a message on iopub with parent m (nil for none).
func (k *kernel) publish(m *protocol.Message, msgType string, content any) {
	k.enqueue(k.iopubOut, outgoing{msgType: msgType, parent: m, content: content})
}

// publishLoop is iopub's writer. Stream messages for the same parent and stream that queue
// up while it sends are merged into one, so a cell that prints fast sends few messages.
func (k *kernel) publishLoop() {
	defer k.writers.Done()
	var next *outgoing
	firstBy := time.Now().Add(firstSubscriberWait)
	for {
		var o outgoing
		if next != nil {
			o, next = *next, nil
		} else {
			select {
			case o = <-k.iopubOut:
			case <-k.down:
				select {
				case o = <-k.iopubOut:
				default:
					return
				}
			}
		}
		if s, ok := o.content.(protocol.Stream); ok {
		merge:
			for {
				select {
				case q := <-k.iopubOut:
					if t, ok := q.content.(protocol.Stream); ok && t.Name == s.Name && q.parent == o.parent {
						s.Text += t.Text
						continue
					}
					next = &q
					break merge
				default:
					break merge
				}
			}
			o.content = s
		}
		frames := k.encode(o)
		if frames == nil {
			continue
		}
		if !firstBy.IsZero() {
			k.awaitSubscriber(firstBy)
			firstBy = time.Time{}
		}
		topic := []byte("kernel." + k.id + "." + o.msgType)
		if err := k.iopub.SendMulti(zmq4.NewMsgFrom(append([][]byte{topic}, frames...)...)); err != nil {
			k.log.Printf("publishing %s: %v", o.msgType, err)
		}
	}
}

// firstSubscriberWait bounds how long iopub holds its first message for a first subscriber. A
// frontend connects its sockets at once and may send a request on the shell before its SUB's
// subscription has reached the kernel, and a PUB drops what no subscriber has asked for:
// jupyter console, which does not wait for iopub as jupyter_client's wait_for_ready does, then
// waits for ever for the status idle of its first cell. A frontend with no iopub at all is
// kept waiting for this long once.
const firstSubscriberWait = 10 * time.Second

// awaitSubscriber waits until iopub has a subscriber, the deadline passes or the kernel stops.
// zmq4 says nothing when a subscription arrives: it is looked for every few milliseconds.
func (k *kernel) awaitSubscriber(deadline time.Time) {
	topics, ok := k.iopub.(zmq4.Topics)
	if !ok {
		return
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(topics.Topics()) == 0 && time.Now().Before(deadline) {
		select {
		case <-k.down:
			return
		case <-tick.C:
		}
	}
}

// heartbeat echoes what it receives, on its own goroutine.
func (k *kernel) heartbeat() {
	for {
		m, err := k.hb.Recv()
		if err != nil {
			return
		}
		if err := k.hb.Send(m); err != nil {
			k.log.Printf("heartbeat: %v", err)
		}
	}
}

// handleStdin passes input_reply messages to the cell waiting for one.
func (k *kernel) handleStdin(m *protocol.Message) {
	if m.Header.MsgType != "input_reply" {
		k.log.Printf("stdin: ignored a %s", m.Header.MsgType)
		return
	}
	select {
	case k.inputs <- m:
	default:
		k.log.Printf("stdin: ignored an input_reply nobody waits for")
	}
}

// interrupt cancels the running cell, if any.
func (k *kernel) interrupt() {
	k.cellMu.Lock()
	if k.cellCancel != nil {
		k.cellCancel()
	}
	k.cellMu.Unlock()
}

// engine waits for the session.
func (k *kernel) engine() (engine, error) {
	select {
	case <-k.engReady:
		return k.eng, k.engErr
	case <-k.quit:
		return nil, errors.New("kernel: shutting down")
	}
}

// engineNow is the engine if it has started, without waiting for it.
func (k *kernel) engineNow() (engine, error) {
	select {
	case <-k.engReady:
		return k.eng, k.engErr
	default:
		return nil, errors.New("kernel: the session is starting")
	}
}

// replayGuard remembers the signatures of recent messages, so that a captured message
// replayed to the kernel is refused (as ipykernel does).
type replayGuard struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayGuard(n int) replayGuard {
	return replayGuard{seen: make(map[string]struct{}, n), ring: make([]string, n)}
}

// fresh records sig and reports whether it was not seen before.
func (g *replayGuard) fresh(sig string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[sig]; dup {
		return false
	}
	if old := g.ring[g.next]; old != "" {
		delete(g.seen, old)
	}
	g.ring[g.next] = sig
	g.next = (g.next + 1) % len(g.ring)
	g.seen[sig] = struct{}{}
	return true
}
