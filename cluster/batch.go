package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/wasm"
)

// BatchCall is many calls of one export, sent to one node in as few messages as the size
// bound allows (see CallBatch).
type BatchCall struct {
	Module string     // SHA-256 of the module (as returned by Client.Load)
	Func   string     // export name
	Args   [][]uint64 // one argument tuple per call, all of the same length, encoded as wazero encodes them
	Node   string     // optional: run on this node ID; empty means least-loaded

	solo bool // run in a frame of its own on the node (batchHeader.Solo)
}

// BatchResult is the outcome of one call of a batch.
type BatchResult struct {
	Values []uint64
	Err    error  // nil, or why this call failed: a *RemoteError (a *wasm.Trap inside for a trap)
	Node   string // the node the call was sent to
	Tier   string // the engine that ran the call: wasm.EngineInterpreter or wasm.EngineCompiler
	// Started and Finished are read from the node's clock: a call starts when the one before it
	// in its message finishes (the first when the worker took the message).
	Started, Finished time.Time
	// Submitted and Received are batch-level: when the message carrying this call was sent
	// by the client and when its answer came back.
	Submitted, Received time.Time
}

// maxBatchBytes bounds the arguments (and so, for small results, the answer) of one batch
// message; larger batches are split into several messages to the same node.
const maxBatchBytes = 1 << 20

// maxBatchItems bounds the calls of one message whatever their arity.
const maxBatchItems = 1 << 16

// The batch path encodes its messages as a 4-byte big-endian length, a small JSON header, then
// the values in binary (little-endian uint64s), which costs far less than JSON arrays. The node
// forwards the request to its worker unchanged, in one frame, and the worker's answer to the
// client unchanged, in one message.
//
//	request body: N×Arity argument values
//	answer body:  N finish times (int64 Unix ns, node clock), then N×Results values
//	              (zeros for a call that failed)
type batchHeader struct {
	V      int    `json:"v"`
	Task   string `json:"task"`
	Module string `json:"module"`
	Func   string `json:"func"`
	N      int    `json:"n"`
	Arity  int    `json:"arity"`
	// Solo asks the node to run the message in a frame of its own, never in a group (see
	// gather): a group runs as one, so none of its messages can be stolen while it runs. A
	// map sets it for chunks of more than a little work.
	Solo bool `json:"solo,omitempty"`
}

type batchReplyHeader struct {
	V        int          `json:"v"`
	Task     string       `json:"task"`
	N        int          `json:"n"`
	Results  int          `json:"results"`
	Started  int64        `json:"started"` // worker took the message, Unix ns, node clock
	Finished int64        `json:"finished"`
	Tier     string       `json:"tier,omitempty"` // the engine that ran every call of the message
	Errs     []batchError `json:"errs,omitempty"` // calls that failed, by index
	Err      *wireError   `json:"err,omitempty"`  // the whole message failed: no body
}

type batchError struct {
	I   int        `json:"i"`
	Err *wireError `json:"err"`
}

// packBatch lays out a header and a body of n uint64s, leaving the body for the caller to fill.
func packBatch(hdr any, body int) ([]byte, []byte) {
	h, _ := json.Marshal(hdr)
	buf := make([]byte, 4+len(h)+8*body)
	binary.BigEndian.PutUint32(buf, uint32(len(h)))
	copy(buf[4:], h)
	return buf, buf[4+len(h):]
}

// unpackBatch reads a message's header into hdr and returns its body.
func unpackBatch(msg []byte, hdr any) ([]byte, error) {
	if len(msg) < 4 {
		return nil, errors.New("cluster: short batch message")
	}
	n := binary.BigEndian.Uint32(msg)
	if uint64(n) > uint64(len(msg)-4) {
		return nil, errors.New("cluster: bad batch header length")
	}
	if err := json.Unmarshal(msg[4:4+n], hdr); err != nil {
		return nil, fmt.Errorf("cluster: bad batch header: %w", err)
	}
	return msg[4+n:], nil
}

// readBatch reads a batch request: its header, checked against this wire version and the
// bounds of a batch, and its N×Arity argument values.
func readBatch(msg []byte) (batchHeader, []byte, error) {
	var h batchHeader
	args, err := unpackBatch(msg, &h)
	if err == nil {
		err = checkVersion(h.V)
	}
	if err == nil && (h.N < 0 || h.N > maxBatchItems || !holds(args, h.N, h.Arity)) {
		err = fmt.Errorf("cluster: batch of %d calls × %d arguments in %d bytes", h.N, h.Arity, len(args))
	}
	return h, args, err
}

