package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// Client is a session's handle on the cluster: it ships modules to nodes and sends them calls.
// Its methods are safe for concurrent use.
type Client struct {
	nc    *nats.Conn
	o     clientOptions
	url   string // the hub's, as given to Connect
	id    string
	inbox string
	done  chan struct{} // closed by Close
	ctx   context.Context
	stop  context.CancelFunc

	mu      sync.Mutex
	nodes   map[string]*nodeState
	others  map[string]int          // nodes heard that speak another wire version: ID → version
	modules map[string]*wasm.Module // by SHA-256: shipped to every node
	order   []string                // modules in load order
	parts   map[string]*stored      // data kept on the nodes, by hash (see Scatter)
	copies  map[copyKey]*copied     // copies of calls' arrays on the nodes (see useCopy)
	inbound chan struct{}           // a token for each chunk on its way back (see dataInbound)
	pending map[string]*pending
	changed chan struct{} // closed and replaced whenever a node changes
	seq     uint64
	closed  bool

	act activity // what a watching dashboard is told (see activity.go)

	// The hub's reachability: hubDown is when the connection dropped (zero while it is up),
	// hubErr is set once it has been down for the hub timeout, and watches are the contexts
	// of WatchHub, cancelled then.
	hubDown  time.Time
	hubTimer *time.Timer
	hubErr   *HubError
	watches  map[uint64]context.CancelCauseFunc
	watchSeq uint64

	// damage, set by tests only, may return a damaged copy of a chunk about to be sent
	// (bytes off… of the module to node id): the chunk's SHA-256 is that of the true bytes.
	damage func(id string, off int, data []byte) []byte
	// linkAddr, set by tests only, may give another address for the data link of node id.
	linkAddr func(id, addr string) string
	// misname, set by tests only, names the parts Scatter sends instead of their hash.
	misname func(part []byte) string
	// socketOnly, set by tests only, sends parts over the data links' sockets even to nodes whose
	// memory the client reaches; memCopied counts the bytes copied through memory.
	socketOnly bool
	memCopied  atomic.Int64
}

// ClientOption configures Connect.
type ClientOption func(*clientOptions) error

type clientOptions struct {
	chunk       int
	nodeTimeout time.Duration
	hubTimeout  time.Duration
	tls         TLS
	name        string
}

// WithChunkSize sets the size of the pieces modules are shipped in. The default is 1 MiB;
// it must stay below the hub's max payload (DefaultMaxPayload).
func WithChunkSize(n int) ClientOption {
	return func(o *clientOptions) error {
		if n < 1 || n > DefaultMaxPayload-4096 {
			return fmt.Errorf("cluster: chunk size %d not within 1…%d", n, DefaultMaxPayload-4096)
		}
		o.chunk = n
		return nil
	}
}

// WithNodeTimeout sets how long a node may stay silent before the client declares it lost and
// fails its calls with ErrNodeLost. The default is 2 s (4 heartbeats).
func WithNodeTimeout(d time.Duration) ClientOption {
	return func(o *clientOptions) error {
		if d <= 0 {
			return fmt.Errorf("cluster: node timeout %v", d)
		}
		o.nodeTimeout = d
		return nil
	}
}

// WithHubTimeout sets how long the client waits for a hub it lost (its connection dropped and
// is being tried again) before calls fail with a *HubError, and the contexts of WatchHub end.
// Calls out when the connection drops fail at once (their answers may be lost with it: see
// ErrNodeLost); calls made while the hub is away wait for it. The client goes on trying to reach
// the hub after the timeout, and calls run again once it is back. The default is
// DefaultHubTimeout (30 s).
func WithHubTimeout(d time.Duration) ClientOption {
	return func(o *clientOptions) error {
		if d <= 0 {
			return fmt.Errorf("cluster: hub timeout %v", d)
		}
		o.hubTimeout = d
		return nil
	}
}

