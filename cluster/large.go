package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// callLarge runs call, whose arrays make a message larger than the hub carries (limit), on
// node call.Node as a batch of one (see placeLarge), and brings back the arrays it changed.
func (c *Client) callLarge(ctx context.Context, call Call, noWait bool, limit int) (*Result, error) {
	l, err := c.placeLarge(ctx, call.Func, len(call.Args), call.Buffers, call.Node, limit)
	if err != nil {
		return nil, err
	}
	defer l.release()
	b := BatchCall{Export: call.Export, Args: [][]uint64{call.Args}, Node: call.Node, stdout: call.Stdout, stderr: call.Stderr}
	l.lay(&b)
	rs, err := c.callBatch(ctx, b, noWait)
	if err == nil {
		err = rs[0].Err
	}
	if err == nil {
		err = c.fetchLarge(ctx, &rs[0])
	} else if len(rs) > 0 {
		c.dropLarge(&rs[0])
	}
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// large is a call's arrays laid out for a batch of one on a node, when they make a message
// larger than the hub carries: its largest arrays, as many as the rest needs to fit, are on the
// node as parts of data (copies; see useCopy), or are zeros the node makes; the rest travel in
// the message.
type large struct {
	small []wasm.Buffer
	refs  []wire.DataRef
	total int // the bytes of the parts
	// over is the size past which the node keeps an array the call changed: those sent as parts.
	over  int
	frees []func() // let go of the copies
}

// placeLarge lays out, on node, the arrays bufs of a call of fn with arity arguments whose
// message would be larger than limit. It fails with ErrTooLarge if the call's arguments alone
// would be.
func (c *Client) placeLarge(ctx context.Context, fn string, arity int, bufs []wasm.Buffer, node string, limit int) (*large, error) {
	bufs = slices.Clone(bufs)
	slices.SortStableFunc(bufs, func(a, b wasm.Buffer) int { return len(b.Data) - len(a.Data) })
	k, size := 0, 8*arity+wire.BuffersSize(bufs)+batchOverhead
	for ; k < len(bufs) && size > limit; k++ {
		size -= len(bufs[k].Data)
	}
	if size > limit { // its arguments alone
		return nil, tooLarge(fn, size, limit)
	}
	l := &large{small: bufs[k:], refs: make([]wire.DataRef, k)}
	if k > 0 {
		l.over = max(1, len(bufs[k-1].Data)-1)
	}
	var sent []wasm.Buffer // those sent as parts, the others are zeros
	for i, b := range bufs[:k] {
		l.refs[i] = wire.DataRef{Arg: b.Arg, Align: b.Align, Zeros: len(b.Data)}
		if !zeros(b.Data) { // zeros are an output, most likely: the node makes them
			sent = append(sent, b)
		}
	}
	datas := make([][]byte, len(sent))
	for i, b := range sent {
		datas[i] = b.Data
	}
	hashes, _ := hashParts(datas, false)
	for i, b := range sent {
		free, err := c.useCopy(ctx, node, &stored{hash: hashes[i], size: len(b.Data), align: b.Align, data: b.Data})
		if err != nil {
			l.release()
			return nil, err
		}
		l.frees = append(l.frees, free)
		r := slices.IndexFunc(l.refs, func(r wire.DataRef) bool { return r.Arg == b.Arg })
		l.refs[r] = wire.DataRef{Arg: b.Arg, Align: b.Align, Hash: hashes[i], Write: !b.ReadOnly}
		l.total += len(b.Data)
	}
	return l, nil
}

// lay sets batch b, of one call, to take the arrays as laid out.
func (l *large) lay(b *BatchCall) {
	b.Buffers, b.data, b.dataSizes, b.large, b.solo = [][]wasm.Buffer{l.small}, [][]wire.DataRef{l.refs}, []int{l.total}, l.over, true
}

// release lets go of the copies the call used.
func (l *large) release() {
	for _, free := range l.frees {
		free()
	}
	l.frees = nil
}

// fetchLarge brings back into r.Buffers the arrays r's node kept for it (see placeLarge), in
// the order of their arguments, and frees them there.
func (c *Client) fetchLarge(ctx context.Context, r *Result) error {
	if len(r.large) == 0 {
		return nil
	}
	parts := make([]*stored, len(r.large))
	outs := make([][]byte, len(r.large))
	for k, kept := range r.large {
		parts[k], outs[k] = &stored{hash: kept.Hash, size: kept.Size}, make([]byte, kept.Size)
	}
	errs := c.fetchParts(ctx, r.Node, parts, outs)
	large := r.large
	c.dropLarge(r)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for k, kept := range large {
		r.Buffers = append(r.Buffers, wasm.Buffer{Arg: kept.Arg, Data: outs[k], Changed: true})
	}
	slices.SortFunc(r.Buffers, func(a, b wasm.Buffer) int { return a.Arg - b.Arg })
	return nil
}

// dropLarge frees on r's node the arrays it kept for r (see placeLarge): fetched, or not wanted
// (the call was interrupted, or its task stolen).
func (c *Client) dropLarge(r *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, kept := range r.large {
		c.dropUnusedLocked(r.Node, kept.Hash)
	}
	r.large = nil
}

// copyKey is a part on a node that calls use as a copy of their array (see useCopy).
type copyKey struct{ node, hash string }

// copied is a copy on a node, in its incarnation inc, and the calls that use it.
type copied struct {
	inc   string
	users int
	ready chan struct{} // closed once it is on the node, or failed to get there (err)
	err   error
}

// useCopy puts part p on node for a call that takes it as its array, unless the client holds
// it there already, and returns what lets go of it once the call is done: the node drops it
// when no call uses it and the client does not hold it there. Copies are not the client's
// parts: the same bytes may be on many nodes at once, each for its own calls, and they are not
// placed again when their node is lost (the calls fail, and a map runs them again).
func (c *Client) useCopy(ctx context.Context, node string, p *stored) (func(), error) {
	key := copyKey{node, p.hash}
	c.mu.Lock()
	if q := c.parts[p.hash]; q != nil && q.refs > 0 && q.node == node && c.placedLocked(q) {
		q.refs++ // held while the call runs
		c.mu.Unlock()
		return func() { c.Free(p.hash) }, nil
	}
	s := c.nodes[node]
	if s == nil || s.lost {
		c.mu.Unlock()
		return nil, &RemoteError{Node: node, Err: ErrNodeLost}
	}
	cp := c.copies[key]
	first := cp == nil || cp.inc != s.inc
	if first {
		cp = &copied{inc: s.inc, ready: make(chan struct{})}
		c.copies[key] = cp
	}
	cp.users++
	c.mu.Unlock()
	free := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cp.users--; cp.users > 0 {
			return
		}
		if c.copies[key] == cp {
			delete(c.copies, key)
		}
		// Dropped even if sending it failed: the node may have it all the same (the
		// sending interrupted after its last byte, say).
		c.dropUnusedLocked(node, p.hash)
	}
	if first {
		inc, errs := c.sendParts(ctx, node, []*stored{p})
		err := errs[0]
		if err == nil && inc != cp.inc {
			err = &RemoteError{Node: node, Err: ErrNodeLost}
		}
		c.mu.Lock()
		if cp.err = err; err != nil && c.copies[key] == cp {
			delete(c.copies, key) // the next call sends it again
		}
		c.mu.Unlock()
		close(cp.ready)
	}
	select {
	case <-cp.ready:
	case <-ctx.Done():
		free()
		return nil, fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	}
	if cp.err != nil {
		free()
		return nil, cp.err
	}
	return free, nil
}

// dropUnusedLocked tells node to drop part hash unless the client still needs it there: a part it
// holds there, or a copy calls use. c.mu is held.
func (c *Client) dropUnusedLocked(node, hash string) {
	if p := c.parts[hash]; p != nil && p.node == node && (p.refs > 0 || p.placing != nil) {
		return
	}
	if cp := c.copies[copyKey{node, hash}]; cp != nil && cp.users > 0 {
		return
	}
	c.drop(node, hash)
}

// zeros says whether b holds nothing but zeros.
func zeros(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
