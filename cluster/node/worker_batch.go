package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// batch runs a batch message in the worker, through wasm's fast path (no context: a cancel
// kills the worker, so nothing needs to watch for one between calls).
func (w *worker) batch(payload []byte) []byte {
	w.moved = false
	h, args, bufs, err := wire.ReadBatch(payload)
	if err == nil && len(h.Data) > 0 {
		bufs, err = w.withData(h, bufs)
	}
	if err != nil {
		return wire.BatchFailure(h.Task, err)
	}
	inst, ok := w.instances[h.Module]
	if !ok {
		return wire.BatchFailure(h.Task, fmt.Errorf("%w: %s", wire.ErrNoModule, h.Module))
	}
	f, ok := inst.Info().Export(h.Func)
	switch {
	case !ok:
		return wire.BatchFailure(h.Task, fmt.Errorf("%w: %s", wasm.ErrNoExport, h.Func))
	case len(f.Params) != h.Arity:
		return wire.BatchFailure(h.Task, fmt.Errorf("wasm: %s takes %d arguments, got %d", f, len(f.Params), h.Arity))
	}
	nres := len(f.Results)
	rep := wire.BatchReplyHeader{V: wire.Version, Task: h.Task, N: h.N, Results: nres}
	times := make([]int64, h.N)
	vals := make([]uint64, h.N*nres)
	var changed [][]wasm.Buffer // what each call changed, sent back
	if bufs != nil {
		changed = make([][]wasm.Buffer, h.N)
	}
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
			rep.Errs = append(rep.Errs, wire.BatchError{I: i, Err: wire.EncodeError(err)})
			return
		}
		copy(vals[i*nres:(i+1)*nres], res)
		if changed != nil {
			changed[i] = changedBuffers(bufs[i])
		}
	}
	switch {
	case h.Output: // one call after another, as a Call runs
		o, stdout, stderr := newCappedOutput(w.fw)
		defer o.end()
		for i := range h.N {
			var b []wasm.Buffer
			if bufs != nil {
				b = bufs[i]
			}
			res, err := inst.CallBuffers(context.Background(), h.Func, in[i*h.Arity:(i+1)*h.Arity], b, stdout, stderr)
			out(i, res, err)
		}
	case h.Arity == 0:
		err = inst.CallEachN(h.Func, h.N, out)
	case bufs != nil:
		err = inst.CallEachBuffers(h.Func, in, bufs, out)
	default:
		err = inst.CallEach(h.Func, in, out)
	}
	if err != nil {
		return wire.BatchFailure(h.Task, err)
	}
	rep.Finished = time.Now().UnixNano()
	rep.Tier = inst.Tier() // CallEach switches tiers only before its first call
	return wire.PackBatchAnswer(rep, times, vals, changed)
}

// withData adds to the calls' arrays the data the batch names (h.Data): parts the supervisor
// gave the worker, passed read-only (or a copy, for a part the call may change), and zeros for
// outputs.
func (w *worker) withData(h wire.BatchHeader, bufs [][]wasm.Buffer) ([][]wasm.Buffer, error) {
	if err := wire.CheckRefs(h); err != nil {
		return nil, err
	}
	if bufs == nil {
		bufs = make([][]wasm.Buffer, h.N)
	}
	for _, r := range h.Data {
		b := wasm.Buffer{Arg: r.Arg, Align: r.Align}
		if r.Hash == "" {
			b.Data = make([]byte, r.Zeros)
		} else {
			data, ok := w.parts[r.Hash]
			if !ok {
				return nil, fmt.Errorf("%w: part %s is not in the node's worker", wire.ErrNoData, r.Hash[:12])
			}
			b.Data, b.ReadOnly = data, true
			if r.Write {
				b.Data, b.ReadOnly = bytes.Clone(data), false
			}
		}
		bufs[r.I] = append(bufs[r.I], b)
	}
	return bufs, nil
}

// changedBuffers are the buffers of bufs a call changed: only those travel back.
func changedBuffers(bufs []wasm.Buffer) []wasm.Buffer {
	var out []wasm.Buffer
	for _, b := range bufs {
		if b.Changed {
			out = append(out, b)
		}
	}
	return out
}

// batches runs the batch messages of a wire.FrameBatches frame, and answers them in one frame.
func (w *worker) batches(payload []byte) ([]byte, error) {
	var out []byte
	moved := false
	for len(payload) > 0 {
		msg, rest, ok := wire.CutGroup(payload)
		if !ok {
			return nil, fmt.Errorf("%w: group of batches", wire.ErrBadFrame)
		}
		rep := w.batch(msg)
		payload = rest
		moved = moved || w.moved
		out = wire.AppendGroup(out, rep)
	}
	w.moved = moved
	return out, nil
}