// DefaultHubTimeout is how long a client waits for a hub it lost before its calls fail with a
// *HubError (see WithHubTimeout), and how long a node keeps trying to reach it (see
// node.WithReconnectWindow): 30 s.
const DefaultHubTimeout = wire.HubTimeout

// nodeState is what the client tracks of one node.
type nodeState struct {
	info     NodeInfo
	inc      string // incarnation: changes when the node's supervisor restarts
	lastSeen time.Time
	lost     bool // silent for too long
	syncing  bool // receiving this client's modules
	// loaded are the modules this client saw the node instantiate in its incarnation inc: a
	// status sent while a load was under way, arriving after it, must not drop them.
	loaded []string
	loads  map[string]*nodeLoad // this client's modules' shipping to it, by SHA-256
	// dropped are the tasks out on it when the connection to the hub dropped: they failed, and
	// are cancelled when the node is heard from again (a runaway call would keep it busy for ever).
	dropped  []string
	inflight int
	picked   uint64 // when the scheduler last chose it: among equals, the last chosen is warmest
	// link is the address of the node's data link (see link.go) and linkKey what to present
	// there; noLink is set once it could not be reached in this incarnation: data then moves
	// through the hub. noMem is set once the node's memory could not be reached from here in
	// this incarnation: data then goes over the link's socket (see link.memRequest).
	link, linkKey string
	noLink, noMem bool
}

func (s *nodeState) ready() bool { return !s.lost && !s.syncing }

// pending is a call waiting for its reply.
type pending struct {
	node, inc      string
	stdout, stderr io.Writer
	batch          bool         // a batch message: its answer is passed on raw
	result         chan outcome // buffered: whoever removes the call from the map sends once
}

type outcome struct {
	rep *wire.Reply
	raw []byte      // a batch answer, or an answer to a data message
	hdr nats.Header // the headers of raw's message
	err error
}

// TokenEnv is the environment variable that holds a hub's token for whoever joins it: a
// session's `%cluster connect` and `rain node` take their default token from it, and
// launchers pass it to the nodes they start there, where the process list does not show it.
const TokenEnv = wire.TokenEnv

// Connect joins the hub at url with token, trying for 5 s. Once joined, the client tries to
// reach the hub again whenever it loses it, until Close (see WithHubTimeout).
func Connect(ctx context.Context, url, token string, opts ...ClientOption) (*Client, error) {
	o := clientOptions{chunk: 1 << 20, nodeTimeout: wire.LostAfter * wire.Heartbeat, hubTimeout: DefaultHubTimeout, name: defaultName()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	nc, err := wire.Dial(ctx, url, token, "rain client", wire.FirstDial, -1, nil, o.tls.Options()...)
	if err != nil {
		return nil, err
	}
	// A NATS server Rain did not start may take smaller messages than a chunk (nats-server's
	// default max_payload is 1 MiB): a chunk and its headers must fit.
	if limit := int(nc.MaxPayload()); o.chunk > limit-min(4096, limit/4) {
		o.chunk = limit - min(4096, limit/4)
	}
	bg, stop := context.WithCancel(context.Background())
	c := &Client{
		nc: nc, o: o, url: url, id: wire.RandomHex(6), inbox: nats.NewInbox(), done: make(chan struct{}),
		ctx: bg, stop: stop,
		nodes: map[string]*nodeState{}, modules: map[string]*wasm.Module{}, parts: map[string]*stored{},
		copies:  map[copyKey]*copied{},
		pending: map[string]*pending{}, changed: make(chan struct{}),
		watches: map[uint64]context.CancelCauseFunc{},
	}
	nc.SetDisconnectErrHandler(func(*nats.Conn, error) { c.hubDropped() })
	nc.SetReconnectHandler(func(*nats.Conn) { c.hubBack() })
	sub, err := nc.Subscribe(c.inbox+".>", c.onInbox)
	if err == nil {
		// Replies and output must never be dropped, even behind a slow Stdout.
		err = sub.SetPendingLimits(-1, -1)
	}
	if err == nil {
		_, err = nc.Subscribe(wire.SubjStatus, c.onStatus)
	}
	if err == nil { // nodes that keep data for the client ask whether it is still there
		_, err = nc.Subscribe(wire.ClientSubject(c.id, "alive"), func(m *nats.Msg) { m.Respond(nil) })
	}
	if err == nil {
		_, err = nc.Subscribe(wire.SubjWatch, c.onWatch)
	}
	if err == nil {
		err = nc.Publish(wire.SubjDiscover, nil)
	}
	if err == nil {
		err = nc.Publish(wire.SubjHello, nil)
	}
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	c.inbound = make(chan struct{}, max(1, dataInbound/c.dataChunkSize()))
	go c.monitor()
	return c, nil
}

// Close disconnects; calls in flight fail with ErrClosed, and the nodes drop the data the
// client kept on them.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	c.freeAllLocked()
	if c.hubTimer != nil {
		c.hubTimer.Stop()
	}
	clear(c.watches)
	c.mu.Unlock()
	c.stop()
	if c.act.watchedLately() || c.act.endedLately() { // how its last maps ended, for a dashboard that missed it
		c.publishActivityOnce(true)
	}
	c.nc.Close()
	return nil
}