// holds reports whether body is exactly n×m values of 8 bytes, counting without overflow.
func holds(body []byte, n, m int) bool {
	if n < 0 || m < 0 {
		return false
	}
	if n == 0 || m == 0 {
		return len(body) == 0
	}
	vals := len(body) / 8
	return len(body)%8 == 0 && vals%n == 0 && vals/n == m
}

// batchFailure is the answer of a message that failed as a whole.
func batchFailure(task string, err error) []byte {
	b, _ := packBatch(batchReplyHeader{V: wireVersion, Task: task, Err: toWire(err)}, 0)
	return b
}

// CallBatch runs b.Func once per argument tuple on one node (b.Node, or the least-loaded ready
// node), in order, and returns one BatchResult per tuple, in input order. The calls travel in
// as few messages as possible (about 1 MiB of arguments each), each run by the node's worker
// in one go and answered in one message: the cost of a round trip is paid per message, not
// per call.
//
// A call that traps fails alone (its BatchResult.Err is set); so do the calls of a message
// whose node died (ErrNodeLost inside). CallBatch itself fails for what fails every call: an
// unknown module or node, no nodes, tuples of different lengths, a closed client, or a node
// that rejects the batch (wasm.ErrNoExport, a wrong number of arguments: a *RemoteError,
// returned with the results, whose Err is set to it). If ctx ends,
// the node is told to stop (its worker restarts if it was running the batch) and CallBatch
// returns the results it has, with an error wrapping ErrInterrupted; calls without a result
// have Err set to ErrInterrupted.
func (c *Client) CallBatch(ctx context.Context, b BatchCall) ([]BatchResult, error) {
	return c.callBatch(ctx, b, false)
}

// callBatch is CallBatch; with noWait, a chosen node (b.Node) that is not ready fails every
// call with ErrNodeLost at once instead of being waited for.
func (c *Client) callBatch(ctx context.Context, b BatchCall, noWait bool) ([]BatchResult, error) {
	var res []BatchResult
	if len(b.Args) > 0 {
		res = make([]BatchResult, len(b.Args))
	}
	ok, err := c.streamBatch(ctx, b, noWait, nil, func(lo int, rs []BatchResult) { copy(res[lo:], rs) })
	if !ok || errors.Is(err, ErrClosed) {
		return nil, err
	}
	return res, err
}

// batchScratch holds the []BatchResult that streamBatch decodes each answer into.
var batchScratch sync.Pool

