package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/grain"
	"github.com/rain-wasm/rain/wasm"
)

// MapSpec is a map of one export over many inputs.
type MapSpec struct {
	Export
	Args [][]uint64 // one argument tuple per task, encoded as wazero encodes them
	// Buffers, if not nil, has the arrays of each task (see Call.Buffers): Buffers[i] are task
	// i's, nil for none. What a task leaves in them comes back in its Result.Buffers. A task
	// whose arrays make a message larger than the hub carries runs alone, as a Call does.
	Buffers [][]wasm.Buffer
	// Out, if not nil, gives each task an array of its own as one more argument, after its
	// Args: a copy of Out.Data (zeros, for an output) aligned to Out.Align; Out.Arg is ignored.
	// Every task that succeeds has it in its Result.Buffers, as the function left it: the map's
	// outputs, in input order. Out.Data is sent, not copied, for each task: it must not change
	// while the map runs.
	Out *wasm.Buffer
	// Chunk is how many tasks a node is handed at once. 0 chooses as the map goes (auto-grain,
	// see grain.Auto): the first chunks are single tasks, later ones are sized from the measured
	// cost per call and dispatch overhead to reach about 90 % efficiency, and they shrink toward
	// the tail so that no node is left idle.
	// A chunk travels to its node as one batch (CallBatch), run by the node in order.
	Chunk int
	// Nodes, if not empty, restricts the map to these node IDs.
	Nodes []string
	// Retries is how many times a task that traps is run again. A task whose node dies under
	// it is always run again elsewhere (up to maxLossRetries times).
	Retries int
	// Data, if not nil, gives task i a part kept on the nodes (see Client.Scatter) as its
	// argument Data[i].Arg, put in the instance's memory as an array of Buffers is: the task runs
	// on the node that holds its part, and no byte of the part travels. A task is pinned to its
	// part's node: no other node steals it. A node lost during the map loses its parts: each is
	// sent again from the client's copy (or computed again, for a map's kept output) to the node
	// with the most room, and its tasks run there. Nodes must be empty.
	Data []DataArg
	// Keep, with Data and Out, leaves each task's Out array on its node as a part (see
	// Result.Kept) instead of sending it back: the client holds it until Free, and computes it
	// again from its input should its node be lost.
	Keep bool
	// OutLike, with Data and Out, gives each task an Out array as large as its part, of zeros:
	// Out.Data is not used, Out.Align is.
	OutLike bool
}

// maxLossRetries bounds the reruns of a task whose node died under it, in case the task itself
// kills its worker.
const maxLossRetries = 3

// slotsPerNode is how many chunks each node holds at once: one running, one queued behind it.
const slotsPerNode = 2

// A chunk expected to take more than soloWork on its node runs in a worker frame of its own,
// so that it can be stolen while it waits (see BatchCall.solo); cheaper ones may share one
// with the chunks queued beside them, which spares a round trip with the worker each.
const soloWork = time.Millisecond

// halveWork is the expected work above which a chunk that will wait behind another on its
// node is cut in half (see takeLocked).
const halveWork = 10 * time.Millisecond

// Chunks of fewer than smallChunk calls get smallChunkSlots slots per node.
const (
	smallChunk      = 16
	smallChunkSlots = 8
)

// MapProgress is reported as tasks finish.
type MapProgress struct {
	Done, Total int
	Retried     int // reruns so far (after traps or lost nodes)
	Failed      int
	Nodes       int // nodes that took work so far
	Elapsed     time.Duration
	Index       int    // the task whose final result just arrived
	Task        Result // and that result
}

// MapResult is a map's outcome: one Result per input, in input order.
type MapResult struct {
	Tasks       []Result
	Chunk       int    // the chunk size asked for, or the largest one auto-grain chose
	Chunks      []int  // the size of every chunk handed out, in order (reruns included)
	ChunkReason string // how the chunk sizes were chosen
	Retried     int    // total reruns
	Stolen      int    // tasks taken back from a node's queue, unstarted, by an idle node
	Failed      int    // tasks whose Err is set
	Began       time.Time
	Elapsed     time.Duration
	// Sent and Received are the bytes of the map's messages to its nodes and of their answers:
	// of a map over data kept on the nodes (MapSpec.Data), no byte of the data.
	Sent, Received int64
}

// NodeStats is one node's share of a map.
type NodeStats struct {
	Tasks int
	Busy  time.Duration // sum of the node's started→finished spans
}

// PerNode sums each node's tasks and busy time.
func (r *MapResult) PerNode() map[string]NodeStats {
	m := map[string]NodeStats{}
	for _, t := range r.Tasks {
		if t.Node == "" {
			continue
		}
		s := m[t.Node]
		s.Tasks++
		if !t.Started.IsZero() && t.Finished.After(t.Started) {
			s.Busy += t.Finished.Sub(t.Started)
		}
		m[t.Node] = s
	}
	return m
}

