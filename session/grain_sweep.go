package session

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
)

// Sweep is what sweep() returns: a map run over several node counts and chunk sizes, with its
// throughput, speedup and efficiency — the raw material of an Amdahl plot.
type Sweep struct {
	name string
	rows []sweepRow
}

type sweepRow struct {
	nodes      int
	chunk      int // 0: auto
	maxChunk   int // the largest chunk used
	elapsed    float64
	throughput float64 // calls per second
	speedup    float64 // against the fewest nodes with the same chunk, times their number
	efficiency float64 // speedup ÷ nodes
	failed     int
}

var (
	_ starlark.HasAttrs = (*Sweep)(nil)
	_ display.Shower    = (*Sweep)(nil)
)

// builtinSweep is sweep(f, inputs, nodes=None, chunks=None): pmap(f, inputs) once per node
// count (default 1…all ready nodes) and chunk size (default: auto).
func (s *Session) builtinSweep(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fv, inputs starlark.Value
	var nodesV, chunksV starlark.Value = starlark.None, starlark.None
	if err := unpackArgs("sweep", args, kwargs, "f", &fv, "inputs", &inputs, "nodes?", &nodesV, "chunks?", &chunksV); err != nil {
		return nil, err
	}
	f, ok := fv.(*Function)
	if !ok {
		return nil, usageError("sweep: first argument must be a Wasm function, got %s: give a module's export, such as m.f", fv.Type())
	}
	in, err := encodeInputs("sweep", f, inputs, len(f.sig.Params), "")
	if err != nil {
		return nil, err
	}
	raw := in.raw
	if s.client == nil {
		return nil, failure(kindNoNodes, "sweep: no cluster")
	}
	var ready []string
	for _, n := range s.client.Nodes() {
		if n.Ready {
			ready = append(ready, n.ID)
		}
	}
	counts, err := intList("sweep", "nodes", nodesV, false)
	if err != nil {
		return nil, err
	}
	if counts == nil {
		for n := 1; n <= len(ready); n++ {
			counts = append(counts, n)
		}
	}
	for _, n := range counts {
		if n < 1 || n > len(ready) {
			return nil, usageError("sweep: nodes=%d, but %d node%s ready: give counts from 1 to %d, or None for 1 to %d", n, len(ready), plural(len(ready)), len(ready), len(ready))
		}
	}
	chunks, err := intList("sweep", "chunks", chunksV, true)
	if err != nil {
		return nil, err
	}
	if chunks == nil {
		chunks = []int{0}
	}
	sw := &Sweep{name: f.Name()}
	ctx := threadContext(thread)
	for _, k := range chunks {
		var base *sweepRow
		for _, n := range counts {
			r, err := s.client.Map(ctx, cluster.MapSpec{Export: f.export(), Args: raw, Buffers: in.bufs, Chunk: k, Nodes: ready[:n]}, nil)
			if err != nil {
				return nil, err
			}
			row := sweepRow{nodes: n, chunk: k, maxChunk: r.Chunk, elapsed: r.Elapsed.Seconds(), failed: r.Failed}
			if row.elapsed > 0 {
				row.throughput = float64(len(raw)) / row.elapsed
			}
			if base == nil {
				base = &row
			}
			if row.elapsed > 0 {
				row.speedup = float64(base.nodes) * base.elapsed / row.elapsed
				row.efficiency = row.speedup / float64(n)
			}
			sw.rows = append(sw.rows, row)
		}
	}
	return sw, nil
}

