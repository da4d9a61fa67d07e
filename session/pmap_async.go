package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
)

// MapHandle is what pmap_async (or pmap(..., wait=False)) returns: a map running in the
// background. Starlark has no threads, so the map runs in a goroutine of its own, with its own
// context: it outlives the cell that started it, and ends when it is done, when .cancel() is
// called, or when the session closes (the cluster client's Close ends every map).
type MapHandle struct {
	f      *Function
	arrays *mapArrays // how its tasks' results become values; nil without arrays
	total  int
	cancel context.CancelFunc
	done   chan struct{} // closed when the map has returned

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever a task finishes or the map ends
	p        cluster.MapProgress
	finished []int                  // task indices in the order their final results arrived
	values   map[int]starlark.Value // their results, while the map runs
	res      *cluster.MapResult
	err      error
	value    *MapResult
	written  bool // what the tasks left in the input arrays is in them (see wait)
}

var (
	_ starlark.HasAttrs = (*MapHandle)(nil)
	_ starlark.Iterable = (*MapHandle)(nil)
	_ display.Shower    = (*MapHandle)(nil)
)

// startMap runs spec in the background; arrays (nil for none) say how its tasks' results
// become values.
func startMap(f *Function, spec cluster.MapSpec, arrays *mapArrays) *MapHandle {
	ctx, cancel := f.module.s.client.WatchHub(context.Background()) // it ends if the hub stays away
	h := &MapHandle{f: f, arrays: arrays, total: len(spec.Args), cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}),
		values: map[int]starlark.Value{}}
	h.p.Total = h.total
	go func() {
		defer close(h.done)
		res, err := f.module.s.client.Map(ctx, spec, h.update)
		var hub *cluster.HubError
		if errors.As(context.Cause(ctx), &hub) {
			err = hub // not an interrupt: the hub stayed away
		}
		h.mu.Lock()
		h.res, h.err = res, err
		if res != nil {
			h.value = newMapResult(f, res, arrays)
			for i, v := range h.values { // the values the cells may have seen already: one array, not two
				h.value.values[i] = v
			}
		}
		h.wakeLocked()
		h.mu.Unlock()
		cancel()
	}()
	return h
}

func (h *MapHandle) wakeLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// update is the map's progress callback: the task p.Index has its final result.
func (h *MapHandle) update(p cluster.MapProgress) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.p = p
	h.finished = append(h.finished, p.Index)
	h.values[p.Index] = h.arrays.taskValue(h.f, p.Index, &p.Task)
	h.wakeLocked()
}

func (h *MapHandle) isDone() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

func (h *MapHandle) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	state := "running"
	if h.isDone() {
		state = "done"
		if h.err != nil {
			state = "stopped"
		}
	}
	return fmt.Sprintf("<pmap %s: %s, %d/%d>", h.f.Name(), state, h.p.Done, h.total)
}
func (h *MapHandle) Type() string          { return "map_handle" }
func (h *MapHandle) Freeze()               {}
func (h *MapHandle) Truth() starlark.Bool  { return true }
func (h *MapHandle) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: map_handle") }

// Show is the map's progress bar, or its result once done.
func (h *MapHandle) Show() display.Bundle {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isDone() && h.value != nil && h.err == nil {
		return h.value.Show()
	}
	line := "pmap(" + h.f.Name() + "): " + barLine(h.p)
	if h.isDone() && h.err != nil {
		line += " · stopped: " + h.err.Error()
	}
	return display.Plain(line)
}

var mapHandleAttrs = []string{"as_completed", "cancel", "done", "progress", "wait"}

// AttrNames lists the handle's methods.
func (h *MapHandle) AttrNames() []string { return mapHandleAttrs }