// hubDropped is called when the connection to the hub drops. Every node is out of reach, so
// none is ready until it is heard from again, and the calls out fail: their requests or answers
// may be lost with the connection. After the hub timeout without the hub, calls fail with a
// *HubError.
func (c *Client) hubDropped() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.hubDown.IsZero() {
		return
	}
	down := time.Now()
	c.hubDown = down
	c.hubTimer = time.AfterFunc(c.o.hubTimeout, func() { c.hubTimedOut(down) })
	for _, s := range c.nodes {
		s.lost = true
	}
	for task, p := range c.pending {
		delete(c.pending, task)
		p.result <- outcome{err: errHubDropped}
		if s := c.nodes[p.node]; s != nil && s.inc == p.inc {
			s.dropped = append(s.dropped, task)
		}
	}
	c.broadcastLocked()
}

// hubTimedOut is called when the hub has been unreachable for the hub timeout since down.
func (c *Client) hubTimedOut(down time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.hubDown.Equal(down) {
		return // the hub came back meanwhile
	}
	c.hubErr = &HubError{URL: c.url, For: c.o.hubTimeout}
	for task, p := range c.pending {
		delete(c.pending, task)
		p.result <- outcome{err: c.hubErr}
	}
	for id, cancel := range c.watches {
		delete(c.watches, id)
		cancel(c.hubErr)
	}
	c.broadcastLocked()
}

// hubBack is called when the connection to the hub is back: nodes are asked to say at once
// that they are there (they are ready again when they do).
func (c *Client) hubBack() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.hubDown, c.hubErr = time.Time{}, nil
	if c.hubTimer != nil {
		c.hubTimer.Stop()
	}
	c.broadcastLocked()
	c.mu.Unlock()
	c.nc.Publish(wire.SubjDiscover, nil)
}

// WatchHub returns a copy of ctx that is cancelled, with a *HubError as its cause
// (context.Cause), once the hub has been unreachable for the hub timeout (WithHubTimeout); at
// once if it already has. Calls end with a *HubError then by themselves; a Map waiting for nodes
// to come back does not: give it such a context. Call the CancelFunc when done with it.
func (c *Client) WatchHub(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hubErr != nil {
		cancel(c.hubErr)
		return ctx, func() {}
	}
	c.watchSeq++
	id := c.watchSeq
	c.watches[id] = cancel
	return ctx, func() {
		c.mu.Lock()
		delete(c.watches, id)
		c.mu.Unlock()
		cancel(context.Canceled)
	}
}