// BusyNodes is the nodes' summed busy time over the elapsed time: how many nodes were
// computing on average. It is no speedup: a node that waits for a core (nodes sharing fewer
// cores, or beside another program) counts that wait as busy time. A speedup is measured
// against a run on one node.
func (r *MapResult) BusyNodes() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	var busy time.Duration
	for _, s := range r.PerNode() {
		busy += s.Busy
	}
	return float64(busy) / float64(r.Elapsed)
}

// Map runs spec.Func once per argument tuple, spread over the ready nodes, and returns the
// results in input order. Nodes pull work: each holds at most two chunks, and whichever node
// finishes a chunk takes the next, so a faster node takes more. A task that traps fails alone
// (its Result.Err is set; the error of Map stays nil); a task whose node dies runs again on
// another node (a retry). Once every task is handed out, a node with nothing to do takes a
// chunk that waits, unstarted, in another node's queue (it is stolen, not copied: the other
// node drops it), so a slow node does not hold back the map's end. A chunk that has started
// is never taken from its node: only the node's silence (WithNodeTimeout) has its tasks run
// again elsewhere. Nodes that join during the map take work at once.
//
// progress, if not nil, is called (never concurrently) as tasks finish.
//
// If ctx ends, queued tasks are dropped, running ones are cancelled (their workers restart),
// and Map returns the partial result with an error wrapping ErrInterrupted.
func (c *Client) Map(ctx context.Context, spec MapSpec, progress func(MapProgress)) (_ *MapResult, err error) {
	c.mu.Lock()
	_, known := c.modules[spec.Module]
	allowed := map[string]bool{}
	var unknown string
	for _, id := range spec.Nodes {
		if c.nodes[id] == nil && unknown == "" {
			unknown = id
		}
		allowed[id] = true
	}
	ready := 0
	for id, s := range c.nodes {
		if s.runs(spec.Module) && (len(allowed) == 0 || allowed[id]) {
			ready++
		}
	}
	closed := c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !known:
		return nil, fmt.Errorf("%w: %q", ErrUnknownModule, spec.Module)
	case unknown != "":
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, unknown)
	case spec.Chunk < 0:
		return nil, fmt.Errorf("cluster: map: chunk %d", spec.Chunk)
	case spec.Retries < 0:
		return nil, fmt.Errorf("cluster: map: retries %d", spec.Retries)
	case spec.Buffers != nil && len(spec.Buffers) != len(spec.Args):
		return nil, fmt.Errorf("cluster: map: arrays for %d tasks, arguments for %d", len(spec.Buffers), len(spec.Args))
	case spec.Data != nil && len(spec.Data) != len(spec.Args):
		return nil, fmt.Errorf("cluster: map: data for %d tasks, arguments for %d", len(spec.Data), len(spec.Args))
	case spec.Data != nil && len(spec.Nodes) > 0:
		return nil, errors.New("cluster: map: a map over data runs where its parts are: give no Nodes")
	case (spec.Keep || spec.OutLike) && (spec.Data == nil || spec.Out == nil):
		return nil, errors.New("cluster: map: Keep and OutLike are for a map over data (Data) with an output (Out)")
	}
	for i, d := range spec.Data {
		if d.Arg < 0 || d.Arg >= len(spec.Args[i]) {
			return nil, fmt.Errorf("cluster: map: task %d takes its part as argument %d of %d", i, d.Arg, len(spec.Args[i]))
		}
	}
	large, err := c.largeTasks(spec)
	if err != nil {
		return nil, err
	}
	var infos map[string]partInfo
	if spec.Data != nil {
		hashes := make([]string, len(spec.Data))
		for i, d := range spec.Data {
			hashes[i] = d.Hash
		}
		if err := c.hold(hashes); err != nil { // so that a Free while the map runs leaves them
			return nil, err
		}
		defer c.Free(hashes...)
		infos = c.partInfos(hashes)
	}
	// A hub away for longer than the hub timeout ends the map, with a *HubError.
	ctx, unwatch := c.WatchHub(ctx)
	defer unwatch()
	n := len(spec.Args)
	r := &MapResult{Tasks: make([]Result, n), Chunk: spec.Chunk, Began: time.Now()}
	m := &mapRun{c: c, spec: spec, r: r, progress: progress, left: n, slots: map[string]int{},
		wake: make(chan struct{}), used: map[string]bool{}, allowed: allowed, nodes: max(ready, 1),
		final: make([]bool, n), retries: make([]int, n), flights: map[*flight]bool{},
		infos: infos, queues: map[string][]int{}, large: large}
	m.id = c.act.beginMap(m)
	defer func() { c.endMap(m, err) }()
	if spec.Out != nil && spec.Data != nil {
		m.outZeros = spec.OutLike || !slices.ContainsFunc(spec.Out.Data, func(b byte) bool { return b != 0 })
	}
	defer func() { r.Sent, r.Received = m.traffic.sent.Load(), m.traffic.received.Load() }()
	if spec.Chunk == 0 {
		m.g = grain.NewAuto(slotsPerNode, wire.MaxBatchItems)
	}
	defer func() {
		if m.g != nil {
			r.Chunk, r.ChunkReason = m.g.Summary(r.Chunks)
		} else {
			r.ChunkReason = fmt.Sprintf("chunk %d as asked", r.Chunk)
		}
	}()
	if n == 0 {
		return r, nil
	}
	if ready == 0 {
		if err := m.waitReady(ctx); err != nil {
			var hub *HubError
			if errors.As(context.Cause(ctx), &hub) {
				return r, hub
			}
			if ctx.Err() != nil {
				return r, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
			}
			return r, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx
	if spec.Data != nil {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		m.mu.Lock()
		m.requeueLocked(all)
		m.mu.Unlock()
	}
	m.run()
	r.Elapsed = time.Since(r.Began)
	var hub *HubError
	if errors.As(context.Cause(ctx), &hub) && m.leftNow() > 0 {
		return r, hub
	}
	if err := ctx.Err(); err != nil && m.leftNow() > 0 {
		return r, fmt.Errorf("%w (%w)", ErrInterrupted, context.Cause(ctx))
	}
	if m.leftNow() > 0 {
		return r, ErrClosed
	}
	return r, nil
}

// largeTasks says which tasks of a map with arrays would not fit in a message: each runs alone
// as a large call does (see placeLarge). It fails with ErrTooLarge for such a task of a map over
// data, or for a task whose arguments alone would not fit.
func (c *Client) largeTasks(spec MapSpec) (map[int]bool, error) {
	if spec.Buffers == nil && spec.Out == nil {
		return nil, nil
	}
	var large map[int]bool
	limit := int(c.nc.MaxPayload())
	zeros := spec.Data != nil && (spec.OutLike || spec.Out != nil && !slices.ContainsFunc(spec.Out.Data, func(b byte) bool { return b != 0 }))
	for i, a := range spec.Args {
		size := batchOverhead + 8*(len(a)+1)
		if spec.Buffers != nil && len(spec.Buffers[i]) > 0 {
			size += wire.BuffersSize(spec.Buffers[i])
		}
		if spec.Out != nil && !zeros { // zeros for a map over data are made by the node
			size += wire.BuffersSize([]wasm.Buffer{*spec.Out})
		}
		if size > limit && (spec.Data != nil || batchOverhead+8*(len(a)+1) > limit) {
			return nil, tooLarge(fmt.Sprintf("%s (task %d of the map)", spec.Func, i), size, limit)
		}
		if size > limit {
			if large == nil {
				large = map[int]bool{}
			}
			large[i] = true
		}
	}
	return large, nil
}

// waitReady waits for one of the map's nodes to have instantiated its module. It fails with
// the nodes' error if none of them could.
func (m *mapRun) waitReady(ctx context.Context) error {
	for {
		m.c.mu.Lock()
		if m.c.closed {
			m.c.mu.Unlock()
			return ErrClosed
		}
		for id, s := range m.c.nodes {
			if m.may(id) && s.runs(m.spec.Module) {
				m.c.mu.Unlock()
				return nil
			}
		}
		if len(m.c.nodes) > 0 {
			if err := m.c.loadErrLocked(m.spec.Module, m.may); err != nil {
				m.c.mu.Unlock()
				return err
			}
		}
		changed := m.c.changed
		m.c.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: none of the map's nodes is ready: %w", ctx.Err())
		case <-changed:
		}
	}
}

