package node

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// onBatch queues a batch message for the runner.
func (n *supervisor) onBatch(m *nats.Msg) {
	h, _, _, err := wire.ReadBatch(m.Data)
	if err == nil {
		err = wire.CheckRefs(h)
	}
	if err != nil {
		if m.Reply != "" {
			m.Respond(wire.BatchFailure(h.Task, err))
		}
		return
	}
	n.mu.Lock()
	n.queued++
	n.mu.Unlock()
	select {
	// A batch that names data runs alone: the supervisor puts the data in (see runData).
	case n.items <- &item{call: &wire.Call{Task: h.Task, Module: h.Module, Func: h.Func}, batch: m.Data, calls: h.N,
		solo: h.Solo || h.Names() || h.Output, data: h.Names(), output: h.Output, reply: m.Reply}:
	default:
		n.mu.Lock()
		n.queued--
		n.mu.Unlock()
		if m.Reply != "" {
			m.Respond(wire.BatchFailure(h.Task, fmt.Errorf("node busy: %d calls queued", maxQueue)))
		}
	}
}

// runBatch runs one batch message on the worker and answers it.
func (n *supervisor) runBatch(wp *workerProc, it *item) {
	var err error
	var d *dataBatch
	if it.data {
		if d, err = n.dataBatch(wp, it.batch); err != nil && !errors.Is(err, wire.ErrNodeLost) {
			if it.reply != "" {
				n.nc.Publish(it.reply, wire.BatchFailure(it.call.Task, err))
			}
			return
		}
	}
	if err == nil {
		err = wp.fw.Write(wire.FrameBatch, it.batch)
	}
	var out callOutput
	if it.output && it.reply != "" {
		out = newCallOutput(n.nc, it.reply)
		defer out.close()
	}
	if err == nil {
		for f := range wp.frames {
			out.write(f)
			if f.typ == wire.FrameBatchResult {
				out.close()
				n.mu.Lock()
				n.done += it.calls - 1 // runCall counts one
				n.mu.Unlock()
				answer := f.payload
				if d != nil {
					answer = n.dataAnswer(d, answer)
				}
				if it.reply != "" {
					n.publishBatch(it.reply, it.call.Task, answer)
				}
				return
			}
		}
	}
	// The worker died during the batch.
	<-wp.exited
	reason := fmt.Errorf("%w (worker %v)", wire.ErrNodeLost, wp.cmd.ProcessState)
	if wp.killed.Load() {
		reason = fmt.Errorf("%w (interrupted)", wire.ErrNodeLost)
	}
	if it.reply != "" {
		n.nc.Publish(it.reply, wire.BatchFailure(it.call.Task, reason))
	}
}

// Batch messages that wait in a node's queue go to the worker together, in one frame
// (wire.FrameBatches) answered by one frame (wire.FrameBatchResults): a map of small chunks then costs
// the node one exchange with its worker per group instead of one per chunk. Each batch keeps
// its own answer, published as soon as the group's frame arrives.
const (
	maxGroup      = 64      // batch messages in a group
	maxGroupBytes = 1 << 20 // bytes of batch messages in a group
)

// gather takes from the queue, without waiting, the batch messages that follow first, and
// keeps the first other item it meets for the runner's next turn.
func (n *supervisor) gather(first *item) []*item {
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
func (n *supervisor) runGroup(wp *workerProc, group []*item) {
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
		if !n.modules[it.call.Module] && !slices.Contains(missing, it.call.Module) {
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
		frame = wire.AppendGroup(frame, it.batch)
	}
	if err := wp.fw.Write(wire.FrameBatches, frame); err == nil {
		for f := range wp.frames {
			if f.typ != wire.FrameBatchResults {
				continue
			}
			answered = true
			p := f.payload
			for _, it := range run {
				rep, rest, ok := wire.CutGroup(p)
				if ok {
					p = rest
				} else {
					rep = wire.BatchFailure(it.call.Task, fmt.Errorf("%w: group answer", wire.ErrBadFrame))
				}
				if it.reply != "" {
					n.publishBatch(it.reply, it.call.Task, rep)
				}
			}
			return
		}
	}
	// The worker died during the group.
	<-wp.exited
	killed := wp.killed.Load()
	reason := fmt.Errorf("%w (worker %v)", wire.ErrNodeLost, wp.cmd.ProcessState)
	if killed {
		reason = fmt.Errorf("%w (interrupted)", wire.ErrNodeLost)
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
			n.nc.Publish(it.reply, wire.BatchFailure(it.call.Task, reason))
		}
	}
	n.mu.Unlock()
	n.held = append(again, n.held...)
}