// broadcastLocked wakes everyone waiting for a node to change.
func (c *Client) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) onStatus(m *nats.Msg) {
	st, err := wire.DecodeStatus(m.Data)
	if err != nil {
		if st.V != wire.Version && st.V > 0 && wire.ValidNodeID(st.ID) { // another build of Rain
			c.mu.Lock()
			if c.others == nil {
				c.others = map[string]int{}
			}
			c.others[st.ID] = st.V
			c.broadcastLocked()
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	delete(c.others, st.ID) // restarted with this build
	s := c.nodes[st.ID]
	if s == nil {
		s = &nodeState{}
		c.nodes[st.ID] = s
	}
	if s.inc != st.Incarnation {
		if s.inc != "" {
			c.failNodeLocked(st.ID, s.inc)
		}
		s.inc = st.Incarnation
		s.loaded, s.loads, s.dropped = nil, nil, nil
		s.noLink, s.noMem = false, false
		s.syncing = true
		go c.sync(st.ID, st.Incarnation)
	}
	modules := st.Modules
	for _, sha := range s.loaded {
		if !slices.Contains(modules, sha) {
			modules = append(modules, sha)
		}
	}
	s.info = NodeInfo{
		ID: st.ID, Host: st.Host, OS: st.OS, Arch: st.Arch, Cores: st.Cores, Engine: st.Engine,
		Modules: modules, Done: st.Done, Restarts: st.Restarts, PID: st.PID, RTT: s.info.RTT,
		Tiers: wire.FromTiers(st.Tiers), Data: st.Data, DataParts: st.Parts, DataLimit: st.DataLimit,
	}
	s.link, s.linkKey = st.Link, st.LinkKey
	s.lastSeen = time.Now()
	s.lost = false
	if len(s.dropped) > 0 && c.hubDown.IsZero() {
		go c.cancelAll(st.ID, s.dropped)
		s.dropped = nil
	}
	for sha, l := range s.loads {
		if l.compiled.IsZero() && s.info.Tiers[sha].State == wasm.StateCompiled {
			l.compiled = s.lastSeen
		}
	}
	c.broadcastLocked()
}

// failNodeLocked fails the calls in flight on the node's incarnation inc.
func (c *Client) failNodeLocked(id, inc string) {
	for task, p := range c.pending {
		if p.node == id && p.inc == inc {
			delete(c.pending, task)
			p.result <- outcome{err: ErrNodeLost}
		}
	}
}

// monitor declares silent nodes lost, and forgets nodes silent for a minute.
func (c *Client) monitor() {
	t := time.NewTicker(c.o.nodeTimeout / 8)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := time.Now()
		c.mu.Lock()
		for id, s := range c.nodes {
			silent := now.Sub(s.lastSeen)
			if !s.lost && silent > c.o.nodeTimeout {
				s.lost = true
				c.failNodeLocked(id, s.inc)
				c.broadcastLocked()
			}
			if silent > time.Minute && s.inflight == 0 {
				delete(c.nodes, id)
				c.broadcastLocked()
			}
		}
		c.mu.Unlock()
	}
}

// sync ships the client's modules to a node that appeared or restarted, and measures its RTT.
func (c *Client) sync(id, inc string) {
	rtt := time.Duration(-1)
	for range 3 {
		t0 := time.Now()
		if _, err := c.nc.RequestWithContext(c.ctx, wire.NodeSubject(id, "ping"), nil); err != nil {
			break
		}
		if d := time.Since(t0); rtt < 0 || d < rtt {
			rtt = d
		}
	}
	c.mu.Lock()
	order := append([]string(nil), c.order...)
	c.mu.Unlock()
	for _, sha := range order {
		c.mu.Lock()
		m := c.modules[sha]
		c.mu.Unlock()
		if m != nil {
			c.ship(c.ctx, id, m) // a failure shows when a call needs the module
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.nodes[id]; s != nil && s.inc == inc {
		s.syncing = false
		if rtt >= 0 {
			s.info.RTT = rtt
		}
		c.broadcastLocked()
	}
}

// Call runs an export on a node: call.Node if set, else the ready node with the fewest of this
// client's calls in flight. It waits for a node to be ready (one that restarts, or receives
// this client's modules). If ctx ends first, or while the call runs, the node is told to stop
// the call (restarting its worker if the call was running) and Call returns ErrInterrupted.
// A failure on the node is a *RemoteError: a *wasm.Trap inside for a trap, ErrNodeLost if the
// node died, wasm.ErrNoAllocator, an *wasm.AllocError's message (matching wasm.ErrMemoryLimit
// when the node's memory limit bounds it) or wasm.ErrBadPointer for arrays the instance could
// not take. Arrays that make a message larger than the hub carries go to the node as data kept
// there for the call (see callLarge): on a node with no room for them, the call fails with an
// error wrapping ErrDataLimit.
func (c *Client) Call(ctx context.Context, call Call) (*Result, error) {
	return c.call(ctx, call, false)
}

// errNotReady is readyNodeLocked's answer, with noWait, for a chosen node that is not ready.
var errNotReady = errors.New("cluster: node not ready")

// readyNodeLocked picks the node to run a call of module on (node, or the least loaded when
// ""), waiting until one is ready unless noWait, in which case a chosen node that is not ready
// gives errNotReady. c.mu is held on entry, and on return only when the error is nil.
func (c *Client) readyNodeLocked(ctx context.Context, module, node string, noWait bool) (*nodeState, error) {
	if _, ok := c.modules[module]; !ok {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrUnknownModule, module)
	}
	for {
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.hubErr != nil {
			err := c.hubErr
			c.mu.Unlock()
			return nil, err
		}
		s, err := c.pickLocked(module, node)
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if s != nil {
			if err := ctx.Err(); err != nil {
				c.mu.Unlock()
				return nil, fmt.Errorf("%w (%w)", ErrInterrupted, err)
			}
			return s, nil
		}
		if noWait {
			c.mu.Unlock()
			return nil, errNotReady
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
		case <-changed:
		}
		c.mu.Lock()
	}
}

// call is Call; with noWait, a chosen node (call.Node) that is not ready fails the call with
// ErrNodeLost at once instead of being waited for.
func (c *Client) call(ctx context.Context, call Call, noWait bool) (*Result, error) {
	submitted := time.Now()
	c.mu.Lock()
	s, err := c.readyNodeLocked(ctx, call.Module, call.Node, noWait)
	if errors.Is(err, errNotReady) {
		return nil, &RemoteError{Node: call.Node, Func: call.Func, Err: ErrNodeLost}
	}
	if err != nil {
		return nil, err
	}
	c.seq++
	task := c.id + "-" + strconv.FormatUint(c.seq, 36)
	s.picked = c.seq
	s.inflight++
	node := s.info.ID
	p := &pending{node: node, inc: s.inc, stdout: call.Stdout, stderr: call.Stderr, result: make(chan outcome, 1)}
	c.pending[task] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, task)
		if s := c.nodes[node]; s != nil {
			s.inflight--
		}
		c.mu.Unlock()
	}()

	size := 128 + 8*len(call.Args)
	if len(call.Buffers) > 0 {
		size += wire.BuffersSize(call.Buffers)
	}
	limit := int(c.nc.MaxPayload())
	var req []byte
	if size <= limit { // else no need to copy the arrays to learn it
		req = wire.AppendCall(make([]byte, 0, size), &wire.Call{
			V: wire.Version, Task: task, Module: call.Module, Func: call.Func, Args: call.Args, Bufs: call.Buffers,
			Output: call.Stdout != nil || call.Stderr != nil,
		})
	}
	if req == nil || len(req) > limit {
		call.Node = node
		return c.callLarge(ctx, call, noWait, limit)
	}
	if err := c.nc.PublishRequest(wire.NodeSubject(node, "call"), c.inbox+"."+task, req); err != nil {
		return nil, fmt.Errorf("cluster: call: %w", err)
	}
	select {
	case out := <-p.result:
		if out.err != nil {
			return nil, &RemoteError{Node: node, Func: call.Func, Err: out.err}
		}
		r := &Result{
			Values: out.rep.Values, Buffers: changed(out.rep.Bufs), Node: node, Submitted: submitted,
			Started: wire.Time(out.rep.Started), Finished: wire.Time(out.rep.Finished), Received: time.Now(),
			Tier: out.rep.Tier,
		}
		if out.rep.Err != nil {
			r.Values, r.Err = nil, &RemoteError{Node: node, Func: call.Func, Err: wire.DecodeError(out.rep.Err)}
		}
		if c.act.watching.Load() {
			c.act.addResults(call.Export, []Result{*r})
		}
		if r.Err != nil {
			return nil, r.Err
		}
		return r, nil
	case <-ctx.Done():
		c.cancel(node, task)
		return nil, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	case <-c.done:
		return nil, ErrClosed
	}
}

