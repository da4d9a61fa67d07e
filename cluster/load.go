package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// States of a module on one node, as NodeLoad.State reports them.
const (
	LoadSending       = "sending"       // bytes on their way to the node
	LoadInstantiating = "instantiating" // every byte arrived: the node checks, compiles a first tier, instantiates
	LoadInterpreter   = "interpreter"   // callable on the interpreter (compiled code may be coming)
	LoadCompiled      = "compiled"      // callable on compiled code
	LoadFailed        = "failed"        // the node could not instantiate it: NodeLoad.Err says why
	LoadLost          = "lost"          // the node went silent
)

// NodeLoad is how far one module got on one node.
type NodeLoad struct {
	Node   string
	State  string // LoadSending … LoadLost
	Sent   int    // bytes sent to the node so far (the chunk under way included)
	Cached bool   // the node had the module's bytes already: nothing was sent
	// Ready and Compiled are the times from the start of the shipping to the node until the
	// module was callable, and until compiled code was ready; 0 before.
	Ready, Compiled time.Duration
	Err             error
}

// nodeLoad is what the client saw of one module's shipping to one node.
type nodeLoad struct {
	start           time.Time
	sent            int
	cached          bool
	ready, compiled time.Time
	err             error
}

// Loading is a module on its way to the nodes, as StartLoad began it.
type Loading struct {
	SHA256 string
	Size   int
	Start  time.Time

	c      *Client
	cancel context.CancelFunc
	done   chan struct{} // closed when every node shipped to has answered
	err    error         // the first node's failure, set before done is closed
}

// StartLoad begins shipping module m, as wasm.Decode read it, to every node that lacks it, and
// returns at once. Nodes that join or restart later receive it too: the client keeps m (not a
// copy of its bytes) until the load is cancelled. A call of the module waits until some node
// has instantiated it (on its first tier), and fails with the nodes' error if every node
// failed to. The nodes validate the module fully; the caller may meanwhile (m.Describe).
func (c *Client) StartLoad(m *wasm.Module) (*Loading, error) {
	l := &Loading{SHA256: m.SHA256, Size: len(m.Bytes()), Start: time.Now(), c: c, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(c.ctx)
	l.cancel = cancel
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	if _, ok := c.modules[l.SHA256]; !ok {
		c.modules[l.SHA256] = m
		c.order = append(c.order, l.SHA256)
	}
	var targets []string
	for id, s := range c.nodes {
		if !s.lost {
			targets = append(targets, id)
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	var once sync.Once
	for _, id := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.ship(ctx, id, m); err != nil {
				once.Do(func() { l.err = err })
			}
		}()
	}
	go func() {
		wg.Wait()
		close(l.done)
	}()
	return l, nil
}

// Load decodes a module and ships it as StartLoad does, to every node that lacks it and to
// nodes that join or restart later. It returns the module's SHA-256 once every current node
// has instantiated it, or the first error: wasm.ErrNotWasm or wasm.ErrInvalid for bytes that
// are not a module, or a *RemoteError from a node (an invalid module, a missing import, say),
// after which the client forgets the module.
func (c *Client) Load(ctx context.Context, bin []byte) (string, error) {
	m, err := wasm.Decode(bin)
	if err != nil {
		return "", err
	}
	l, err := c.StartLoad(m)
	if err != nil {
		return "", err
	}
	if err := l.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			l.Cancel()
		}
		return "", err
	}
	return l.SHA256, nil
}

// Closed is closed when the client is: the load goes no further.
func (l *Loading) Closed() <-chan struct{} { return l.c.done }

// Done is closed when every node the module was first shipped to has instantiated it or
// failed to.
func (l *Loading) Done() <-chan struct{} { return l.done }

// Wait waits for Done, and returns the first node's failure.
func (l *Loading) Wait(ctx context.Context) error {
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	}
}

// Cancel stops the shipping and makes the client forget the module: later calls of it fail
// with ErrUnknownModule. Nodes that have it keep it.
func (l *Loading) Cancel() {
	l.cancel()
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.modules, l.SHA256)
	for i, s := range c.order {
		if s == l.SHA256 {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.broadcastLocked()
}

// Progress reports the module's state on every node the client knows, by node ID, and
// whether the load has settled: on every node compiled, on the interpreter with nothing
// better coming, failed or lost.
func (l *Loading) Progress() (nodes []NodeLoad, settled bool) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	settled = true
	for id, s := range c.nodes {
		n := s.loadState(id, l.SHA256, l.Size)
		nodes = append(nodes, n)
		if n.State == LoadSending || n.State == LoadInstantiating || (n.State == LoadInterpreter && s.compiling(l.SHA256)) {
			settled = false
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Node < nodes[j].Node })
	return nodes, settled
}

// loadState is what the client knows of module sha (size bytes) on the node. c.mu is held.
func (s *nodeState) loadState(id, sha string, size int) NodeLoad {
	n := NodeLoad{Node: id}
	l := s.loads[sha]
	if l == nil {
		l = &nodeLoad{}
	}
	n.Sent, n.Cached, n.Err = l.sent, l.cached, l.err
	since := func(t time.Time) time.Duration {
		if t.IsZero() || l.start.IsZero() {
			return 0
		}
		return max(t.Sub(l.start), 0)
	}
	n.Ready, n.Compiled = since(l.ready), since(l.compiled)
	switch {
	case s.lost:
		n.State = LoadLost
	case l.err != nil:
		n.State = LoadFailed
	case !s.has(sha):
		n.State = LoadSending
		if l.sent == size {
			n.State = LoadInstantiating
		}
	case s.info.Tiers[sha].State == wasm.StateCompiled:
		n.State = LoadCompiled
		if n.Compiled == 0 {
			n.Compiled = n.Ready
		}
	default:
		n.State = LoadInterpreter
	}
	return n
}

