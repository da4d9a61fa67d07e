package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/internal/procfs"
	"github.com/rain-wasm/rain/internal/units"
)

// Run runs a node's supervisor until ctx is done (it then returns nil), the hub refuses
// the token (ErrUnauthorized), cannot be reached at start (for 5 s), or cannot be reached again
// for the reconnect window after it was lost (ErrHubLost; see WithReconnectWindow).
//
// The supervisor holds the node's connection to the hub: it announces the node, sends its
// heartbeat, stores the modules it receives in the cache directory and queues calls. It runs
// them in a worker process (see RunWorker), one at a time, and restarts the worker whenever it
// exits: at once after an interrupt, after a growing pause (100 ms doubling up to 5 s) when it
// crashes again within 10 s. A new worker instantiates the node's modules again before it takes
// the next call. Running no Wasm itself, the supervisor answers heartbeats and cancels even when
// a call keeps the worker busy (or stops its garbage collector) for hours.
//
// A supervisor and its worker each do one thing at a time, so both run with GOMAXPROCS 1
// unless the environment sets GOMAXPROCS: Run sets it for its process while it runs, and
// for the worker's. With more, every goroutine hand-off of a call's way through wakes another
// OS thread, to no use: a tiny call's round trip takes a third longer on 2 cores.
func Run(ctx context.Context, opts ...Option) error {
	o, err := config(opts)
	if err != nil {
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	moduleDir := filepath.Join(o.settings.CacheDir, "modules")
	if err := os.MkdirAll(moduleDir, 0o755); err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}
	host, _ := os.Hostname()
	n := &supervisor{
		o:         o,
		inc:       wire.RandomHex(8),
		host:      host,
		log:       log.New(o.log, "rain node "+o.settings.ID+": ", log.Lmicroseconds),
		moduleDir: moduleDir,
		items:     make(chan *item, maxQueue),
		lost:      make(chan struct{}),
		modules:   map[string]bool{},
		cancelled: map[string]time.Time{},
		parts:     map[string]*partial{},
		data:      newStore(int64(o.settings.MemoryLimit)),
		inWorker:  map[string]bool{},
	}
	if err := bind(o.settings.CPU); err != nil {
		n.log.Print(err)
	}
	nc, err := wire.Dial(ctx, o.url, o.token, "rain node "+o.settings.ID, min(o.reconnect, wire.FirstDial), o.reconnect, func() {
		n.lostOnce.Do(func() { close(n.lost) })
	}, o.tls.Options()...)
	if err != nil {
		return err
	}
	defer nc.Close()
	n.nc = nc
	// No pending limits: a message past them would be dropped without a word, and its sender
	// would wait for an answer that never comes. Calls beyond maxQueue are answered "busy".
	for verb, h := range map[string]nats.MsgHandler{
		"call": n.onCall, "batch": n.onBatch, "cancel": n.onCancel, "load": n.onLoad, "ping": n.onPing,
		"data": n.onData,
	} {
		sub, err := nc.Subscribe(wire.NodeSubject(o.settings.ID, verb), h)
		if err == nil {
			err = sub.SetPendingLimits(-1, -1)
		}
		if err != nil {
			return fmt.Errorf("cluster: node: %w", err)
		}
	}
	if _, err := nc.Subscribe(wire.SubjDiscover, func(*nats.Msg) {
		n.mu.Lock()
		up := n.worker != nil
		n.mu.Unlock()
		if up {
			n.publishStatus()
		}
	}); err != nil {
		return fmt.Errorf("cluster: node: %w", err)
	}
	ln, err := n.listenLink()
	if err != nil {
		return err
	}
	if ln != nil {
		defer ln.Close()
		n.link = ln.Addr().String()
	}
	if n.link != "" {
		n.log.Printf("joined %s as incarnation %s; data link at %s", o.url, n.inc, n.link)
	} else {
		n.log.Printf("joined %s as incarnation %s; data through the hub", o.url, n.inc)
	}
	go n.collect(ctx.Done())
	err = n.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// workerStartTimeout bounds the time a worker takes to say hello.
const workerStartTimeout = 10 * time.Second

// maxQueue is how many calls and loads a node queues before it answers "busy".
const maxQueue = 4096

// supervisor is the state of a node's supervisor process (see Run).
type supervisor struct {
	o         options
	nc        *nats.Conn
	inc       string
	host      string
	link      string // the address of the node's data link, "" if it has none (see link.go)
	linkKey   string // what a client presents on it
	log       *log.Logger
	moduleDir string
	items     chan *item
	lost      chan struct{} // closed when the connection to the hub is gone for good
	lostOnce  sync.Once

	heartbeatOnce sync.Once
	idle          idler

	// turn is held by whoever exchanges frames with the worker: the runner, except while it
	// waits for an item, or a call that finds the node with nothing else to do (see runNow).
	// The runner's own fields (held) are read and written under it.
	turn sync.Mutex

	mu        sync.Mutex
	modules   map[string]bool // instantiated in the current worker
	order     []string        // modules to instantiate in every new worker, in load order
	running   string          // task running now, or ""
	group     []string        // the tasks of a group of batches running now (see runGroup)
	held      []*item         // items taken from items that run next (the runner's own)
	worker    *workerProc     // current worker, or nil
	cancelled map[string]time.Time
	parts     map[string]*partial // by SHA-256 and transfer
	data      *store              // the data kept for clients (see data.go)
	// partsMu guards inWorker, the parts the current worker was given (wire.FrameData), and
	// orders the frames that give and drop them.
	partsMu  sync.Mutex
	inWorker map[string]bool
	tiers    []wire.Tier // the current worker's last wire.FrameTiers
	queued   int
	done     int
	restarts int
}

// item is one job for the runner: a call, or the instantiation of a module.
type item struct {
	call  *wire.Call
	raw   []byte // for a call: the message, forwarded to the worker as is
	batch []byte // for a batch: the message, forwarded to the worker as is (call has its task)
	data  bool   // for a batch: it names data the node keeps (see runData)
	calls int    // calls in the batch
	solo  bool   // for a batch: never run in a group (wire.BatchHeader.Solo)
	// output: for a batch, stream its calls' WASI output back (wire.BatchHeader.Output)
	output bool
	reply  string // subject of the call's reply
	load   string // SHA-256 of the module to instantiate
	msg    *nats.Msg
}

// partial is a module arriving in chunks.
type partial struct {
	size    int // of the whole module
	buf     []byte
	sum     hash.Hash // SHA-256 of buf, kept as chunks arrive: the last one needs no pass over all
	started time.Time
}

func (n *supervisor) heartbeat(ctx context.Context) {
	t := time.NewTicker(n.o.heartbeat)
	defer t.Stop()
	for {
		n.publishStatus()
		select {
		case <-ctx.Done():
			return
		case <-n.lost:
			return
		case <-t.C:
		}
	}
}

func (n *supervisor) publishStatus() {
	n.mu.Lock()
	st := wire.Status{
		V: wire.Version, ID: n.o.settings.ID, Incarnation: n.inc, Host: n.host,
		OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(), Engine: n.o.settings.Tier.Engine(),
		Busy: n.queued, Done: n.done, Restarts: n.restarts, Link: n.link, LinkKey: n.linkKey,
	}
	if n.running != "" {
		st.Busy++
	}
	st.Busy += max(0, len(n.group)-1)
	if n.worker != nil {
		st.PID = n.worker.cmd.Process.Pid
	}
	st.BusyNs = int64(n.idle.busyTime())
	for sha := range n.modules {
		st.Modules = append(st.Modules, sha)
	}
	st.Tiers = n.tiers
	n.mu.Unlock()
	st.Data, st.Parts = n.data.usage()
	st.DataLimit = n.data.limit
	st.Held = n.data.held(wire.MaxHeld)
	if kib := procfs.RSS(os.Getpid()); kib > 0 {
		st.RSS = int64(kib+procfs.RSS(st.PID)) << 10
	}
	sort.Strings(st.Modules)
	b, _ := json.Marshal(st)
	n.nc.Publish(wire.SubjStatus, b)
}

func (n *supervisor) respond(m *nats.Msg, v any) {
	if m.Reply == "" {
		return
	}
	b, _ := json.Marshal(v)
	m.Respond(b)
}

// reply answers a call that failed before or while it ran, if it asked for an answer.
func (n *supervisor) reply(subj, task string, err error) {
	if subj != "" {
		n.nc.Publish(subj, wire.AppendReply(nil, &wire.Reply{V: wire.Version, Task: task, Err: wire.EncodeError(err)}))
	}
}

// publishReply sends a worker's reply to a call on to the client. A reply over the hub's max
// payload (arrays that came back larger than the call could carry) cannot leave: the client
// gets a reply that says so instead of waiting for one that never comes.
func (n *supervisor) publishReply(subj string, payload []byte) {
	if err := n.nc.Publish(subj, payload); errors.Is(err, nats.ErrMaxPayload) {
		var rep wire.Reply
		wire.DecodeReply(payload, &rep) // for its task
		n.reply(subj, rep.Task, n.tooLarge(len(payload)))
	}
}

// publishBatch sends a worker's answer to a batch message on to the client, as publishReply.
func (n *supervisor) publishBatch(subj, task string, payload []byte) {
	if err := n.nc.Publish(subj, payload); errors.Is(err, nats.ErrMaxPayload) {
		n.nc.Publish(subj, wire.BatchFailure(task, n.tooLarge(len(payload))))
	}
}

func (n *supervisor) tooLarge(size int) error {
	return fmt.Errorf("the answer of %s is over the hub's max payload of %s: keep large outputs on the nodes (keep) and gather them, scatter into more parts, or pass smaller arrays or fewer calls at once",
		units.Bytes(uint64(size)), units.Bytes(uint64(n.nc.MaxPayload())))
}

func (n *supervisor) onPing(m *nats.Msg) { m.Respond(nil) }

func (n *supervisor) onCall(m *nats.Msg) {
	c := new(wire.Call)
	if err := wire.DecodeCall(m.Data, c); err != nil {
		n.reply(m.Reply, c.Task, err)
		return
	}
	n.mu.Lock()
	n.queued++
	n.mu.Unlock()
	it := &item{call: c, raw: m.Data, reply: m.Reply}
	if behind(m) == 0 && n.runNow(it) {
		return
	}
	select {
	case n.items <- it:
	default:
		n.mu.Lock()
		n.queued--
		n.mu.Unlock()
		n.reply(m.Reply, c.Task, fmt.Errorf("node busy: %d calls queued", maxQueue))
	}
}

// behind counts the messages received on m's subscription after m and not yet handled.
func behind(m *nats.Msg) int {
	if m.Sub == nil {
		return 0
	}
	msgs, _, err := m.Sub.Pending()
	if err != nil {
		return 0
	}
	return msgs
}

// runNow runs a call at once, in the goroutine that received it, if the node has nothing
// else to do: no item queued, held or running, and a worker up. The call then spares the
// runner's wake-up, a goroutine hop that costs as much as the call of a tiny function. While
// it runs, calls that arrive wait in the subscription's pending messages; onCall queues those
// for the runner as usual, so that a flood of calls still fills the queue (and gets "node busy"
// beyond maxQueue) rather than NATS's pending limits.
func (n *supervisor) runNow(it *item) bool {
	if !n.turn.TryLock() {
		return false
	}
	defer n.turn.Unlock()
	n.mu.Lock()
	wp := n.worker
	free := wp != nil && n.queued == 1 && len(n.items) == 0 && len(n.held) == 0
	n.mu.Unlock()
	if !free || wp.killed.Load() || wp.gone.Load() {
		return false // a worker on its way out: the call waits for the next one
	}
	n.idle.begin()
	n.runCall(wp, it)
	n.idle.end()
	return true
}

// onCancel kills the worker if it runs the task, and otherwise remembers to skip the task.
func (n *supervisor) onCancel(m *nats.Msg) {
	c, err := wire.DecodeCancel(m.Data)
	if err != nil {
		return
	}
	n.mu.Lock()
	running := c.Task != "" && (n.running == c.Task || slices.Contains(n.group, c.Task))
	switch {
	case running && c.Queued: // too late to drop it: it runs to its end
	case running:
		if n.worker != nil {
			n.worker.kill()
		}
		if len(n.group) > 0 { // so that runGroup knows which of its batches was cancelled
			n.cancelled[c.Task] = time.Now()
		}
	default:
		now := time.Now()
		n.cancelled[c.Task] = now
		for task, t := range n.cancelled {
			if now.Sub(t) > time.Minute {
				delete(n.cancelled, task)
			}
		}
	}
	n.mu.Unlock()
	if running && !c.Queued {
		n.log.Printf("task %s cancelled: restarting the worker", c.Task)
	}
	n.respond(m, wire.CancelReply{V: wire.Version, Running: running})
}

// onLoad answers "has" and receives chunks; instantiation is queued for the runner, which
// answers the message.
func (n *supervisor) onLoad(m *nats.Msg) {
	fail := func(err error) { n.respond(m, wire.LoadReply{V: wire.Version, Err: wire.EncodeError(err)}) }
	l, err := wire.ReadLoad(m.Header, m.Data)
	if err != nil {
		fail(err)
		return
	}
	sha := l.SHA
	path := filepath.Join(n.moduleDir, sha+".wasm")
	switch l.Op {
	case "has":
		n.mu.Lock()
		have := n.modules[sha]
		n.mu.Unlock()
		if have {
			n.respond(m, wire.LoadReply{V: wire.Version, Have: true})
		} else if _, err := os.Stat(path); err == nil {
			n.enqueueLoad(sha, m)
		} else {
			n.respond(m, wire.LoadReply{V: wire.Version})
		}
	case "chunk":
		key := sha + "/" + l.Transfer
		n.mu.Lock()
		p := n.parts[key]
		if l.Off == 0 {
			// The buffer grows as chunks arrive: a size is only what the sender claims.
			p = &partial{size: l.Size, sum: sha256.New(), started: time.Now()}
			n.parts[key] = p
			for k, q := range n.parts { // forget transfers abandoned by their sender
				if time.Since(q.started) > 10*time.Minute {
					delete(n.parts, k)
				}
			}
		}
		if p == nil || len(p.buf) != l.Off || p.size != l.Size {
			delete(n.parts, key)
			n.mu.Unlock()
			fail(fmt.Errorf("chunk at %d of module %s out of order", l.Off, sha))
			return
		}
		p.buf = append(p.buf, m.Data...)
		p.sum.Write(m.Data)
		complete := len(p.buf) == p.size
		if complete {
			delete(n.parts, key)
		}
		n.mu.Unlock()
		if !complete {
			n.respond(m, wire.LoadReply{V: wire.Version})
			return
		}
		if hex.EncodeToString(p.sum.Sum(nil)) != sha {
			fail(fmt.Errorf("%w: module %s", wire.ErrChecksum, sha))
			return
		}
		if err := writeFileAtomic(path, p.buf); err != nil {
			fail(err)
			return
		}
		n.enqueueLoad(sha, m)
	}
}

func (n *supervisor) enqueueLoad(sha string, m *nats.Msg) {
	select {
	case n.items <- &item{load: sha, msg: m}:
	default:
		n.respond(m, wire.LoadReply{V: wire.Version, Err: wire.EncodeError(errors.New("node busy"))})
	}
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// run owns the worker process: it starts it, feeds it items one at a time, and restarts it.
func (n *supervisor) run(ctx context.Context) error {
	n.turn.Lock()
	defer n.turn.Unlock()
	var backoff time.Duration
	for {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-n.lost:
				return ErrHubLost
			case <-time.After(backoff):
			}
		}
		wp, err := n.startWorker(ctx)
		if ctx.Err() != nil { // stopped while the worker started
			if wp != nil {
				wp.kill()
				<-wp.exited
			}
			return nil
		}
		if err != nil {
			return err
		}
		// The node announces itself once it has a worker, so a client that sees it can use it.
		n.heartbeatOnce.Do(func() {
			go n.heartbeat(ctx)
			go n.idle.run(ctx.Done())
		})
		for wp != nil {
			var it *item
			if len(n.held) > 0 {
				it, n.held = n.held[0], n.held[1:]
			} else {
				n.turn.Unlock() // a call may run meanwhile (see runNow)
				var stopped, lost bool
				select {
				case <-ctx.Done():
					stopped = true
				case <-n.lost:
					stopped, lost = true, true
				case <-wp.exited:
				case it = <-n.items:
				}
				if stopped {
					wp.kill() // a call running meanwhile ends, and lets go of turn
				}
				n.turn.Lock()
				switch {
				case lost:
					<-wp.exited
					return ErrHubLost
				case stopped:
					<-wp.exited
					return nil
				case it == nil: // the worker exited
					wp = nil
					continue
				}
			}
			n.idle.begin()
			switch {
			case it.batch != nil:
				if group := n.gather(it); len(group) > 1 {
					n.runGroup(wp, group)
				} else {
					n.runCall(wp, it)
				}
			case it.call != nil:
				n.runCall(wp, it)
			default:
				n.runLoad(wp, it)
			}
			n.idle.end()
			select {
			case <-wp.exited:
				wp = nil
			default:
			}
		}
		// The worker is gone: find out why.
		n.mu.Lock()
		old := n.worker
		n.worker = nil
		n.modules = map[string]bool{}
		n.tiers = nil
		n.restarts++
		n.mu.Unlock()
		n.partsMu.Lock()
		clear(n.inWorker) // a new worker is given the parts it needs again
		n.partsMu.Unlock()
		if old == nil {
			// Seen once, in a notebook run whose worker was killed to cancel a task: the
			// worker had gone from n.worker before its run ended. Start the next one.
			n.log.Printf("worker gone: restarting")
			backoff = 0
			continue
		}
		code := old.cmd.ProcessState.ExitCode()
		switch {
		case old.killed.Load():
			backoff = 0
		case code == exitConfig:
			return fmt.Errorf("cluster: node: the worker cannot start (%v): see the log", old.cmd.ProcessState)
		case time.Since(old.started) > 10*time.Second:
			backoff = 0
			n.log.Printf("worker exited (%v): restarting", old.cmd.ProcessState)
		default:
			backoff = min(max(100*time.Millisecond, 2*backoff), 5*time.Second)
			n.log.Printf("worker exited (%v) after %v: restarting in %v", old.cmd.ProcessState, time.Since(old.started).Round(time.Millisecond), backoff)
		}
	}
}

