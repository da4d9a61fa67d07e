package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/internal/units"
)

// Buffer is bytes a call passes by pointer, as C passes an array: the instance allocates room
// for Data in its linear memory through the module's allocator (see Info.Allocator), copies
// Data there, passes the pointer as argument Arg, an i32, and once the function returns copies
// back into Data what it left there and frees the room. The value args holds for Arg is
// ignored.
type Buffer struct {
	Arg  int    // the parameter, counted from 0, that receives the pointer
	Data []byte // the bytes the function reads, and after the call the bytes it left
	// Align is the pointer's alignment, a power of two up to 64 KiB; 0 is 8, enough for any
	// number. With malloc it is checked, not asked for: wasi-libc's malloc aligns to 16.
	Align int
	// Changed is set by the call: whether the function changed Data. A node sends back only
	// the buffers a call changed.
	Changed bool
	// ReadOnly leaves Data as it is whatever the function does with its copy: nothing is
	// copied back (Changed stays false), which spares a pass over a large input the function
	// only reads. A node passes the parts of data it keeps this way.
	ReadOnly bool
}

// maxAlign is the largest alignment a Buffer may ask for: one page.
const maxAlign = PageSize

// align is the buffer's alignment, 8 when it asks for none.
func (b *Buffer) align() int {
	if b.Align == 0 {
		return 8
	}
	return b.Align
}

// Allocator is how an instance allocates the room of a Buffer in a module's memory.
type Allocator uint8

const (
	// AllocatorNone: the module exports no allocator, so no call can pass it a Buffer.
	AllocatorNone Allocator = iota
	// AllocatorMalloc: the module exports malloc(i32) i32 and free(i32), as C compiled with
	// wasi-libc does when linked with -Wl,--export=malloc,--export=free.
	AllocatorMalloc
	// AllocatorCABI: the module exports cabi_realloc(i32,i32,i32,i32) i32, as the component
	// model's toolchains (wit-bindgen for Rust, C and Go) do: cabi_realloc(0, 0, align, size)
	// allocates, cabi_realloc(ptr, size, align, 0) frees.
	AllocatorCABI
)

func (a Allocator) String() string {
	switch a {
	case AllocatorMalloc:
		return "malloc"
	case AllocatorCABI:
		return "cabi_realloc"
	}
	return "none"
}

// ErrNoAllocator is returned (wrapped) for a call that passes a Buffer to a module that
// exports no allocator Rain can use; the message says what to export.
var ErrNoAllocator = errors.New("wasm: module exports no allocator")

// howToExport is what a module without an allocator must export.
const howToExport = "export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc"

// Allocator says how calls allocate the module's Buffers: malloc and free if it exports
// them, else cabi_realloc. A module that exports neither, or exports them with other
// signatures (a 64-bit memory's, say), gives an error wrapping ErrNoAllocator that says what to
// export.
func (in *Info) Allocator() (Allocator, error) {
	malloc, hasMalloc := in.Export("malloc")
	free, hasFree := in.Export("free")
	realloc, hasRealloc := in.Export("cabi_realloc")
	i32 := api.ValueTypeI32
	switch {
	case hasMalloc && hasFree && sameTypes(malloc.Params, i32) && sameTypes(malloc.Results, i32) &&
		sameTypes(free.Params, i32) && len(free.Results) == 0:
		return AllocatorMalloc, nil
	case hasRealloc && sameTypes(realloc.Params, i32, i32, i32, i32) && sameTypes(realloc.Results, i32):
		return AllocatorCABI, nil
	case hasMalloc && !hasFree && !hasRealloc:
		return AllocatorNone, fmt.Errorf("%w but malloc: export free too (C: -Wl,--export=free), so that Rain frees what it allocates", ErrNoAllocator)
	case hasMalloc || hasRealloc:
		var got []string
		for _, f := range []Func{malloc, free, realloc} {
			if f.Name != "" {
				got = append(got, f.String())
			}
		}
		return AllocatorNone, fmt.Errorf("%w Rain can call: it exports %v; %s as a 32-bit memory's: malloc(i32) i32 and free(i32), or cabi_realloc(i32,i32,i32,i32) i32",
			ErrNoAllocator, got, howToExport)
	}
	return AllocatorNone, fmt.Errorf("%w: %s", ErrNoAllocator, howToExport)
}

func sameTypes(ts []api.ValueType, want ...api.ValueType) bool {
	return bytes.Equal(ts, want)
}