// mapRun is one Map in progress.
type mapRun struct {
	id       uint64      // the client's count of its maps (see activity.go)
	told     atomic.Bool // a dashboard was told it runs (see activity.go)
	c        *Client
	ctx      context.Context
	spec     MapSpec
	r        *MapResult
	progress func(MapProgress)
	wg       sync.WaitGroup

	allowed map[string]bool // the nodes the map may use; empty: all
	g       *grain.Auto     // auto-grain, when no chunk size was asked for

	mu     sync.Mutex
	reruns [][]int        // chunks to run again, handed out first
	next   int            // first task not yet handed out
	nodes  int            // ready nodes the map may use, last counted
	left   int            // tasks without a final result
	slots  map[string]int // running slots per node
	wake   chan struct{}  // closed and replaced when queue or left changes
	used   map[string]bool
	done   int

	final   []bool           // tasks whose result is recorded
	retries []int            // attempts beyond the first, per task
	flights map[*flight]bool // chunks out on nodes
	costN   int              // calls answered so far, and their node-side time
	costSum time.Duration

	// A map over data (MapSpec.Data): each task waits in the queue of the node that holds its
	// part, or for its part to be placed again (placing counts those tasks).
	infos    map[string]partInfo
	queues   map[string][]int
	placing  int
	outZeros bool // the Out arrays are zeros, made by the nodes
	traffic  traffic

	large map[int]bool // tasks too large for a message: each runs alone (see placeLarge)

	progressMu sync.Mutex
}

// partInfo is what a map over data needs to know of a part.
type partInfo struct{ size, align int }

