package wasm

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Instance is one instantiated module. Its memory and globals carry over from one call to the
// next. Calls on an Instance are serialised.
//
// A call that is interrupted (its context done) or that exits (WASI proc_exit) ends the
// underlying module instance; the next call instantiates the module afresh, with new memory
// and globals, calling _initialize again for a reactor.
type Instance struct {
	rt      *Runtime
	code    *code // the tier calls run on; i.mu guards it once the instance is shared
	cfg     wazero.ModuleConfig
	info    *Info
	globals []string // the exports that reach every mutable global, for a tier switch
	tiers   tierState
	last    atomic.Value // string: the tier of the last call

	mu     sync.Mutex
	live   *live // nil before the first call after an interrupted one
	closed bool
}

// live is one wazero instantiation, with the writers its WASI output goes to.
type live struct {
	mod            api.Module
	stdout, stderr switchWriter
	// fns are the exports called so far: ExportedFunction makes a new function, with a new
	// 10 KiB stack, every time, which costs a call of a tiny function more than the call.
	fns map[string]api.Function
	// alloc is the module's allocator, once a call passed a Buffer.
	alloc *allocator
}

// export returns the exported function name, looked up once per instance. i.mu is held.
func (l *live) export(name string) api.Function {
	if f, ok := l.fns[name]; ok {
		return f
	}
	f := l.mod.ExportedFunction(name)
	if l.fns == nil {
		l.fns = map[string]api.Function{}
	}
	l.fns[name] = f
	return f
}

// interruptGrace is how long Call waits, once its context is done, for the Wasm code to reach
// a loop header and stop, before it leaves the code running as a runaway.
const interruptGrace = 100 * time.Millisecond

// instantiate makes a fresh module instance and initialises a reactor, whose output goes to
// stdout and stderr. i.mu is held, or i is not yet shared.
func (i *Instance) instantiate(ctx context.Context, stdout, stderr io.Writer) error {
	l := &live{}
	l.stdout.set(stdout)
	l.stderr.set(stderr)
	defer l.stdout.set(nil)
	defer l.stderr.set(nil)
	mod, err := i.code.rt.InstantiateModule(ctx, i.code.cm, i.cfg.WithStdout(&l.stdout).WithStderr(&l.stderr))
	if err != nil {
		return fmt.Errorf("wasm: instantiate: %w", err)
	}
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			if err := i.trap("_initialize", err, mod); err != nil {
				mod.Close(ctx)
				return err
			}
		}
	}
	l.mod = mod
	i.live = l
	return nil
}

// Info describes the instance's module.
func (i *Instance) Info() *Info { return i.info }

// Call calls the export name with args encoded as wazero encodes them (see api.EncodeI32 and
// friends), writing WASI output to stdout and stderr (either may be nil to discard it).
//
// A trap is returned as a *Trap. A WASI proc_exit(0) is a success with no results. When ctx is
// done the call returns an error that wraps ctx.Err(); see Runtime.Runaways for code that
// cannot be stopped.
func (i *Instance) Call(ctx context.Context, name string, args []uint64, stdout, stderr io.Writer) ([]uint64, error) {
	return i.CallBuffers(ctx, name, args, nil, stdout, stderr)
}