// compiling says whether compiled code of module sha may still come: the node said so, or
// has not yet said how it runs it. c.mu is held.
func (s *nodeState) compiling(sha string) bool {
	t, ok := s.info.Tiers[sha]
	return !ok || t.State == wasm.StateCompiling
}

// has says whether the node has instantiated module sha. c.mu is held.
func (s *nodeState) has(sha string) bool { return slices.Contains(s.info.Modules, sha) }

// runs says whether the node can take calls of module sha now. c.mu is held.
func (s *nodeState) runs(sha string) bool { return !s.lost && s.has(sha) }

// noteLoad updates what the client saw of module sha's shipping to node id, and wakes whoever
// waits for a change.
func (c *Client) noteLoad(id, sha string, f func(l *nodeLoad)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.nodes[id]
	if s == nil {
		return
	}
	if s.loads == nil {
		s.loads = map[string]*nodeLoad{}
	}
	l := s.loads[sha]
	if l == nil {
		l = &nodeLoad{start: time.Now()}
		s.loads[sha] = l
	}
	f(l)
	c.broadcastLocked()
}

// loadErrLocked is the error a call of module sha gets when no node that ok allows (nil: any)
// can run it now and none ever will: every such node that is not lost failed to instantiate
// it. It is nil while some node may still get the module. c.mu is held.
func (c *Client) loadErrLocked(sha string, ok func(id string) bool) error {
	var first error
	for id, s := range c.nodes {
		if s.lost || (ok != nil && !ok(id)) {
			continue
		}
		l := s.loads[sha]
		if s.has(sha) || l == nil || l.err == nil {
			return nil
		}
		if first == nil {
			first = &RemoteError{Node: id, Err: l.err}
		}
	}
	return first
}

// chunkTries is how many times a chunk is sent to a node that finds it damaged.
const chunkTries = 3

// ship makes node id instantiate module mod, sending its bytes if the node has not got them.
func (c *Client) ship(ctx context.Context, id string, mod *wasm.Module) (err error) {
	sha, bin := mod.SHA256, mod.Bytes()
	c.noteLoad(id, sha, func(l *nodeLoad) { *l = nodeLoad{start: time.Now()} })
	defer func() {
		c.noteLoad(id, sha, func(l *nodeLoad) {
			if err != nil {
				l.err = errors.Unwrap(err) // the RemoteError's cause: the node is known
				if l.err == nil {
					l.err = err
				}
				return
			}
			l.ready = time.Now()
			if !l.compiled.IsZero() && l.compiled.Before(l.ready) {
				l.compiled = l.ready // its status came before its answer
			}
		})
	}()
	subj := wire.NodeSubject(id, "load")
	transfer := wire.RandomHex(8)
	answered := false // the node answered the last request
	request := func(op string, off int, data []byte) (*wire.LoadReply, error) {
		answered = false
		m := nats.NewMsg(subj)
		m.Header.Set(wire.HdrVersion, strconv.Itoa(wire.Version))
		m.Header.Set(wire.HdrOp, op)
		m.Header.Set(wire.HdrSHA, sha)
		if op == "chunk" {
			sum := sha256.Sum256(data)
			m.Header.Set(wire.HdrSize, strconv.Itoa(len(bin)))
			m.Header.Set(wire.HdrOffset, strconv.Itoa(off))
			m.Header.Set(wire.HdrChunkSHA, hex.EncodeToString(sum[:]))
			m.Header.Set(wire.HdrTransfer, transfer)
			m.Data = data
			if c.damage != nil {
				m.Data = c.damage(id, off, data)
			}
		}
		r, err := c.nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			if errors.Is(err, nats.ErrNoResponders) {
				err = ErrNodeLost
			}
			return nil, &RemoteError{Node: id, Err: err}
		}
		var rep wire.LoadReply
		if err := json.Unmarshal(r.Data, &rep); err != nil {
			return nil, &RemoteError{Node: id, Err: err}
		}
		answered = true
		if rep.Err != nil {
			return nil, &RemoteError{Node: id, Err: wire.DecodeError(rep.Err)}
		}
		return &rep, nil
	}
	rep, err := request("has", 0, nil)
	if answered && (err != nil || rep.Have) { // the node had the bytes, and tried them
		c.noteLoad(id, sha, func(l *nodeLoad) { l.cached = true })
	}
	if err != nil {
		return err
	}
	for off := 0; off < len(bin) && !rep.Have; off += c.o.chunk {
		end := min(off+c.o.chunk, len(bin))
		c.noteLoad(id, sha, func(l *nodeLoad) { l.sent = end })
		rep, err = request("chunk", off, bin[off:end])
		// A chunk damaged on the way is rejected before the node keeps any of it: send it
		// again, a few times at most.
		for try := 1; try < chunkTries && errors.Is(err, ErrChecksum); try++ {
			rep, err = request("chunk", off, bin[off:end])
		}
		if err != nil {
			return err
		}
	}
	if !rep.Have {
		return &RemoteError{Node: id, Err: errors.New("module not instantiated after its last chunk")}
	}
	c.mu.Lock()
	if s := c.nodes[id]; s != nil {
		if !slices.Contains(s.loaded, sha) {
			s.loaded = append(s.loaded, sha)
		}
		if !slices.Contains(s.info.Modules, sha) {
			s.info.Modules = append(s.info.Modules, sha)
		}
	}
	c.mu.Unlock()
	return nil
}