// changed marks the buffers of a node's answer as those the call changed, which they are.
func changed(bufs []wasm.Buffer) []wasm.Buffer {
	for k := range bufs {
		bufs[k].Changed = true
	}
	return bufs
}

// cancelAll tells a node to stop tasks, without waiting for its answers.
func (c *Client) cancelAll(node string, tasks []string) {
	for _, task := range tasks {
		b, _ := json.Marshal(wire.Cancel{V: wire.Version, Task: task})
		c.nc.Publish(wire.NodeSubject(node, "cancel"), b)
	}
}

// cancel tells a node to stop a task, and waits briefly for it to say it has.
func (c *Client) cancel(node, task string) {
	b, _ := json.Marshal(wire.Cancel{V: wire.Version, Task: task})
	c.nc.Request(wire.NodeSubject(node, "cancel"), b, 300*time.Millisecond)
}

// errStolen is the cause of a batch's end when a map took its tasks back from the node's
// queue to run them elsewhere.
var errStolen = errors.New("cluster: taken back from the node's queue")

// steal asks node to drop task if it has not started it, and reports whether the task may be
// run elsewhere: false only when the node says it is running. A node that does not answer may
// have dropped it, so the task is better run again than waited for: its answer, should it
// come after all, is ignored.
func (c *Client) steal(node, task string) bool {
	b, _ := json.Marshal(wire.Cancel{V: wire.Version, Task: task, Queued: true})
	m, err := c.nc.Request(wire.NodeSubject(node, "cancel"), b, 300*time.Millisecond)
	if err != nil {
		return true
	}
	var r wire.CancelReply
	return json.Unmarshal(m.Data, &r) != nil || wire.CheckVersion(r.V) != nil || !r.Running
}

