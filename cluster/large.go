package cluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// callLarge runs call, whose arrays make a message larger than the hub carries (limit), on
// node call.Node: its largest arrays, as many as the rest needs to fit in a message, go there as
// parts of data (over the node's data link, or in chunks through the hub), the call runs as a
// batch of one that names them, and those of them it changed come back the same way. The parts
// are freed after.
func (c *Client) callLarge(ctx context.Context, call Call, noWait bool, limit int) (*Result, error) {
	bufs := slices.Clone(call.Buffers)
	slices.SortStableFunc(bufs, func(a, b wasm.Buffer) int { return len(b.Data) - len(a.Data) })
	k, size := 0, 8*len(call.Args)+wire.BuffersSize(bufs)+batchOverhead
	for ; k < len(bufs) && size > limit; k++ {
		size -= len(bufs[k].Data)
	}
	if size > limit { // its arguments alone
		return nil, tooLarge(call.Func, size, limit)
	}
	large, small := bufs[:k], bufs[k:]
	over := 0 // the node keeps each changed array larger than this: those sent as parts
	if k > 0 {
		over = max(1, len(large[k-1].Data)-1)
	}
	refs := make([]wire.DataRef, len(large))
	total := 0
	var shas []string
	defer func() { c.Free(shas...) }()
	for i, b := range large {
		if zeros(b.Data) { // an output, most likely: the node makes its zeros
			refs[i] = wire.DataRef{Arg: b.Arg, Align: b.Align, Zeros: len(b.Data)}
			continue
		}
		placed, err := c.scatter(ctx, [][]byte{b.Data}, b.Align, call.Node)
		if err != nil {
			return nil, err
		}
		shas = append(shas, placed[0].SHA256)
		if placed[0].Node != call.Node { // the same bytes were kept on another node already
			return nil, fmt.Errorf("cluster: %s: its array of argument %d is kept on node %s, not on %s with the others: pass a copy",
				call.Func, b.Arg, placed[0].Node, call.Node)
		}
		refs[i] = wire.DataRef{Arg: b.Arg, Align: b.Align, SHA: placed[0].SHA256, Write: !b.ReadOnly}
		total += len(b.Data)
	}
	rs, err := c.callBatch(ctx, BatchCall{Export: call.Export, Args: [][]uint64{call.Args},
		Buffers: [][]wasm.Buffer{small}, Node: call.Node, solo: true, stdout: call.Stdout, stderr: call.Stderr,
		data: [][]wire.DataRef{refs}, dataSizes: []int{total}, large: over}, noWait)
	if err == nil {
		err = rs[0].Err
	}
	if err != nil {
		return nil, err
	}
	r := &rs[0]
	if len(r.large) == 0 {
		return r, nil
	}
	// The large arrays it changed, kept on the node: fetched, then freed there.
	parts := make([]*stored, len(r.large))
	outs := make([][]byte, len(r.large))
	for k, kept := range r.large {
		parts[k], outs[k] = &stored{sha: kept.SHA, size: kept.Size}, make([]byte, kept.Size)
	}
	errs := c.fetchParts(ctx, r.Node, parts, outs)
	c.mu.Lock()
	for _, kept := range r.large {
		if p := c.parts[kept.SHA]; p == nil || p.node != r.Node { // not a part the client holds there
			c.drop(r.Node, kept.SHA)
		}
	}
	c.mu.Unlock()
	for k, kept := range r.large {
		if errs[k] != nil {
			return nil, errs[k]
		}
		r.Buffers = append(r.Buffers, wasm.Buffer{Arg: kept.Arg, Data: outs[k], Changed: true})
	}
	slices.SortFunc(r.Buffers, func(a, b wasm.Buffer) int { return a.Arg - b.Arg })
	r.large = nil
	return r, nil
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