// intList reads None, or a list of ints (None in it means auto, 0, when allowed).
func intList(fn, name string, v starlark.Value, none bool) ([]int, error) {
	if v == starlark.None {
		return nil, nil
	}
	iter := starlark.Iterate(v)
	if iter == nil {
		return nil, usageError("%s: %s must be a list of ints, got %s", fn, name, v.Type())
	}
	defer iter.Done()
	var out []int
	var x starlark.Value
	for iter.Next(&x) {
		if x == starlark.None && none {
			out = append(out, 0)
			continue
		}
		n, err := starlark.AsInt32(x)
		if err != nil || n < 1 {
			return nil, usageError("%s: %s must hold positive ints, got %s", fn, name, x.String())
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usageError("%s: %s is empty: give at least one, or None", fn, name)
	}
	return out, nil
}

func (w *Sweep) String() string        { return fmt.Sprintf("<sweep %s: %d runs>", w.name, len(w.rows)) }
func (w *Sweep) Type() string          { return "sweep" }
func (w *Sweep) Freeze()               {}
func (w *Sweep) Truth() starlark.Bool  { return len(w.rows) > 0 }
func (w *Sweep) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: sweep") }

// AttrNames: rows (a list of dicts), and the columns as lists (nodes, chunks, times,
// throughput, speedup, efficiency) for plots such as speedup_plot(s.nodes, s.times).
func (w *Sweep) AttrNames() []string {
	return []string{"chunks", "efficiency", "nodes", "rows", "speedup", "throughput", "times"}
}

func (w *Sweep) Attr(name string) (starlark.Value, error) {
	col := func(f func(r sweepRow) starlark.Value) starlark.Value {
		list := make([]starlark.Value, len(w.rows))
		for i, r := range w.rows {
			list[i] = f(r)
		}
		return starlark.NewList(list)
	}
	chunk := func(r sweepRow) starlark.Value {
		if r.chunk == 0 {
			return starlark.None
		}
		return starlark.MakeInt(r.chunk)
	}
	switch name {
	case "nodes":
		return col(func(r sweepRow) starlark.Value { return starlark.MakeInt(r.nodes) }), nil
	case "chunks":
		return col(chunk), nil
	case "times":
		return col(func(r sweepRow) starlark.Value { return starlark.Float(r.elapsed) }), nil
	case "throughput":
		return col(func(r sweepRow) starlark.Value { return starlark.Float(r.throughput) }), nil
	case "speedup":
		return col(func(r sweepRow) starlark.Value { return starlark.Float(r.speedup) }), nil
	case "efficiency":
		return col(func(r sweepRow) starlark.Value { return starlark.Float(r.efficiency) }), nil
	case "rows":
		return col(func(r sweepRow) starlark.Value {
			d := starlark.NewDict(7)
			d.SetKey(starlark.String("nodes"), starlark.MakeInt(r.nodes))
			d.SetKey(starlark.String("chunk"), chunk(r))
			d.SetKey(starlark.String("max_chunk"), starlark.MakeInt(r.maxChunk))
			d.SetKey(starlark.String("elapsed"), starlark.Float(r.elapsed))
			d.SetKey(starlark.String("throughput"), starlark.Float(r.throughput))
			d.SetKey(starlark.String("speedup"), starlark.Float(r.speedup))
			d.SetKey(starlark.String("efficiency"), starlark.Float(r.efficiency))
			return d
		}), nil
	}
	return nil, nil
}

func (w *Sweep) table() *display.Table {
	t := &display.Table{
		Title:   "sweep of " + w.name,
		Headers: []string{"nodes", "chunk", "elapsed", "calls/s", "speedup", "efficiency"},
		Right:   map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true},
		Note:    "speedup against the fewest nodes with the same chunk (times their number); efficiency = speedup ÷ nodes",
	}
	for _, r := range w.rows {
		chunk := fmt.Sprint(r.chunk)
		if r.chunk == 0 {
			chunk = fmt.Sprintf("auto (≤ %d)", r.maxChunk)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.nodes), chunk, fmt.Sprintf("%.3g s", r.elapsed),
			shortNumber(r.throughput), fmt.Sprintf("%.2f", r.speedup), fmt.Sprintf("%.0f%%", 100*r.efficiency)})
	}
	return t
}

// Show is the table.
func (w *Sweep) Show() display.Bundle { return w.table().Bundle() }

// Terminal is the table for the REPL.
func (w *Sweep) Terminal(color bool) string { return w.table().Terminal(color) }