// pickLocked chooses the node for a call of module: node id, or the least loaded node that
// has instantiated the module and, among equals, the one chosen last (calls one after another
// find its threads awake: a node idle for a while answers its next call later). nil (and no error) means "wait for a change": the module may
// still reach a node. A module no node could instantiate fails the call with their error.
func (c *Client) pickLocked(module, id string) (*nodeState, error) {
	if id != "" {
		s := c.nodes[id]
		if s == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownNode, id)
		}
		if s.runs(module) {
			return s, nil
		}
		return nil, c.loadErrLocked(module, func(n string) bool { return n == id })
	}
	if len(c.nodes) == 0 {
		return nil, ErrNoNodes
	}
	var best *nodeState
	for _, s := range c.nodes {
		if !s.runs(module) {
			continue
		}
		if best == nil || s.inflight < best.inflight || (s.inflight == best.inflight && s.picked > best.picked) {
			best = s
		}
	}
	if best == nil {
		return nil, c.loadErrLocked(module, nil)
	}
	return best, nil
}

// onInbox receives replies (<inbox>.<task>) and output (<inbox>.<task>.o or .e). Both come
// from the node in order on this one subscription, so a call's output is all written before
// its reply is handled.
func (c *Client) onInbox(m *nats.Msg) {
	rest := strings.TrimPrefix(m.Subject, c.inbox+".")
	task, stream, _ := strings.Cut(rest, ".")
	c.mu.Lock()
	p := c.pending[task]
	if p != nil && stream == "" {
		delete(c.pending, task)
	}
	c.mu.Unlock()
	if p == nil {
		return
	}
	switch stream {
	case "o":
		if p.stdout != nil {
			p.stdout.Write(m.Data)
		}
	case "e":
		if p.stderr != nil {
			p.stderr.Write(m.Data)
		}
	case "":
		// The server answers a request nobody is subscribed to any more (a node that has just
		// died) with an empty "503 No Responders" status message.
		// No more work goes to that node until it is heard from again.
		if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
			c.mu.Lock()
			if s := c.nodes[p.node]; s != nil && s.inc == p.inc && !s.lost {
				s.lost = true
				c.failNodeLocked(p.node, p.inc)
				c.broadcastLocked()
			}
			c.mu.Unlock()
			p.result <- outcome{err: ErrNodeLost}
			return
		}
		if p.batch {
			p.result <- outcome{raw: m.Data, hdr: m.Header}
			return
		}
		rep := new(wire.Reply)
		if err := wire.DecodeReply(m.Data, rep); err != nil {
			p.result <- outcome{err: fmt.Errorf("cluster: bad reply: %w", err)}
		} else {
			p.result <- outcome{rep: rep}
		}
	}
}