// streamBatch is callBatch, handing the results of each message to got as its answer arrives:
// rs are the results of the calls lo…lo+len(rs) of the batch, valid only until got returns.
// It reports whether got was called for every call (once), which it is whenever the batch
// reached the point of sending; got is never called otherwise. A map decodes each answer
// straight into its own results, with no array of them per chunk.
//
// sent, if not nil, is told the node and the tasks of the batch's messages once they are sent:
// a map may then steal them while they wait in the node's queue (Client.steal). If ctx ends
// with the cause errStolen, the node has dropped them already and is not told to cancel.
func (c *Client) streamBatch(ctx context.Context, b BatchCall, noWait bool, sent func(node string, tasks []string),
	got func(lo int, rs []BatchResult)) (bool, error) {
	n := len(b.Args)
	arity := 0
	if n > 0 {
		arity = len(b.Args[0])
	}
	for i, a := range b.Args {
		if len(a) != arity {
			return false, fmt.Errorf("cluster: batch: tuple %d has %d values, tuple 0 has %d", i, len(a), arity)
		}
	}
	if n == 0 {
		return true, nil
	}
	per := min(maxBatchItems, max(1, maxBatchBytes/(8*max(arity, 1))))
	scratch, _ := batchScratch.Get().(*[]BatchResult)
	if scratch == nil {
		scratch = new([]BatchResult)
	}
	used := min(n, per)
	if cap(*scratch) < used {
		*scratch = make([]BatchResult, used)
	}
	defer func() {
		clear((*scratch)[:used]) // hold on to no results
		batchScratch.Put(scratch)
	}()
	// each hands got the results of calls lo…hi, set by fill.
	each := func(lo, hi int, fill func(rs []BatchResult)) {
		for ; lo < hi; lo += per {
			rs := (*scratch)[:min(per, hi-lo)]
			fill(rs)
			got(lo, rs)
		}
	}
	c.mu.Lock()
	s, err := c.readyNodeLocked(ctx, b.Module, b.Node, noWait)
	if errors.Is(err, errNotReady) {
		lost := &RemoteError{Node: b.Node, Func: b.Func, Err: ErrNodeLost}
		each(0, n, func(rs []BatchResult) {
			for i := range rs {
				rs[i] = BatchResult{Node: b.Node, Err: lost}
			}
		})
		return true, nil
	}
	if err != nil {
		return false, err
	}
	type message struct {
		task      string
		lo, hi    int
		p         *pending
		submitted time.Time
	}
	msgs := make([]*message, 0, (n+per-1)/per)
	node := s.info.ID
	for lo := 0; lo < n; lo += per {
		c.seq++
		m := &message{task: c.id + "-" + strconv.FormatUint(c.seq, 36), lo: lo, hi: min(lo+per, n),
			p: &pending{node: node, inc: s.inc, batch: true, result: make(chan outcome, 1)}}
		c.pending[m.task] = m.p
		msgs = append(msgs, m)
	}
	s.picked = c.seq
	s.inflight += n
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		for _, m := range msgs {
			delete(c.pending, m.task)
		}
		if s := c.nodes[node]; s != nil {
			s.inflight -= n
		}
		c.mu.Unlock()
	}()

	for _, m := range msgs {
		req, body := packBatch(batchHeader{V: wireVersion, Task: m.task, Module: b.Module, Func: b.Func, Solo: b.solo,
			N: m.hi - m.lo, Arity: arity}, (m.hi-m.lo)*arity)
		k := 0
		for _, a := range b.Args[m.lo:m.hi] {
			for _, v := range a {
				binary.LittleEndian.PutUint64(body[k:], v)
				k += 8
			}
		}
		m.submitted = time.Now()
		if err := c.nc.PublishRequest(nodeSubject(node, "batch"), c.inbox+"."+m.task, req); err != nil {
			return false, fmt.Errorf("cluster: batch: %w", err)
		}
	}
	if sent != nil {
		tasks := make([]string, len(msgs))
		for k, m := range msgs {
			tasks[k] = m.task
		}
		sent(node, tasks)
	}
	var failed error // a message that failed for a reason that is not the node's death
	fail := func(m *message, err error) {
		each(m.lo, m.hi, func(rs []BatchResult) {
			for i := range rs {
				rs[i] = BatchResult{Node: node, Err: err, Submitted: m.submitted}
			}
		})
		if failed == nil && !errors.Is(err, ErrNodeLost) && !errors.Is(err, ErrInterrupted) && !errors.Is(err, ErrClosed) {
			failed = err
		}
	}
	for k, m := range msgs {
		select {
		case out := <-m.p.result:
			received := time.Now()
			if out.err != nil {
				fail(m, &RemoteError{Node: node, Func: b.Func, Err: out.err})
				continue
			}
			rs := (*scratch)[:m.hi-m.lo]
			if err := decodeBatch(out.raw, m.hi-m.lo, rs, node, b.Func); err != nil {
				fail(m, &RemoteError{Node: node, Func: b.Func, Err: err})
				continue
			}
			for i := range rs {
				rs[i].Submitted, rs[i].Received = m.submitted, received
			}
			got(m.lo, rs)
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errStolen) {
				var wg sync.WaitGroup
				for _, m := range msgs[k:] {
					wg.Go(func() { c.cancel(node, m.task) })
				}
				wg.Wait()
			}
			for _, m := range msgs[k:] {
				fail(m, ErrInterrupted)
			}
			return true, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
		case <-c.done:
			for _, m := range msgs[k:] {
				fail(m, ErrClosed)
			}
			return true, ErrClosed
		}
	}
	return true, failed
}

// decodeBatch fills res (the calls of one message) from the node's answer.
func decodeBatch(msg []byte, n int, res []BatchResult, node, fn string) error {
	var h batchReplyHeader
	body, err := unpackBatch(msg, &h)
	if err != nil {
		return err
	}
	if err := checkVersion(h.V); err != nil {
		return err
	}
	if h.Err != nil {
		return fromWire(h.Err)
	}
	if h.N != n || h.Results < 0 || !holds(body, n, 1+h.Results) {
		return fmt.Errorf("cluster: batch answer of %d calls × %d results in %d bytes, want %d calls", h.N, h.Results, len(body), n)
	}
	vals := make([]uint64, n*h.Results)
	for k := range vals {
		vals[k] = binary.LittleEndian.Uint64(body[8*(n+k):])
	}
	started := h.Started
	for i := range n {
		finished := int64(binary.LittleEndian.Uint64(body[8*i:]))
		res[i] = BatchResult{Values: vals[i*h.Results : (i+1)*h.Results : (i+1)*h.Results], Node: node,
			Tier: h.Tier, Started: unixNano(started), Finished: unixNano(finished)}
		started = finished
	}
	for _, e := range h.Errs {
		if e.I >= 0 && e.I < n {
			res[e.I].Values = nil
			res[e.I].Err = &RemoteError{Node: node, Func: fn, Err: fromWire(e.Err)}
		}
	}
	return nil
}