// runCall runs one call on the worker and answers it.
func (n *supervisor) runCall(wp *workerProc, it *item) {
	c := it.call
	n.mu.Lock()
	n.queued--
	if _, skip := n.cancelled[c.Task]; skip {
		delete(n.cancelled, c.Task)
		n.mu.Unlock()
		return
	}
	have := n.modules[c.Module]
	n.running = c.Task // from here on a cancel finds it running: no steal takes it
	n.mu.Unlock()
	if !have {
		// The module may be on disk from an earlier run; if not, the worker says so.
		n.loadIn(wp, c.Module)
	}
	defer func() {
		n.mu.Lock()
		n.running = ""
		n.done++
		n.mu.Unlock()
	}()

	if it.batch != nil {
		n.runBatch(wp, it)
		return
	}
	var out callOutput
	if c.Output && it.reply != "" {
		out = newCallOutput(n.nc, it.reply)
		defer out.close()
	} else if it.reply != "" {
		wp.answer.Store(&it.reply)
	}
	payload := it.raw
	if payload == nil {
		payload = wire.AppendCall(nil, c)
	}
	if err := wp.fw.Write(wire.FrameCall, payload); err == nil {
		for f := range wp.frames {
			out.write(f)
			if f.typ == wire.FrameResult {
				out.close()
				if it.reply != "" && !f.published {
					n.publishReply(it.reply, f.payload)
				}
				return
			}
		}
	}
	// The worker died during the call.
	<-wp.exited
	out.close()
	reason := fmt.Errorf("%w (worker %v)", wire.ErrNodeLost, wp.cmd.ProcessState)
	if wp.killed.Load() {
		reason = fmt.Errorf("%w (interrupted)", wire.ErrNodeLost)
	}
	n.reply(it.reply, c.Task, reason)
}