// Nodes lists the nodes the client knows, by ID.
func (c *Client) Nodes() []NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := make([]NodeInfo, 0, len(c.nodes))
	for _, s := range c.nodes {
		info := s.info
		info.Modules = append([]string(nil), info.Modules...)
		info.Tiers = maps.Clone(info.Tiers)
		info.Busy = s.inflight
		info.Ready = s.ready()
		info.DataLink = s.link != "" && !s.noLink && !c.o.tls.Enabled()
		list = append(list, info)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list
}

// Refresh asks every node for its status now, and returns once each node that is not lost
// has sent it, or when ctx ends: Nodes then shows what the nodes hold now (a status otherwise
// comes every heartbeat, 500 ms).
func (c *Client) Refresh(ctx context.Context) {
	c.mu.Lock()
	asked := time.Now()
	var ids []string
	for id, s := range c.nodes {
		if !s.lost {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	if c.nc.Publish(wire.SubjDiscover, nil) != nil {
		return
	}
	for {
		c.mu.Lock()
		fresh := true
		for _, id := range ids {
			if s := c.nodes[id]; s != nil && !s.lost && !s.lastSeen.After(asked) {
				fresh = false
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if fresh {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-c.done:
			return
		}
	}
}

// Changed is closed when next the client's view of the nodes changes: a status arrives (with
// the bytes of data a node keeps, say), a node is lost or joins, a module or a part reaches a
// node. Read Nodes after it to see the change.
func (c *Client) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// WaitNodes waits until at least n nodes are ready. While the hub is away, it waits for the hub
// too, however long: ctx bounds the wait.
func (c *Client) WaitNodes(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		ready := 0
		for _, s := range c.nodes {
			if s.ready() {
				ready++
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if ready >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			if others := c.OtherBuilds(); others != "" {
				return fmt.Errorf("cluster: %d of %d nodes ready (%s): %w", ready, n, others, ctx.Err())
			}
			return fmt.Errorf("cluster: %d of %d nodes ready: %w", ready, n, ctx.Err())
		case <-changed:
		}
	}
}

// OtherBuilds says which nodes the client heard on the hub that it cannot use because they
// speak another version of the wire protocol — another build of Rain — and what to do; "" if
// none.
func (c *Client) OtherBuilds() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.others) == 0 {
		return ""
	}
	ids := slices.Sorted(maps.Keys(c.others))
	more := ""
	if len(ids) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(ids)-1)
	}
	return fmt.Sprintf("node %s%s speaks wire version %d, this session %d: run the same build of rain on the nodes as here",
		ids[0], more, c.others[ids[0]], wire.Version)
}