// onBatch queues a batch message for the runner.
func (n *node) onBatch(m *nats.Msg) {
	h, _, err := readBatch(m.Data)
	if err != nil {
		if m.Reply != "" {
			m.Respond(batchFailure(h.Task, err))
		}
		return
	}
	n.mu.Lock()
	n.queued++
	n.mu.Unlock()
	select {
	case n.items <- &item{call: &callMsg{Task: h.Task, Module: h.Module, Func: h.Func}, batch: m.Data, calls: h.N, solo: h.Solo, reply: m.Reply}:
	default:
		n.mu.Lock()
		n.queued--
		n.mu.Unlock()
		if m.Reply != "" {
			m.Respond(batchFailure(h.Task, fmt.Errorf("node busy: %d calls queued", maxQueue)))
		}
	}
}

// runBatch runs one batch message on the worker and answers it.
func (n *node) runBatch(wp *workerProc, it *item) {
	if err := wp.fw.write(frameBatch, it.batch); err == nil {
		for f := range wp.frames {
			if f.typ == frameBatchResult {
				n.mu.Lock()
				n.done += it.calls - 1 // runCall counts one
				n.mu.Unlock()
				if it.reply != "" {
					n.nc.Publish(it.reply, f.payload)
				}
				return
			}
		}
	}
	// The worker died during the batch.
	<-wp.exited
	reason := fmt.Errorf("%w (worker %v)", ErrNodeLost, wp.cmd.ProcessState)
	if wp.killed.Load() {
		reason = fmt.Errorf("%w (interrupted)", ErrNodeLost)
	}
	if it.reply != "" {
		n.nc.Publish(it.reply, batchFailure(it.call.Task, reason))
	}
}

// batch runs a batch message in the worker, through wasm's fast path (no context: a cancel
// kills the worker, so nothing needs to watch for one between calls).
func (w *worker) batch(payload []byte) []byte {
	w.moved = false
	h, args, err := readBatch(payload)
	if err != nil {
		return batchFailure(h.Task, err)
	}
	inst, ok := w.instances[h.Module]
	if !ok {
		return batchFailure(h.Task, fmt.Errorf("%w: %s", errNoModule, h.Module))
	}
	f, ok := inst.Info().Export(h.Func)
	switch {
	case !ok:
		return batchFailure(h.Task, fmt.Errorf("%w: %s", wasm.ErrNoExport, h.Func))
	case len(f.Params) != h.Arity:
		return batchFailure(h.Task, fmt.Errorf("wasm: %s takes %d arguments, got %d", f, len(f.Params), h.Arity))
	}
	nres := len(f.Results)
	rep := batchReplyHeader{V: wireVersion, Task: h.Task, N: h.N, Results: nres}
	times := make([]int64, h.N)
	vals := make([]uint64, h.N*nres)
	in := make([]uint64, h.N*h.Arity)
	for k := range in {
		in[k] = binary.LittleEndian.Uint64(args[8*k:])
	}
	before := inst.Tier()
	defer func() { w.moved = inst.Tier() != before }()
	rep.Started = time.Now().UnixNano()
	out := func(i int, res []uint64, err error) {
		times[i] = time.Now().UnixNano()
		if err != nil {
			rep.Errs = append(rep.Errs, batchError{I: i, Err: toWire(err)})
			return
		}
		copy(vals[i*nres:(i+1)*nres], res)
	}
	if h.Arity == 0 {
		err = inst.CallEachN(h.Func, h.N, out)
	} else {
		err = inst.CallEach(h.Func, in, out)
	}
	if err != nil {
		return batchFailure(h.Task, err)
	}
	rep.Finished = time.Now().UnixNano()
	rep.Tier = inst.Tier() // CallEach switches tiers only before its first call
	buf, body := packBatch(rep, h.N*(1+nres))
	for i, t := range times {
		binary.LittleEndian.PutUint64(body[8*i:], uint64(t))
	}
	body = body[8*h.N:]
	for k, v := range vals {
		binary.LittleEndian.PutUint64(body[8*k:], v)
	}
	return buf
}

// Batch messages that wait in a node's queue go to the worker together, in one frame
// (frameBatches) answered by one frame (frameBatchResults): a map of small chunks then costs
// the node one exchange with its worker per group instead of one per chunk. Each batch keeps
// its own answer, published as soon as the group's frame arrives.
const (
	maxGroup      = 64      // batch messages in a group
	maxGroupBytes = 1 << 20 // bytes of batch messages in a group
)