// partInfos are the sizes and alignments of parts the client holds.
func (c *Client) partInfos(hashes []string) map[string]partInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos := map[string]partInfo{}
	for _, hash := range hashes {
		if p := c.parts[hash]; p != nil {
			infos[hash] = partInfo{p.size, p.align}
		}
	}
	return infos
}

// flight is a chunk out on a node.
type flight struct {
	tasks    []int
	node     string
	sent     time.Time
	msgs     []string // the tasks of its batch messages, once sent
	stealing bool     // an idle node asked for it (once is enough)
	cancel   context.CancelCauseFunc
}

// may says whether the map may use node id.
func (m *mapRun) may(id string) bool { return len(m.allowed) == 0 || m.allowed[id] }

func (m *mapRun) leftNow() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.left
}

func (m *mapRun) wakeLocked() {
	close(m.wake)
	m.wake = make(chan struct{})
}

// run starts slots on every ready node, and on nodes that become ready, until every task has
// its result or ctx ends.
func (m *mapRun) run() {
	defer m.wg.Wait()
	for {
		m.mu.Lock()
		left, wake := m.left, m.wake
		m.mu.Unlock()
		if left == 0 || m.ctx.Err() != nil {
			return
		}
		m.c.mu.Lock()
		if m.c.closed {
			m.c.mu.Unlock()
			return
		}
		changed := m.c.changed
		var ready []string
		for id, s := range m.c.nodes {
			if m.may(id) && s.runs(m.spec.Module) {
				ready = append(ready, id)
			}
		}
		m.c.mu.Unlock()
		m.mu.Lock()
		if len(ready) > 0 {
			m.nodes = len(ready)
		}
		if m.spec.Data != nil {
			m.restaleLocked()
		}
		for _, id := range ready {
			for m.slots[id] < m.slotsPerNode() {
				m.slots[id]++
				m.wg.Add(1)
				go m.slot(id)
			}
		}
		m.mu.Unlock()
		select {
		case <-m.ctx.Done():
			return
		case <-m.c.done:
			return
		case <-changed:
		case <-wake:
		}
	}
}

// slotsPerNode is how many chunks the map keeps on each node: slotsPerNode, and more for
// chunks of a few calls, whose round trip would otherwise leave the node waiting between them.
func (m *mapRun) slotsPerNode() int {
	if m.g == nil && m.spec.Chunk > 0 && m.spec.Chunk < smallChunk {
		return smallChunkSlots
	}
	return slotsPerNode
}

// ready says whether node id may take a chunk of the map's module now.
func (m *mapRun) ready(id string) bool {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	s := m.c.nodes[id]
	return s != nil && s.runs(m.spec.Module)
}

// slot takes chunks for node id until none are left, the map ends or the node fails.
func (m *mapRun) slot(id string) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		m.slots[id]--
		m.wakeLocked() // let run start a new slot if the node is ready again
		m.mu.Unlock()
	}()
	for {
		m.mu.Lock()
		var chunk []int
		for !m.queuedForLocked(id) && m.left > 0 && m.ctx.Err() == nil {
			if f := m.victimLocked(id); f != nil {
				f.stealing = true
				m.mu.Unlock()
				ok := m.c.steal(f.node, f.msgs[0])
				m.mu.Lock()
				if ok {
					if chunk = m.stolenLocked(f); chunk != nil {
						break
					}
				}
				continue
			}
			wake := m.wake
			m.mu.Unlock()
			select {
			case <-wake:
			case <-m.ctx.Done():
			}
			m.mu.Lock()
		}
		if chunk == nil {
			if !m.queuedForLocked(id) || m.ctx.Err() != nil {
				m.mu.Unlock()
				return
			}
			if chunk = m.takeLocked(id); chunk == nil {
				m.mu.Unlock()
				continue
			}
		}
		m.mu.Unlock()
		if !m.ready(id) {
			// The node was lost while the slot waited (its chunk stolen, say): the chunk goes
			// back to the queue unrun, rather than fail at once and spend one of its tasks'
			// retries on a node known to be gone.
			m.mu.Lock()
			if m.spec.Data != nil {
				m.requeueLocked(chunk)
			} else {
				m.reruns = append([][]int{chunk}, m.reruns...)
			}
			m.wakeLocked()
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		m.used[id] = true
		m.mu.Unlock()

		if !m.runChunk(id, chunk) {
			return // the node failed: run starts new slots on it once it is ready again
		}
	}
}

