package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// BatchCall is many calls of one export, sent to one node in as few messages as the size
// bound allows (see CallBatch).
type BatchCall struct {
	Export
	Args [][]uint64 // one argument tuple per call, all of the same length, encoded as wazero encodes them
	// Buffers, if not nil, has the arrays of each call (see Call.Buffers): Buffers[i] are call
	// i's, nil for none. What the calls leave in them comes back in each Result.Buffers.
	Buffers [][]wasm.Buffer
	Node    string // optional: run on this node ID; empty means least-loaded

	solo bool // run in a frame of its own on the node (wire.BatchHeader.Solo)
	// data, if not nil, are the arrays the node has that each call takes (wire.DataRef, I
	// ignored), and dataSizes their bytes, by which messages are cut as by arrays'.
	data      [][]wire.DataRef
	dataSizes []int
	keep      *int // the argument whose array the node keeps (wire.BatchHeader.Keep)
	large     int  // the node keeps the arrays calls changed larger than this (wire.BatchHeader.Large)
	// stdout and stderr, if not nil, receive the calls' WASI output (wire.BatchHeader.Output).
	stdout, stderr io.Writer
	traffic        *traffic // if not nil, counts the bytes of the messages and their answers
}

// traffic counts the bytes of a map's messages to its nodes, and of their answers.
type traffic struct{ sent, received atomic.Int64 }

// CallBatch runs b.Func once per argument tuple on one node (b.Node, or the least-loaded ready
// node), in order, and returns one Result per tuple, in input order. The calls travel in
// as few messages as possible (about 1 MiB of arguments and arrays each; a call whose arrays
// are larger goes alone), each run by the node's worker
// in one go and answered in one message: the cost of a round trip is paid per message, not
// per call.
//
// A call that traps fails alone (its Result.Err is set); so do the calls of a message
// whose node died (ErrNodeLost inside), or whose arrays the instance could not take (see
// Client.Call). CallBatch itself fails for what fails every call: an unknown module or node, no
// nodes, tuples of different lengths, Buffers not one per tuple, a call whose arrays make a
// message larger than the hub carries (ErrTooLarge), a closed client, or a node
// that rejects the batch (wasm.ErrNoExport, a wrong number of arguments: a *RemoteError,
// returned with the results, whose Err is set to it). If ctx ends,
// the node is told to stop (its worker restarts if it was running the batch) and CallBatch
// returns the results it has, with an error wrapping ErrInterrupted; calls without a result
// have Err set to ErrInterrupted.
func (c *Client) CallBatch(ctx context.Context, b BatchCall) ([]Result, error) {
	return c.callBatch(ctx, b, false)
}

// callBatch is CallBatch; with noWait, a chosen node (b.Node) that is not ready fails every
// call with ErrNodeLost at once instead of being waited for.
func (c *Client) callBatch(ctx context.Context, b BatchCall, noWait bool) ([]Result, error) {
	var res []Result
	if len(b.Args) > 0 {
		res = make([]Result, len(b.Args))
	}
	ok, err := c.streamBatch(ctx, b, noWait, nil, func(lo int, rs []Result) {
		copy(res[lo:], rs)
		c.act.addResults(b.Export, rs)
	})
	if !ok || errors.Is(err, ErrClosed) {
		return nil, err
	}
	return res, err
}

// batchScratch holds the []Result that streamBatch decodes each answer into.
var batchScratch sync.Pool