// Attr gives the handle's methods.
func (h *MapHandle) Attr(name string) (starlark.Value, error) {
	method := func(fn func(*starlark.Thread, string, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) starlark.Value {
		return starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return fn(th, "map_handle."+name, args, kwargs)
		})
	}
	switch name {
	case "done":
		return method(func(_ *starlark.Thread, n string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := unpackPositional(n, args, kwargs, 0); err != nil {
				return nil, err
			}
			return starlark.Bool(h.isDone()), nil
		}), nil
	case "progress":
		return method(func(_ *starlark.Thread, n string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := unpackPositional(n, args, kwargs, 0); err != nil {
				return nil, err
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			return starlark.Tuple{starlark.MakeInt(h.p.Done), starlark.MakeInt(h.total)}, nil
		}), nil
	case "cancel":
		return method(func(_ *starlark.Thread, n string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := unpackPositional(n, args, kwargs, 0); err != nil {
				return nil, err
			}
			was := !h.isDone()
			h.cancel()
			<-h.done // queued tasks dropped, running ones stopped on their nodes: prompt
			return starlark.Bool(was), nil
		}), nil
	case "wait":
		return method(func(th *starlark.Thread, n string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var timeout starlark.Value = starlark.None
			if err := unpackArgs(n, args, kwargs, "timeout?", &timeout); err != nil {
				return nil, err
			}
			d, err := asTimeout(n, timeout)
			if err != nil {
				return nil, err
			}
			return h.wait(threadContext(th), d)
		}), nil
	case "as_completed":
		return method(func(th *starlark.Thread, n string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := unpackPositional(n, args, kwargs, 0); err != nil {
				return nil, err
			}
			return completedIterable{h, threadContext(th)}, nil
		}), nil
	}
	return nil, nil
}

// asTimeout reads timeout=None (no limit: 0) or a number of seconds.
func asTimeout(name string, v starlark.Value) (time.Duration, error) {
	if v == starlark.None {
		return 0, nil
	}
	x, ok := starlark.AsFloat(v)
	if !ok || x <= 0 {
		return 0, usageError("%s: timeout must be a positive number of seconds or None, got %s", name, v.String())
	}
	return time.Duration(x * float64(time.Second)), nil
}

// wait waits for the map to end, for timeout (if not 0) or for ctx (the cell's interrupt).
func (h *MapHandle) wait(ctx context.Context, timeout time.Duration) (starlark.Value, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-h.done:
	case <-expired:
		h.mu.Lock()
		done := h.p.Done
		h.mu.Unlock()
		return nil, failure(kindTimeout, "map_handle.wait: timed out after %s with %d/%d tasks done; the map goes on", units.Duration(timeout), done, h.total)
	case <-ctx.Done():
		return nil, failure(kindInterrupted, "map_handle.wait was interrupted: the map goes on in the background (.cancel() stops it)")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		if errors.Is(h.err, cluster.ErrInterrupted) {
			return nil, failure(kindInterrupted, "map_handle.wait: the map was cancelled with %d/%d tasks done", h.p.Done, h.total)
		}
		return nil, h.err
	}
	if !h.written { // in the cell's thread: no cell reads the input arrays meanwhile
		h.arrays.writeBack(h.f, h.res.Tasks)
		h.written = true
	}
	return h.value, nil
}

// Iterate yields (index, result) pairs as tasks finish. It cannot see a cell's interrupt;
// as_completed() can.
func (h *MapHandle) Iterate() starlark.Iterator {
	return &completedIter{h: h, ctx: context.Background()}
}

// completedIterable is as_completed(): iteration that an interrupt stops.
type completedIterable struct {
	h   *MapHandle
	ctx context.Context
}

var _ starlark.Iterable = completedIterable{}

func (c completedIterable) String() string       { return "<as_completed " + c.h.f.Name() + ">" }
func (c completedIterable) Type() string         { return "as_completed" }
func (c completedIterable) Freeze()              {}
func (c completedIterable) Truth() starlark.Bool { return true }
func (c completedIterable) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: as_completed")
}
func (c completedIterable) Iterate() starlark.Iterator {
	return &completedIter{h: c.h, ctx: c.ctx}
}

// completedIter yields the handle's finished tasks in the order they finished, waiting for
// more until the map ends.
type completedIter struct {
	h   *MapHandle
	ctx context.Context
	i   int
}

func (it *completedIter) Next(p *starlark.Value) bool {
	h := it.h
	for {
		h.mu.Lock()
		if it.i < len(h.finished) {
			k := h.finished[it.i]
			it.i++
			v := h.values[k]
			h.mu.Unlock()
			*p = starlark.Tuple{starlark.MakeInt(k), v}
			return true
		}
		changed := h.changed
		ended := h.isDone()
		h.mu.Unlock()
		if ended {
			return false
		}
		select {
		case <-changed:
		case <-it.ctx.Done():
			return false
		}
	}
}

func (it *completedIter) Done() {}