// runChunk sends a chunk's tasks to node id in one batch and records their results as each of
// its messages is answered. Tasks whose node died under them, and traps still to be retried,
// go back to the queue; it returns false if the node died.
func (m *mapRun) runChunk(id string, chunk []int) bool {
	var args [][]uint64
	var bufs [][]wasm.Buffer
	b := BatchCall{Export: m.spec.Export, Node: id, traffic: &m.traffic}
	switch {
	case m.spec.Data != nil:
		args, bufs = m.dataChunk(chunk, &b)
	case m.spec.Out != nil: // one argument more, for the output's pointer
		args, bufs = make([][]uint64, len(chunk)), make([][]wasm.Buffer, len(chunk))
		for k, i := range chunk {
			a := m.spec.Args[i]
			args[k] = append(a[:len(a):len(a)], 0)
			if m.spec.Buffers != nil {
				bufs[k] = m.spec.Buffers[i][:len(m.spec.Buffers[i]):len(m.spec.Buffers[i])]
			}
			bufs[k] = append(bufs[k], wasm.Buffer{Arg: len(a), Data: m.spec.Out.Data, Align: m.spec.Out.Align})
		}
	case consecutive(chunk): // the arguments as they are; reruns may have gaps
		args = m.spec.Args[chunk[0] : chunk[0]+len(chunk)]
		if m.spec.Buffers != nil {
			bufs = m.spec.Buffers[chunk[0] : chunk[0]+len(chunk)]
		}
	default:
		args = make([][]uint64, len(chunk))
		if m.spec.Buffers != nil {
			bufs = make([][]wasm.Buffer, len(chunk))
		}
		for k, i := range chunk {
			args[k] = m.spec.Args[i]
			if bufs != nil {
				bufs[k] = m.spec.Buffers[i]
			}
		}
	}
	b.Args, b.Buffers = args, bufs
	ctx, cancel := context.WithCancelCause(m.ctx)
	defer cancel(nil)
	f := &flight{tasks: chunk, node: id, sent: time.Now(), cancel: cancel}
	m.mu.Lock()
	m.flights[f] = true
	m.mu.Unlock()
	var st chunkStats
	var inc string // the node's incarnation the chunk went to
	sent := func(at string, tasks []string) {
		m.mu.Lock()
		inc = at
		f.msgs = tasks
		if !m.queuedLocked() {
			m.wakeLocked() // an idle node may steal it
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	solo := m.costN > 0 && time.Duration(len(chunk))*m.costSum/time.Duration(m.costN) > soloWork
	m.mu.Unlock()
	b.solo = solo
	var l *large // a task too large for a message: its arrays go to the node first
	var ok bool
	var err error
	if len(chunk) == 1 && m.large[chunk[0]] {
		if l, err = m.c.placeLarge(ctx, m.spec.Func, len(args[0]), bufs[0], id, int(m.c.nc.MaxPayload())); err == nil {
			defer l.release()
			l.lay(&b)
		}
	}
	if err == nil {
		ok, err = m.c.streamBatch(ctx, b, true, sent, func(lo int, rs []Result) {
			if l != nil && ctx.Err() == nil && rs[0].Err == nil {
				if err := m.c.fetchLarge(ctx, &rs[0]); err != nil {
					rs[0] = Result{Node: id, Err: err, Submitted: rs[0].Submitted}
				}
			} else if l != nil {
				m.c.dropLarge(&rs[0]) // not this one's results
			}
			if ctx.Err() == nil { // else interrupted, or stolen: not this one's results
				if m.spec.Out != nil && !m.spec.Keep {
					m.withOut(chunk[lo:lo+len(rs)], args[lo:lo+len(rs)], rs)
				}
				m.record(id, chunk[lo:lo+len(rs)], rs, &st)
				if len(st.kept) > 0 {
					m.keep(id, inc, chunk[lo:lo+len(rs)], args[lo:lo+len(rs)], rs, &st)
				}
			}
		})
	}
	if !ok && ctx.Err() == nil { // the batch failed as a whole, before reaching the node
		if remote := (*RemoteError)(nil); errors.As(err, &remote) { // placing a large task's arrays there
			err = remote.Err
		}
		rs := make([]Result, len(chunk))
		for k := range rs {
			rs[k] = Result{Node: id, Err: &RemoteError{Node: id, Func: m.spec.Func, Err: err}}
		}
		m.record(id, chunk, rs, &st)
	}
	if m.g != nil && ctx.Err() == nil && !st.first.IsZero() {
		m.g.Observe(id, len(chunk)-len(st.lost)-len(st.again), st.busy, st.last.Sub(st.first))
	}
	if len(st.noData) > 0 { // the node no longer holds these parts (it restarted): send them again
		m.c.unplace(id, st.noData)
	}
	m.mu.Lock()
	delete(m.flights, f)
	m.costN += len(chunk) - len(st.lost) - len(st.again)
	m.costSum += st.busy
	switch {
	case m.spec.Data != nil:
		m.requeueLocked(append(st.lost, st.again...))
	default:
		if len(st.lost) > 0 {
			m.reruns = append(m.reruns, st.lost)
		}
		if len(st.again) > 0 {
			m.reruns = append(m.reruns, st.again)
		}
	}
	if len(st.lost)+len(st.again) > 0 {
		m.wakeLocked()
	}
	m.mu.Unlock()
	if m.ctx.Err() != nil || errors.Is(context.Cause(ctx), errStolen) {
		return true // interrupted (the chunk's tasks without results stay so), or stolen
	}
	return len(st.lost) == 0
}

// withOut gives every call of rs that succeeded its Out array, a copy of Out.Data if the call
// left it unchanged (and so it did not travel back); tasks are the calls' tasks, and args their
// arguments, the Out pointer last.
func (m *mapRun) withOut(tasks []int, args [][]uint64, rs []Result) {
	for k := range rs {
		r := &rs[k]
		arg := len(args[k]) - 1
		if _, ok := r.Buffer(arg); ok || r.Err != nil {
			continue
		}
		out := bytes.Clone(m.spec.Out.Data)
		if m.spec.OutLike {
			out = make([]byte, m.infos[m.spec.Data[tasks[k]].Hash].size)
		}
		r.Buffers = append(r.Buffers[:len(r.Buffers):len(r.Buffers)], wasm.Buffer{Arg: arg, Data: out, Align: m.spec.Out.Align})
	}
}

// dataChunk lays out a chunk of a map over data: each call's part, and its output (zeros the
// node makes, or a copy of Out.Data), as data b names; and the calls' arguments and arrays.
func (m *mapRun) dataChunk(chunk []int, b *BatchCall) (args [][]uint64, bufs [][]wasm.Buffer) {
	out := m.spec.Out
	args = make([][]uint64, len(chunk))
	b.data, b.dataSizes = make([][]wire.DataRef, len(chunk)), make([]int, len(chunk))
	if m.spec.Buffers != nil || out != nil && !m.outZeros {
		bufs = make([][]wasm.Buffer, len(chunk))
	}
	for k, i := range chunk {
		a, d := m.spec.Args[i], m.spec.Data[i]
		info := m.infos[d.Hash]
		b.data[k] = []wire.DataRef{{Arg: d.Arg, Align: info.align, Hash: d.Hash}}
		b.dataSizes[k] = info.size
		if m.spec.Buffers != nil {
			bufs[k] = m.spec.Buffers[i][:len(m.spec.Buffers[i]):len(m.spec.Buffers[i])]
		}
		if out == nil {
			args[k] = a
			continue
		}
		args[k] = append(a[:len(a):len(a)], 0)
		switch {
		case m.outZeros:
			size := len(out.Data)
			if m.spec.OutLike {
				size = info.size
			}
			b.data[k] = append(b.data[k], wire.DataRef{Arg: len(a), Align: out.Align, Zeros: size})
			b.dataSizes[k] += size
		default:
			bufs[k] = append(bufs[k], wasm.Buffer{Arg: len(a), Data: out.Data, Align: out.Align})
		}
	}
	if m.spec.Keep {
		keep := len(m.spec.Args[chunk[0]])
		b.keep = &keep
	}
	return args, bufs
}

// keep records the outputs the tasks' node (in incarnation inc) kept: those of final results
// (st.kept) the client holds from now on, with how they were computed; those of copies
// answered after them are dropped. tasks, args and rs are as record and withOut take them.
func (m *mapRun) keep(id, inc string, tasks []int, args [][]uint64, rs []Result, st *chunkStats) {
	for _, k := range st.kept {
		r := &rs[k]
		i := tasks[k]
		if !st.final[k] {
			m.c.drop(id, r.Kept.Hash)
			continue
		}
		d := m.spec.Data[i]
		from := &lineage{export: m.spec.Export, args: args[k], input: d.Hash, inputArg: d.Arg,
			outAlign: m.spec.Out.Align, keep: len(args[k]) - 1}
		switch {
		case !m.outZeros:
			from.out = m.spec.Out.Data
		case m.spec.OutLike:
			from.outZeros = m.infos[d.Hash].size
		default:
			from.outZeros = len(m.spec.Out.Data)
		}
		m.c.kept(wire.Kept{Hash: r.Kept.Hash, Size: r.Kept.Size}, id, inc, m.spec.Out.Align, from)
	}
	st.kept, st.final = st.kept[:0], st.final[:0]
}

// requeueLocked queues tasks of a map over data, that have no final result, on the nodes that
// hold their parts; tasks whose part is nowhere wait for it to be placed again.
func (m *mapRun) requeueLocked(tasks []int) {
	var nowhere []int
	m.c.mu.Lock()
	for _, i := range tasks {
		if m.final[i] {
			continue
		}
		if p := m.c.parts[m.spec.Data[i].Hash]; p != nil && m.c.placedLocked(p) {
			m.queues[p.node] = append(m.queues[p.node], i)
		} else {
			nowhere = append(nowhere, i)
		}
	}
	m.c.mu.Unlock()
	if len(tasks) > 0 {
		m.wakeLocked()
	}
	if len(nowhere) == 0 {
		return
	}
	byHash := map[string][]int{}
	for _, i := range nowhere {
		hash := m.spec.Data[i].Hash
		byHash[hash] = append(byHash[hash], i)
	}
	m.placing += len(nowhere)
	for hash, tasks := range byHash {
		m.wg.Go(func() {
			node, err := m.c.ensure(m.ctx, hash)
			m.mu.Lock()
			m.placing -= len(tasks)
			if err == nil {
				m.queues[node] = append(m.queues[node], tasks...)
			}
			m.wakeLocked()
			m.mu.Unlock()
			if err != nil && m.ctx.Err() == nil {
				// Said without its sentinel, so that record takes it as final: ensure tried.
				err = fmt.Errorf("cluster: map: the part %.12s of this task could not be placed again: %v", hash, err)
				rs := make([]Result, len(tasks))
				for k := range rs {
					rs[k].Err = err
				}
				m.record("", tasks, rs, &chunkStats{})
			}
		})
	}
}

// restaleLocked moves the tasks queued on a node that no longer holds their parts (it was
// lost, or restarted) to be queued again, where their parts are placed again.
func (m *mapRun) restaleLocked() {
	var stale []int
	m.c.mu.Lock()
	for id, q := range m.queues {
		keep := q[:0]
		for _, i := range q {
			if p := m.c.parts[m.spec.Data[i].Hash]; p != nil && p.node == id && m.c.placedLocked(p) {
				keep = append(keep, i)
			} else {
				stale = append(stale, i)
			}
		}
		m.queues[id] = keep
	}
	m.c.mu.Unlock()
	if len(stale) > 0 {
		m.requeueLocked(stale)
	}
}

// queuedForLocked says whether tasks wait to be handed out to node id.
func (m *mapRun) queuedForLocked(id string) bool {
	if m.spec.Data != nil {
		return len(m.queues[id]) > 0
	}
	return m.queuedLocked()
}

// consecutive reports whether chunk is i, i+1, i+2….
func consecutive(chunk []int) bool {
	for k, i := range chunk {
		if i != chunk[0]+k {
			return false
		}
	}
	return true
}

// chunkStats sums up the results of one chunk as its messages are answered.
type chunkStats struct {
	busy        time.Duration  // sum of the started→finished spans of its calls
	first, last time.Time      // first submitted, last received
	lost, again []int          // tasks to run again: their node died, or they trapped
	notes       []progressNote // record's, kept from one message to the next
	noData      []string       // parts the node said it does not hold
	kept        []int          // results (indexes in record's rs) with a kept output
	final       []bool         // for each of kept: whether its result was final
}

// progressNote is what a MapProgress says beyond the task's result, at the time it was recorded.
type progressNote struct {
	i, done, retried, failed, nodes int
}

// record takes the results rs of the chunk's tasks, as one message brought them back: each
// task gets its final result, or goes to st.lost or st.again to be run again. It takes m.mu
// once for them all, then reports progress task by task.
func (m *mapRun) record(id string, tasks []int, rs []Result, st *chunkStats) {
	notes := st.notes[:0]
	m.mu.Lock()
	elapsed := time.Since(m.r.Began)
	if a := &m.c.act; a.watching.Load() {
		a.mu.Lock()
		for k, i := range tasks {
			a.addLocked(id, m.spec.Export, m.id, rs[k].Started, rs[k].Finished, spanKind(rs[k].Err, m.retries[i]))
		}
		a.mu.Unlock()
	}
	for k, i := range tasks {
		b := &rs[k]
		if b.Kept != nil {
			st.kept, st.final = append(st.kept, k), append(st.final, !m.final[i])
		}
		if m.final[i] { // a copy answered first
			continue
		}
		if b.Err != nil {
			var trap *wasm.Trap
			noData := errors.Is(b.Err, ErrNoData) // its part, or a large task's array, is no longer on the node
			if noData && m.spec.Data != nil {
				st.noData = append(st.noData, m.spec.Data[i].Hash)
			}
			lost := errors.Is(b.Err, ErrNodeLost) || noData
			if lost && m.retries[i] < m.spec.Retries+maxLossRetries || !lost && errors.As(b.Err, &trap) && m.retries[i] < m.spec.Retries {
				m.retries[i]++
				m.r.Retried++
				if lost {
					st.lost = append(st.lost, i)
				} else {
					st.again = append(st.again, i)
				}
				continue
			}
			m.r.Failed++
		} else {
			if !b.Started.IsZero() && !b.Finished.Before(b.Started) {
				st.busy += b.Finished.Sub(b.Started)
			}
			if st.first.IsZero() || b.Submitted.Before(st.first) {
				st.first = b.Submitted
			}
			if b.Received.After(st.last) {
				st.last = b.Received
			}
		}
		m.final[i] = true
		t := &m.r.Tasks[i] // written once, by the goroutine that made final[i] true
		*t = *b
		t.Node, t.Retries = id, m.retries[i]
		m.left--
		m.done++
		if m.progress != nil {
			notes = append(notes, progressNote{i: i, done: m.done, retried: m.r.Retried, failed: m.r.Failed, nodes: len(m.used)})
		}
	}
	if m.left == 0 {
		m.wakeLocked()
	}
	if len(notes) > 0 {
		// Taken before m.mu is let go, so that reports keep the order of their notes: another
		// message's record cannot report its later notes first.
		m.progressMu.Lock()
	}
	m.mu.Unlock()
	st.notes = notes
	if len(notes) > 0 {
		for _, n := range notes {
			m.progress(MapProgress{Done: n.done, Total: len(m.r.Tasks), Retried: n.retried, Failed: n.failed,
				Nodes: n.nodes, Elapsed: elapsed, Index: n.i, Task: m.r.Tasks[n.i]}) // final: read without m.mu
		}
		m.progressMu.Unlock()
	}
}

// victimLocked picks, for a slot of node id when nothing is left to hand out, a chunk to steal:
// one that waits behind another chunk of the map on its node, the last sent of those (the one
// whose node would start it last). Only a node with no chunk of the map in flight steals: a
// node still busy might not start a stolen chunk any sooner. nil if there is none.
func (m *mapRun) victimLocked(id string) *flight {
	first := map[string]*flight{}               // each node's earliest chunk: likely running
	if m.busyLocked(id) || m.spec.Data != nil { // a task over data is pinned to its part's node
		return nil
	}
	for f := range m.flights {
		if e := first[f.node]; e == nil || f.sent.Before(e.sent) {
			first[f.node] = f
		}
	}
	var victim *flight
	for f := range m.flights {
		// A task too large for a message is not stolen: its arrays would travel again, and a
		// node that ran it all the same would keep its outputs for no one.
		if first[f.node] != f && !f.stealing && len(f.msgs) == 1 && !m.large[f.tasks[0]] && (victim == nil || f.sent.After(victim.sent)) {
			victim = f
		}
	}
	return victim
}

// stolenLocked ends flight f, whose node dropped it unstarted, and hands out its tasks that
// have no result yet.
func (m *mapRun) stolenLocked(f *flight) []int {
	f.cancel(errStolen)
	var chunk []int
	for _, i := range f.tasks {
		if !m.final[i] {
			chunk = append(chunk, i)
		}
	}
	m.r.Stolen += len(chunk) // the same chunk, moved: Chunks has it already
	return chunk
}

// busyLocked says whether node id has a chunk of the map out.
func (m *mapRun) busyLocked(id string) bool {
	for f := range m.flights {
		if f.node == id {
			return true
		}
	}
	return false
}

// queuedLocked says whether tasks wait to be handed out.
func (m *mapRun) queuedLocked() bool {
	if m.spec.Data != nil {
		for _, q := range m.queues {
			if len(q) > 0 {
				return true
			}
		}
		return m.placing > 0
	}
	return len(m.reruns) > 0 || m.next < len(m.spec.Args)
}

// takeLocked hands out the next chunk for node id: a rerun first, else the next tasks in input
// order, as many as the asked chunk size or auto-grain says.
func (m *mapRun) takeLocked(id string) []int {
	if m.spec.Data != nil {
		return m.takeDataLocked(id)
	}
	for len(m.reruns) > 0 {
		chunk := slices.DeleteFunc(m.reruns[0], func(i int) bool { return m.final[i] }) // a copy may have answered
		m.reruns = m.reruns[1:]
		if len(chunk) > 0 {
			m.r.Chunks = append(m.r.Chunks, len(chunk))
			return chunk
		}
	}
	if m.next >= len(m.spec.Args) {
		return nil
	}
	size := m.spec.Chunk
	if m.g != nil {
		size = m.g.Size(id, len(m.spec.Args)-m.next, m.nodes)
		// A long chunk that will wait behind another on its node is cut in half: it is
		// committed to the node before the one ahead of it says what calls cost now (they may
		// grow costlier as the map goes on), and it cannot be stolen once started.
		if time.Duration(size)*m.g.Cost() > halveWork && m.busyLocked(id) {
			size = max(1, size/2)
		}
	}
	size = max(1, min(size, len(m.spec.Args)-m.next))
	for k := 0; m.large != nil && k < size; k++ {
		if m.large[m.next+k] {
			size = max(1, k) // alone, or up to the next that goes alone
		}
	}
	chunk := make([]int, size)
	for k := range chunk {
		chunk[k] = m.next + k
	}
	m.next += size
	m.r.Chunks = append(m.r.Chunks, size)
	return chunk
}

// takeDataLocked hands out the next chunk of node id's queue, in a map over data.
func (m *mapRun) takeDataLocked(id string) []int {
	q := slices.DeleteFunc(m.queues[id], func(i int) bool { return m.final[i] })
	if len(q) == 0 {
		m.queues[id] = q
		return nil
	}
	size := m.spec.Chunk
	if m.g != nil {
		size = m.g.Size(id, len(q), m.nodes)
		if time.Duration(size)*m.g.Cost() > halveWork && m.busyLocked(id) {
			size = max(1, size/2)
		}
	}
	size = max(1, min(size, len(q)))
	chunk := slices.Clone(q[:size])
	m.queues[id] = q[size:]
	m.r.Chunks = append(m.r.Chunks, size)
	return chunk
}

// NodeIDs lists the nodes that ran tasks of the map, sorted.
func (r *MapResult) NodeIDs() []string {
	per := r.PerNode()
	ids := make([]string, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