// gather takes from the queue, without waiting, the batch messages that follow first, and
// keeps the first other item it meets for the runner's next turn.
func (n *node) gather(first *item) []*item {
	group := []*item{first}
	size := len(first.batch)
	for !first.solo && len(group) < maxGroup && len(n.held) == 0 {
		select {
		case it := <-n.items:
			if it.batch == nil || it.solo || size+len(it.batch) > maxGroupBytes {
				n.held = append(n.held, it)
				return group
			}
			group = append(group, it)
			size += len(it.batch)
		default:
			return group
		}
	}
	return group
}

// runGroup runs a group of batch messages on the worker in one frame and answers each. If the
// worker is killed to cancel one of them, the others run again on the next worker, as they
// would have had they been queued behind it.
func (n *node) runGroup(wp *workerProc, group []*item) {
	n.mu.Lock()
	var run []*item
	var tasks, missing []string
	calls := 0
	for _, it := range group {
		n.queued--
		if _, skip := n.cancelled[it.call.Task]; skip {
			delete(n.cancelled, it.call.Task)
			continue
		}
		run = append(run, it)
		tasks = append(tasks, it.call.Task)
		calls += it.calls
		if !n.modules[it.call.Module] && !contains(missing, it.call.Module) {
			missing = append(missing, it.call.Module)
		}
	}
	if len(run) == 0 {
		n.mu.Unlock()
		return
	}
	n.running, n.group = tasks[0], tasks // from here on a cancel finds them running
	n.mu.Unlock()
	for _, sha := range missing {
		// The module may be on disk from an earlier run; if not, the worker says so.
		n.loadIn(wp, sha)
	}
	answered := false
	defer func() {
		n.mu.Lock()
		n.running, n.group = "", nil
		if answered {
			n.done += calls
		}
		n.mu.Unlock()
	}()
	var frame []byte
	for _, it := range run {
		frame = appendGroup(frame, it.batch)
	}
	if err := wp.fw.write(frameBatches, frame); err == nil {
		for f := range wp.frames {
			if f.typ != frameBatchResults {
				continue
			}
			answered = true
			p := f.payload
			for _, it := range run {
				rep, rest, ok := cutGroup(p)
				if ok {
					p = rest
				} else {
					rep = batchFailure(it.call.Task, fmt.Errorf("%w: group answer", errBadFrame))
				}
				if it.reply != "" {
					n.nc.Publish(it.reply, rep)
				}
			}
			return
		}
	}
	// The worker died during the group.
	<-wp.exited
	killed := wp.killed.Load()
	reason := fmt.Errorf("%w (worker %v)", ErrNodeLost, wp.cmd.ProcessState)
	if killed {
		reason = fmt.Errorf("%w (interrupted)", ErrNodeLost)
	}
	var again []*item
	n.mu.Lock()
	for _, it := range run {
		_, cancelled := n.cancelled[it.call.Task]
		if killed && !cancelled {
			n.queued++
			again = append(again, it)
			continue
		}
		delete(n.cancelled, it.call.Task)
		if it.reply != "" {
			n.nc.Publish(it.reply, batchFailure(it.call.Task, reason))
		}
	}
	n.mu.Unlock()
	n.held = append(again, n.held...)
}

// appendGroup appends a message to a group frame (frameBatches or frameBatchResults): its
// 4-byte big-endian length, then its bytes.
func appendGroup(frame, msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32(frame, uint32(len(msg))), msg...)
}

// cutGroup cuts the first message off a group frame, if the frame holds one whole.
func cutGroup(frame []byte) (msg, rest []byte, ok bool) {
	if len(frame) < 4 {
		return nil, frame, false
	}
	l := binary.BigEndian.Uint32(frame)
	if uint64(l) > uint64(len(frame)-4) {
		return nil, frame, false
	}
	return frame[4 : 4+l], frame[4+l:], true
}

// batches runs the batch messages of a frameBatches frame, and answers them in one frame.
func (w *worker) batches(payload []byte) ([]byte, error) {
	var out []byte
	moved := false
	for len(payload) > 0 {
		msg, rest, ok := cutGroup(payload)
		if !ok {
			return nil, fmt.Errorf("%w: group of batches", errBadFrame)
		}
		rep := w.batch(msg)
		payload = rest
		moved = moved || w.moved
		out = appendGroup(out, rep)
	}
	w.moved = moved
	return out, nil
}