// CallBuffers is Call with arrays passed by pointer: each Buffer is copied into the instance's
// memory, through the module's allocator, and its pointer passed as its argument; when the
// function returns, what it left there is copied back into the Buffer's Data (Changed says
// whether that changed it) and the room is freed, so that calls with buffers, however many,
// do not grow the instance's memory. A call that fails leaves Data as it was.
//
// Besides Call's errors: a module without an allocator gives an error wrapping ErrNoAllocator;
// a buffer larger than the memory can grow to, or one the allocator finds no room for, an
// *AllocError; a pointer outside memory or not aligned, ErrBadPointer; a buffer bound to an
// argument that is not an i32, a one-line error naming the argument.
func (i *Instance) CallBuffers(ctx context.Context, name string, args []uint64, bufs []Buffer, stdout, stderr io.Writer) ([]uint64, error) {
	f, ok := i.info.Export(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoExport, name)
	}
	if len(f.Params) != len(args) {
		return nil, fmt.Errorf("wasm: %s takes %d arguments, got %d", f, len(f.Params), len(args))
	}
	if err := checkBuffers(f, bufs); err != nil {
		return nil, err
	}
	args = clean(f.Params, args)
	var ptrs []uint32
	if len(bufs) > 0 {
		args = append([]uint64(nil), args...) // the pointers go in a copy
		ptrs = make([]uint32, len(bufs))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil, fmt.Errorf("wasm: %s: %w", name, ErrClosed)
	}
	i.upgrade(ctx)
	if i.live == nil || i.live.mod.IsClosed() {
		if err := i.instantiate(ctx, stdout, stderr); err != nil {
			return nil, err
		}
	}
	i.last.Store(i.code.tier)
	l := i.live
	l.stdout.set(stdout)
	l.stderr.set(stderr)
	defer l.stdout.set(nil)
	defer l.stderr.set(nil)
	fn := l.export(name)
	if len(bufs) > 0 {
		if err := i.place(ctx, l, name, args, bufs, ptrs); err != nil {
			return nil, err
		}
	}
	// done frees the buffers, copying back what the function wrote if it returned.
	done := func(res []uint64, err error) ([]uint64, error) {
		if err != nil {
			if len(bufs) > 0 {
				i.release(ctx, l, bufs, ptrs)
			}
			return nil, i.trap(name, err, l.mod)
		}
		if len(bufs) > 0 {
			i.take(ctx, l, bufs, ptrs)
		}
		return clean(f.Results, res), nil
	}

	if ctx.Done() == nil { // cannot be interrupted: no goroutine needed
		return done(fn.Call(ctx, args...))
	}

	type outcome struct {
		res []uint64
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		res, err := fn.Call(ctx, args...)
		out <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-out:
	case <-ctx.Done():
		select {
		case o = <-out: // stopped at a loop header, or finished
		case <-time.After(interruptGrace):
			// Leave it running on an instance nobody will call again (its buffers with it).
			i.live = nil
			i.rt.runaways.Add(1)
			go func() {
				<-out
				i.rt.runaways.Add(-1)
			}()
			return nil, fmt.Errorf("wasm: %s interrupted, still running: %w", name, ctx.Err())
		}
	}
	return done(o.res, o.err)
}

// trap is asTrap for a call on mod, naming the runtime's memory limit in the trap if mod's
// memory is at or near it.
func (i *Instance) trap(fn string, err error, mod api.Module) error {
	err = asTrap(fn, err)
	if t, ok := err.(*Trap); ok {
		i.rt.opts.memLimit.blame(t, mod)
	}
	return err
}

// clean zeroes the upper 32 bits of 32-bit values, which the compiler may leave set in
// results and callers may set in arguments, so that equal values are equal uint64s. It copies
// vs before changing it.
func clean(types []api.ValueType, vs []uint64) []uint64 {
	copied := false
	for k, t := range types {
		if k < len(vs) && (t == api.ValueTypeI32 || t == api.ValueTypeF32) && vs[k]>>32 != 0 {
			if !copied {
				vs, copied = append([]uint64(nil), vs...), true
			}
			vs[k] &= 0xffffffff
		}
	}
	return vs
}

// Close frees the instance; loading its module again makes a new one.
func (i *Instance) Close(ctx context.Context) error {
	i.rt.mu.Lock()
	if i.rt.instances[i.info.SHA256] == i {
		delete(i.rt.instances, i.info.SHA256)
	}
	i.rt.mu.Unlock()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	var err error
	if i.live != nil {
		err = i.live.mod.Close(ctx)
		i.live = nil
	}
	if cerr := i.code.cm.Close(ctx); err == nil {
		err = cerr
	}
	i.tiers.close(ctx)
	return err
}

// switchWriter sends WASI output to whichever writer the current call gave, and discards it
// between calls (when a runaway may still be writing).
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}