// streamBatch is callBatch, handing the results of each message to got as its answer arrives:
// rs are the results of the calls lo…lo+len(rs) of the batch, valid only until got returns.
// It reports whether got was called for every call (once), which it is whenever the batch
// reached the point of sending; got is never called otherwise. A map decodes each answer
// straight into its own results, with no array of them per chunk.
//
// sent, if not nil, is told the node's incarnation and the tasks of the batch's messages once
// they are sent to their node: a map may then steal them while they wait in the node's queue
// (Client.steal). If ctx ends with the cause errStolen, the node has dropped them already and is
// not told to cancel.
func (c *Client) streamBatch(ctx context.Context, b BatchCall, noWait bool, sent func(inc string, tasks []string),
	got func(lo int, rs []Result)) (bool, error) {
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
	if b.Buffers != nil && len(b.Buffers) != n {
		return false, fmt.Errorf("cluster: batch: arrays for %d calls, arguments for %d", len(b.Buffers), n)
	}
	if b.data != nil && (len(b.data) != n || len(b.dataSizes) != n) {
		return false, fmt.Errorf("cluster: batch: data for %d calls, arguments for %d", len(b.data), n)
	}
	if n == 0 {
		return true, nil
	}
	// A message holds MaxBatchBytes of arguments at most, less under a hub that carries less.
	limit := int(c.nc.MaxPayload())
	budget := max(1, min(wire.MaxBatchBytes, limit-batchOverhead))
	per := min(wire.MaxBatchItems, max(1, budget/(8*max(arity, 1))))
	var bounds []int // with arrays, where each message begins, and n
	if b.Buffers != nil || b.data != nil {
		var err error
		if bounds, err = split(b.Func, arity, per, budget, limit, b.Buffers, b.dataSizes); err != nil {
			return false, err
		}
	}
	scratch, _ := batchScratch.Get().(*[]Result)
	if scratch == nil {
		scratch = new([]Result)
	}
	used := min(n, per)
	if cap(*scratch) < used {
		*scratch = make([]Result, used)
	}
	defer func() {
		clear((*scratch)[:used]) // hold on to no results
		batchScratch.Put(scratch)
	}()
	// each hands got the results of calls lo…hi, set by fill.
	each := func(lo, hi int, fill func(rs []Result)) {
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
		each(0, n, func(rs []Result) {
			for i := range rs {
				rs[i] = Result{Node: b.Node, Err: lost}
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
	node, inc := s.info.ID, s.inc
	for k, lo := 0, 0; lo < n; k++ {
		hi := min(lo+per, n)
		if bounds != nil {
			hi = bounds[k+1]
		}
		c.seq++
		m := &message{task: c.id + "-" + strconv.FormatUint(c.seq, 36), lo: lo, hi: hi,
			p: &pending{node: node, inc: s.inc, batch: true, stdout: b.stdout, stderr: b.stderr, result: make(chan outcome, 1)}}
		c.pending[m.task] = m.p
		msgs = append(msgs, m)
		lo = hi
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
		var bufs [][]wasm.Buffer
		if b.Buffers != nil {
			bufs = b.Buffers[m.lo:m.hi]
		}
		h := wire.BatchHeader{V: wire.Version, Task: m.task, Module: b.Module, Func: b.Func, Solo: b.solo,
			N: m.hi - m.lo, Arity: arity, Keep: b.keep, Large: b.large, Output: b.stdout != nil || b.stderr != nil}
		if b.data != nil {
			for i := m.lo; i < m.hi; i++ {
				for _, r := range b.data[i] {
					r.I = i - m.lo
					h.Data = append(h.Data, r)
				}
			}
		}
		if h.Names() {
			h.Client = c.id
		}
		req, body := wire.PackBatchRequest(h, bufs)
		k := 0
		for _, a := range b.Args[m.lo:m.hi] {
			for _, v := range a {
				binary.LittleEndian.PutUint64(body[k:], v)
				k += 8
			}
		}
		m.submitted = time.Now()
		if err := c.nc.PublishRequest(wire.NodeSubject(node, "batch"), c.inbox+"."+m.task, req); err != nil {
			return false, fmt.Errorf("cluster: batch: %w", err)
		}
		if b.traffic != nil {
			b.traffic.sent.Add(int64(len(req)))
		}
	}
	if sent != nil {
		tasks := make([]string, len(msgs))
		for k, m := range msgs {
			tasks[k] = m.task
		}
		sent(inc, tasks)
	}
	var failed error // a message that failed for a reason that is not the node's death
	fail := func(m *message, err error) {
		each(m.lo, m.hi, func(rs []Result) {
			for i := range rs {
				rs[i] = Result{Node: node, Err: err, Submitted: m.submitted}
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
			if b.traffic != nil {
				b.traffic.received.Add(int64(len(out.raw)))
			}
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
func decodeBatch(msg []byte, n int, res []Result, node, fn string) error {
	a, err := wire.ReadBatchAnswer(msg, n)
	if err != nil {
		return err
	}
	vals, k := a.Values(), a.Results
	started := a.Started
	for i := range n {
		finished := a.Finished(i)
		res[i] = Result{Values: vals[i*k : (i+1)*k : (i+1)*k], Buffers: changed(a.Buffers(i)), Node: node,
			Tier: a.Tier, Started: wire.Time(started), Finished: wire.Time(finished)}
		started = finished
	}
	for _, k := range a.Kept {
		if k.I >= 0 && k.I < n && wire.ValidHash(k.Hash) {
			res[k.I].Kept = &DataPart{Hash: k.Hash, Size: k.Size, Node: node}
		}
	}
	for _, k := range a.Large {
		if k.I >= 0 && k.I < n && wire.ValidHash(k.Hash) && k.Size >= 0 && k.Size <= wire.MaxPart {
			res[k.I].large = append(res[k.I].large, k)
		}
	}
	for _, e := range a.Errs {
		if e.I >= 0 && e.I < n {
			res[e.I].Values, res[e.I].Buffers, res[e.I].Kept, res[e.I].large = nil, nil, nil, nil
			res[e.I].Err = &RemoteError{Node: node, Func: fn, Err: wire.DecodeError(e.Err)}
		}
	}
	return nil
}

// batchOverhead is room left in a message beside its calls: the header, a batch's answer
// beyond the arrays the request carried (finish times, results, errors).
const batchOverhead = 4096

// split cuts calls with arrays into messages of at most per calls and budget bytes of
// arguments and arrays (a call larger than that goes alone), and returns where each message
// begins, then the number of calls. A call too large for the hub's max payload, limit, fails
// them all. data, if not nil, are the bytes of each call's arrays that the node has: they count
// toward the budget (the node puts them in the message its worker gets), not toward the limit.
func split(fn string, arity, per, budget, limit int, bufs [][]wasm.Buffer, data []int) ([]int, error) {
	bounds := []int{0}
	size, calls := 0, 0
	n := max(len(bufs), len(data))
	for i := range n {
		s := 8 * arity
		if bufs != nil && len(bufs[i]) > 0 {
			s += wire.BuffersSize(bufs[i])
		}
		if s+batchOverhead > limit {
			return nil, tooLarge(fmt.Sprintf("%s (call %d of the batch)", fn, i), s+batchOverhead, limit)
		}
		if data != nil {
			s += data[i]
		}
		if calls > 0 && (calls == per || size+s > budget) {
			bounds = append(bounds, i)
			size, calls = 0, 0
		}
		size += s
		calls++
	}
	return append(bounds, n), nil
}