func (n *supervisor) runLoad(wp *workerProc, it *item) {
	err := n.loadIn(wp, it.load)
	if err == nil {
		n.mu.Lock()
		if !slices.Contains(n.order, it.load) {
			n.order = append(n.order, it.load)
		}
		n.mu.Unlock()
	}
	n.respond(it.msg, wire.LoadReply{V: wire.Version, Have: err == nil, Err: wire.EncodeError(err)})
}

// loadIn has the worker instantiate a module from the cache directory.
func (n *supervisor) loadIn(wp *workerProc, sha string) error {
	if err := wp.fw.Write(wire.FrameLoad, []byte(sha)); err != nil {
		<-wp.exited
		return fmt.Errorf("%w: %v", wire.ErrNodeLost, err)
	}
	for f := range wp.frames {
		if f.typ != wire.FrameLoaded {
			continue
		}
		var rep wire.LoadReply
		if err := json.Unmarshal(f.payload, &rep); err != nil {
			return err
		}
		if rep.Err != nil {
			return wire.DecodeError(rep.Err)
		}
		n.mu.Lock()
		n.modules[sha] = true
		n.mu.Unlock()
		return nil
	}
	<-wp.exited
	return wire.ErrNodeLost
}

// setTiers keeps the tier state a worker sent, and announces it when it is news: a module's
// compiled code became ready, or calls switched to it.
func (n *supervisor) setTiers(wp *workerProc, payload []byte) {
	var ts []wire.Tier
	if json.Unmarshal(payload, &ts) != nil {
		return
	}
	n.mu.Lock()
	current := n.worker == wp
	if current {
		n.tiers = ts
	}
	n.mu.Unlock()
	if current {
		n.publishStatus()
	}
}