// AllocError is a Buffer the instance could not allocate: larger than its memory can grow to,
// or more than its allocator found room for. errors.Is(err, ErrMemoryLimit) holds when the
// runtime's MemoryLimit is what bounds the memory.
type AllocError struct {
	Func   string      // the export called
	Arg    int         // the argument, from 0, whose buffer it was
	Size   int         // bytes asked for
	Memory uint64      // the memory's size when the allocation failed
	Max    uint64      // the most the memory can grow to
	Limit  MemoryLimit // the runtime's limit when it sets Max, else 0
}

func (e *AllocError) Error() string {
	bound := "Wasm's own limit for a 32-bit memory"
	if e.Limit != 0 {
		bound = "the memory limit; see --memory-limit"
	} else if e.Max < maxMemory {
		bound = "the maximum the module declares"
	}
	if uint64(e.Size) > e.Max {
		return fmt.Sprintf("wasm: %s: argument %d is %s, more than the instance's memory can grow to, %s (%s): pass a smaller array",
			e.Func, e.Arg+1, units.Bytes(uint64(e.Size)), units.Bytes(e.Max), bound)
	}
	return fmt.Sprintf("wasm: %s: the allocator found no room for the %s of argument %d in a memory of %s that can grow to %s (%s): pass a smaller array",
		e.Func, units.Bytes(uint64(e.Size)), e.Arg+1, units.Bytes(e.Memory), units.Bytes(e.Max), bound)
}

// Is makes errors.Is(err, ErrMemoryLimit) true when the runtime's limit bounds the memory.
func (e *AllocError) Is(target error) bool { return target == ErrMemoryLimit && e.Limit != 0 }

// ErrBadPointer is returned (wrapped) when the module's allocator gives a pointer Rain
// cannot use: outside the instance's memory, or not aligned as asked.
var ErrBadPointer = errors.New("wasm: the module's allocator returned a bad pointer")

// checkBuffers checks a call's buffers against the function's signature, before anything is
// allocated.
func checkBuffers(f Func, bufs []Buffer) error {
	seen := uint64(0) // arguments taken, for functions of up to 64 parameters (more are checked one by one)
	for k, b := range bufs {
		switch {
		case b.Arg < 0 || b.Arg >= len(f.Params):
			return fmt.Errorf("wasm: %s takes %d arguments: no argument %d for an array", f, len(f.Params), b.Arg+1)
		case f.Params[b.Arg] != api.ValueTypeI32:
			return fmt.Errorf("wasm: %s: argument %d is an %s, not a pointer (i32): pass a number there, not an array",
				f, b.Arg+1, api.ValueTypeName(f.Params[b.Arg]))
		case b.Align < 0 || b.Align > maxAlign || bits.OnesCount(uint(b.Align)) > 1:
			return fmt.Errorf("wasm: %s: argument %d: alignment %d is not a power of two up to %d", f, b.Arg+1, b.Align, maxAlign)
		case uint64(len(b.Data)) > maxMemory:
			return &AllocError{Func: f.Name, Arg: b.Arg, Size: len(b.Data), Max: maxMemory}
		}
		dup := false
		if b.Arg < 64 {
			dup = seen&(1<<b.Arg) != 0
			seen |= 1 << b.Arg
		} else {
			for _, c := range bufs[:k] {
				dup = dup || c.Arg == b.Arg
			}
		}
		if dup {
			return fmt.Errorf("wasm: %s: two arrays for argument %d", f, b.Arg+1)
		}
	}
	return nil
}

// allocator is the allocator of one live instance, with a stack for its calls.
type allocator struct {
	kind        Allocator
	alloc, free api.Function // malloc and free, or cabi_realloc twice
	mem         api.Memory
	stack       [4]uint64
}

// allocator returns l's allocator, found once per live instance.
func (i *Instance) allocator(l *live) (*allocator, error) {
	if l.alloc != nil {
		return l.alloc, nil
	}
	kind, err := i.info.Allocator()
	if err != nil {
		return nil, err
	}
	a := &allocator{kind: kind, mem: memory(l.mod)}
	if a.mem == nil {
		return nil, fmt.Errorf("%w: the module has no memory to put an array in", ErrNoAllocator)
	}
	if kind == AllocatorMalloc {
		a.alloc, a.free = l.export("malloc"), l.export("free")
	} else {
		a.alloc = l.export("cabi_realloc")
		a.free = a.alloc
	}
	l.alloc = a
	return a, nil
}

