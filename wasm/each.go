package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// CallEach calls the export name once per argument tuple, in order: args holds the tuples one
// after the other, each as long as the function's parameter list. For call k it passes out the
// results (valid only until out returns) or the error, as Call would have returned them (a
// trap as a *Trap: the calls after it still run).
//
// It is the fast path for many tiny calls: the export is looked up once and every call reuses
// one stack, so a call allocates nothing. The calls cannot be interrupted and their WASI output
// is discarded: CallEach is for a process that can be killed to stop it (a cluster worker).
// It returns an error, before any call, for an unknown export or args of the wrong length.
func (i *Instance) CallEach(name string, args []uint64, out func(k int, results []uint64, err error)) error {
	return i.CallEachBuffers(name, args, nil, out)
}

// CallEachBuffers is CallEach with buffers: bufs[k], if bufs is not nil, are the buffers of
// call k, passed as CallBuffers passes them. Each call allocates its buffers before it runs
// and frees them after, so that their pointers are fresh for each; a call whose buffers are
// wrong, or cannot be allocated, fails alone with CallBuffers' error. bufs must have a slice,
// nil or not, per call.
func (i *Instance) CallEachBuffers(name string, args []uint64, bufs [][]Buffer, out func(k int, results []uint64, err error)) error {
	f, ok := i.info.Export(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoExport, name)
	}
	arity := len(f.Params)
	if (arity == 0 && len(args) != 0) || (arity > 0 && len(args)%arity != 0) {
		return fmt.Errorf("wasm: %s takes %d arguments, got %d values", f, arity, len(args))
	}
	n := 0
	if arity > 0 {
		n = len(args) / arity
	}
	if bufs != nil && len(bufs) != n {
		return fmt.Errorf("wasm: %s: buffers for %d calls, arguments for %d", f.Name, len(bufs), n)
	}
	return i.callEach(f, n, args, bufs, func(k int, stack []uint64, err error) {
		if err == nil {
			stack = clean(f.Results, stack)
		}
		out(k, stack, err)
	})
}

// CallEachN is CallEach for a function without parameters, called n times.
func (i *Instance) CallEachN(name string, n int, out func(k int, results []uint64, err error)) error {
	f, ok := i.info.Export(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoExport, name)
	}
	if len(f.Params) != 0 {
		return fmt.Errorf("wasm: %s takes %d arguments, got none", f, len(f.Params))
	}
	return i.callEach(f, n, nil, nil, func(k int, stack []uint64, err error) {
		if err == nil {
			stack = clean(f.Results, stack)
		}
		out(k, stack, err)
	})
}

func (i *Instance) callEach(f Func, n int, args []uint64, bufs [][]Buffer, out func(int, []uint64, error)) error {
	name, params, results := f.Name, f.Params, len(f.Results)
	arity := len(params)
	var narrow []int // parameters whose upper 32 bits are cleared, as Call does
	for k, t := range params {
		if t == api.ValueTypeI32 || t == api.ValueTypeF32 {
			narrow = append(narrow, k)
		}
	}
	ctx := context.Background()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return fmt.Errorf("wasm: %s: %w", name, ErrClosed)
	}
	i.upgrade(ctx)
	i.last.Store(i.code.tier)
	stack := make([]uint64, max(arity, results, 1))
	var ptrs []uint32 // the pointers of a call's buffers
	var l *live
	var call func(context.Context, []uint64) error
	for k := range n {
		if i.live == nil || i.live.mod.IsClosed() {
			if err := i.instantiate(ctx, nil, nil); err != nil {
				out(k, nil, err)
				continue
			}
		}
		if i.live != l {
			l = i.live
			call = l.export(name).CallWithStack
		}
		copy(stack, args[k*arity:(k+1)*arity])
		for _, p := range narrow {
			stack[p] &= 0xffffffff
		}
		var bs []Buffer
		if bufs != nil {
			bs = bufs[k]
		}
		if len(bs) > 0 {
			if err := checkBuffers(f, bs); err != nil {
				out(k, nil, err)
				continue
			}
			if cap(ptrs) < len(bs) {
				ptrs = make([]uint32, len(bs))
			}
			ptrs = ptrs[:len(bs)]
			if err := i.place(ctx, l, name, stack, bs, ptrs); err != nil {
				out(k, nil, err)
				continue
			}
		}
		if err := call(ctx, stack); err != nil {
			if len(bs) > 0 {
				i.release(ctx, l, bs, ptrs)
			}
			if err := i.trap(name, err, l.mod); err != nil {
				out(k, nil, err)
				continue
			}
			out(k, nil, nil) // proc_exit(0): a success with no results
			continue
		}
		if len(bs) > 0 {
			i.take(ctx, l, bs, ptrs)
		}
		out(k, stack[:results], nil)
	}
	return nil
}