// limit is the most the instance's memory can grow to, and the runtime's limit if that is what
// sets it.
func (i *Instance) limit(mem api.Memory) (uint64, MemoryLimit) {
	most, lim := uint64(maxMemory), i.rt.opts.memLimit
	if lim != 0 {
		most = uint64(lim)
	}
	if m, ok := mem.Definition().Max(); ok && uint64(m)*PageSize < most {
		return uint64(m) * PageSize, 0
	}
	return most, lim
}

// place allocates the call's buffers in l's memory, copies their bytes in and sets their
// pointers in args (which it may change: the caller's copy). On an error it frees what it had
// allocated. ptrs receives the pointers, one per buffer.
func (i *Instance) place(ctx context.Context, l *live, fn string, args []uint64, bufs []Buffer, ptrs []uint32) error {
	a, err := i.allocator(l)
	if err != nil {
		return err
	}
	most, lim := i.limit(a.mem)
	for k := range bufs {
		b := &bufs[k]
		b.Changed = false
		n := max(len(b.Data), 1) // malloc(0) may return NULL
		if uint64(n) > most {
			i.release(ctx, l, bufs[:k], ptrs)
			return &AllocError{Func: fn, Arg: b.Arg, Size: len(b.Data), Memory: uint64(a.mem.Size()), Max: most, Limit: lim}
		}
		var err error
		if a.kind == AllocatorMalloc {
			a.stack[0] = uint64(n)
		} else {
			a.stack = [4]uint64{0, 0, uint64(b.align()), uint64(n)}
		}
		if err = a.alloc.CallWithStack(ctx, a.stack[:]); err != nil {
			i.release(ctx, l, bufs[:k], ptrs)
			return i.trap(a.kind.String(), err, l.mod)
		}
		p := uint32(a.stack[0])
		switch {
		case p == 0:
			err = &AllocError{Func: fn, Arg: b.Arg, Size: len(b.Data), Memory: uint64(a.mem.Size()), Max: most, Limit: lim}
		case uint64(p)+uint64(n) > uint64(a.mem.Size()):
			err = fmt.Errorf("%w: %s(%d) gave %#x, outside the instance's memory of %s: check the module's allocator",
				ErrBadPointer, a.kind, n, p, units.Bytes(uint64(a.mem.Size())))
		case int(p)%b.align() != 0:
			err = fmt.Errorf("%w: %s(%d) gave %#x, not aligned to %d bytes as argument %d of %s asks",
				ErrBadPointer, a.kind, n, p, b.align(), b.Arg+1, fn)
		}
		if err != nil {
			if p != 0 {
				i.free(ctx, a, p, n, b.align())
			}
			i.release(ctx, l, bufs[:k], ptrs)
			return err
		}
		a.mem.Write(p, b.Data)
		ptrs[k] = p
		args[b.Arg] = uint64(p)
	}
	return nil
}

// take copies back into the buffers what the call left in memory, noting which changed, and
// frees them.
func (i *Instance) take(ctx context.Context, l *live, bufs []Buffer, ptrs []uint32) {
	a := l.alloc
	for k := range bufs {
		b := &bufs[k]
		if b.ReadOnly {
			continue
		}
		if got, ok := a.mem.Read(ptrs[k], uint32(len(b.Data))); ok && !bytes.Equal(got, b.Data) {
			copy(b.Data, got)
			b.Changed = true
		}
	}
	i.release(ctx, l, bufs, ptrs)
}

// release frees the buffers at ptrs, the last allocated first (as a stack allocator needs),
// unless the instance is gone (a proc_exit, an interrupt): its memory goes with it. A free
// that traps is ignored: the call's own outcome is what the caller learns.
func (i *Instance) release(ctx context.Context, l *live, bufs []Buffer, ptrs []uint32) {
	if l.mod.IsClosed() {
		return
	}
	for k := len(bufs) - 1; k >= 0; k-- {
		i.free(ctx, l.alloc, ptrs[k], max(len(bufs[k].Data), 1), bufs[k].align())
	}
}

func (i *Instance) free(ctx context.Context, a *allocator, p uint32, n, align int) {
	if a.kind == AllocatorMalloc {
		a.stack[0] = uint64(p)
	} else {
		a.stack = [4]uint64{uint64(p), uint64(n), uint64(align), 0}
	}
	a.free.CallWithStack(ctx, a.stack[:])
}
