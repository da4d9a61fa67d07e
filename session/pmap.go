package session

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
)

// builtinPmap is pmap(f, inputs, chunk=None, retries=0, nodes=None, wait=True): f over inputs
// on the cluster's nodes. With wait=False it returns a MapHandle at once.
func (s *Session) builtinPmap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return s.pmap(thread, b.Name(), args, kwargs, b.Name() == "pmap")
}

// builtinPmapAsync is pmap_async(...): pmap(..., wait=False).
func (s *Session) builtinPmapAsync(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return s.pmap(thread, b.Name(), args, kwargs, false)
}

func (s *Session) pmap(thread *starlark.Thread, name string, args starlark.Tuple, kwargs []starlark.Tuple, wait bool) (starlark.Value, error) {
	var fv, inputs, chunkV, nodesV starlark.Value
	retries := 0
	params := []any{"f", &fv, "inputs", &inputs, "chunk?", &chunkV, "retries?", &retries, "nodes?", &nodesV}
	if wait {
		params = append(params, "wait?", &wait)
	}
	if err := unpackArgs(name, args, kwargs, params...); err != nil {
		return nil, err
	}
	f, ok := fv.(*Function)
	if !ok {
		return nil, usageError("%s: first argument must be a Wasm function, got %s: give a module's export, such as m.f", name, fv.Type())
	}
	chunk := 0
	if chunkV != nil && chunkV != starlark.None {
		n, err := starlark.AsInt32(chunkV)
		if err != nil || n < 1 {
			return nil, usageError("%s: chunk must be a positive int or None, got %s", name, chunkV.String())
		}
		chunk = n
	}
	if retries < 0 {
		return nil, usageError("%s: retries must be 0 or more, got %d", name, retries)
	}
	raw, err := encodeInputs(name, f, inputs)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, usageError("%s: inputs is empty: give at least one input (a range, or a list of values or tuples)", name)
	}
	if f.module.s != s {
		return nil, usageError("%s: %s belongs to a module of another session: %%load it in this one", name, f.Name())
	}
	if s.client == nil {
		return nil, failure(kindNoNodes, "%s: no cluster", name)
	}
	nodes, err := s.pickNodes(name, nodesV)
	if err != nil {
		return nil, err
	}
	spec := cluster.MapSpec{Module: f.module.info.SHA256, Func: f.sig.Name, Args: raw, Chunk: chunk, Retries: retries, Nodes: nodes}
	if !wait {
		return startMap(f, spec), nil
	}
	out := threadOutput(thread)
	bar := newProgressBar(out)
	res, err := s.client.Map(threadContext(thread), spec, bar.update)
	if err != nil {
		bar.stopped()
		return nil, err
	}
	bar.finish(res)
	return newMapResult(f, res), nil
}

// encodeInputs converts a map's inputs (scalars, or tuples of arguments) for f.
func encodeInputs(name string, f *Function, inputs starlark.Value) ([][]uint64, error) {
	iter := starlark.Iterate(inputs)
	if iter == nil {
		return nil, usageError("%s: inputs must be iterable, got %s: give a range, or a list of values or tuples", name, inputs.Type())
	}
	defer iter.Done()
	var raw [][]uint64
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		tuple, ok := x.(starlark.Tuple)
		if !ok {
			tuple = starlark.Tuple{x}
		}
		a, err := f.encode(tuple)
		if err != nil {
			return nil, fmt.Errorf("%s: input %d: %w", name, i, err)
		}
		raw = append(raw, a)
	}
	return raw, nil
}

// pickNodes reads a nodes= argument: None (every node), a list of node IDs, or a number of
// nodes (the first ones that are ready, by ID).
func (s *Session) pickNodes(name string, v starlark.Value) ([]string, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.Int:
		n, ok := v.Int64()
		var ready []string
		for _, info := range s.client.Nodes() {
			if info.Ready {
				ready = append(ready, info.ID)
			}
		}
		if !ok || n < 1 || int(n) > len(ready) {
			return nil, usageError("%s: nodes=%s, but %d node%s ready: give 1 to %d, or None for every node", name, v, len(ready), plural(len(ready)), len(ready))
		}
		return ready[:n], nil
	}
	iter := starlark.Iterate(v)
	if iter == nil {
		return nil, usageError("%s: nodes must be a number or a list of node IDs, got %s", name, v.Type())
	}
	defer iter.Done()
	var ids []string
	var x starlark.Value
	for iter.Next(&x) {
		id, ok := starlark.AsString(x)
		if !ok {
			return nil, usageError("%s: nodes must be a number or a list of node IDs, got a %s in it", name, x.Type())
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, usageError("%s: nodes is empty: give a number of nodes or their IDs (%%nodes lists them), or None for every node", name)
	}
	for _, id := range ids {
		if err := s.checkNode(name, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// checkNode is a UsageError of fn unless id names a node of the cluster.
func (s *Session) checkNode(fn, id string) error {
	var names []string
	for _, info := range s.client.Nodes() {
		if info.ID == id {
			return nil
		}
		names = append(names, info.ID)
	}
	return usageError("%s: no node is called %q: the nodes are %s (%%nodes lists them)", fn, id, strings.Join(names, ", "))
}

// progressBar shows a map's progress in one display, updated at most 10 times a second.
type progressBar struct {
	out   Output
	id    string
	shown bool
	last  time.Time
	p     cluster.MapProgress
}

func newProgressBar(out Output) *progressBar {
	b := make([]byte, 6)
	rand.Read(b)
	// The first bar waits 100 ms: a short map shows only its result.
	return &progressBar{out: out, id: "pmap-" + hex.EncodeToString(b), last: time.Now()}
}

func (b *progressBar) update(p cluster.MapProgress) {
	b.p = p
	if time.Since(b.last) < 100*time.Millisecond || p.Done == p.Total {
		return
	}
	b.last = time.Now()
	b.show(barLine(p))
}

func (b *progressBar) show(line string) {
	b.out.Display(display.Progress(line, b.p.Done, b.p.Total), b.id, b.shown)
	b.shown = true
}

// stopped leaves the bar, if it was shown, as it was when the map stopped short: a summary of
// its result would count tasks that never ran.
func (b *progressBar) stopped() {
	if b.shown {
		b.show(barLine(b.p))
	}
}

// finish replaces the bar with the map's summary, if the bar was shown.
func (b *progressBar) finish(r *cluster.MapResult) {
	if b.shown {
		b.show(barLine(b.p) + "\n" + summary(r))
	}
}

// barLine is "━━━━━━━━━━────────── 512/1024 · 2 nodes · 1.2k calls/s · ETA 1s · 0 retried".
func barLine(p cluster.MapProgress) string {
	const width = 20
	filled := 0
	if p.Total > 0 {
		filled = width * p.Done / p.Total
	}
	rate := 0.0
	if p.Elapsed > 0 {
		rate = float64(p.Done) / p.Elapsed.Seconds()
	}
	eta := "?"
	if p.Done == p.Total {
		eta = "0 s"
	} else if rate > 0 {
		eta = units.Duration(time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)))
	}
	line := fmt.Sprintf("%s%s %d/%d · %d node%s · %s calls/s · ETA %s · %d retried",
		strings.Repeat("━", filled), strings.Repeat("─", width-filled), p.Done, p.Total,
		p.Nodes, plural(p.Nodes), shortNumber(rate), eta, p.Retried)
	if p.Failed > 0 {
		line += fmt.Sprintf(" · %d failed", p.Failed)
	}
	return line
}

func shortNumber(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// summary is the one line a map ends with.
func summary(r *cluster.MapResult) string {
	n := len(r.Tasks)
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(n) / r.Elapsed.Seconds()
	}
	return fmt.Sprintf("%d task%s on %d node%s in %s (%s calls/s) · chunk %d · %.2f nodes busy · %d retried · %d failed",
		n, plural(n), len(r.PerNode()), plural(len(r.PerNode())), units.Duration(r.Elapsed), shortNumber(rate),
		r.Chunk, r.BusyNodes(), r.Retried, r.Failed)
}

// MapResult is what pmap returns: a list of results in input order (None where a task
// failed), with the map's tasks, timings and errors as attributes.
type MapResult struct {
	r      *cluster.MapResult
	name   string
	values []starlark.Value
}

var (
	_ starlark.Indexable = (*MapResult)(nil)
	_ starlark.Sequence  = (*MapResult)(nil)
	_ starlark.HasAttrs  = (*MapResult)(nil)
	_ display.Shower     = (*MapResult)(nil)
)

func newMapResult(f *Function, r *cluster.MapResult) *MapResult {
	m := &MapResult{r: r, name: f.Name(), values: make([]starlark.Value, len(r.Tasks))}
	for i, t := range r.Tasks {
		if t.Err != nil || t.Values == nil {
			m.values[i] = starlark.None
		} else {
			m.values[i] = decodeResults(f.sig.Results, t.Values)
		}
	}
	return m
}

func (m *MapResult) String() string {
	return starlark.NewList(m.values).String()
}
func (m *MapResult) Type() string          { return "map_result" }
func (m *MapResult) Freeze()               {}
func (m *MapResult) Truth() starlark.Bool  { return len(m.values) > 0 }
func (m *MapResult) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: map_result") }
func (m *MapResult) Len() int              { return len(m.values) }
func (m *MapResult) Index(i int) starlark.Value {
	return m.values[i]
}
func (m *MapResult) Iterate() starlark.Iterator {
	return starlark.NewList(m.values).Iterate()
}

var mapResultAttrs = []string{"busy", "chunk", "chunk_reason", "chunks", "elapsed", "errors", "per_node", "retried", "stolen", "tasks"}

// AttrNames lists the attributes of a map's result.
func (m *MapResult) AttrNames() []string { return mapResultAttrs }

// Attr gives the map's tasks, timings and errors; times are seconds since the map began.
func (m *MapResult) Attr(name string) (starlark.Value, error) {
	secs := func(t time.Time) starlark.Value {
		if t.IsZero() {
			return starlark.None
		}
		return starlark.Float(t.Sub(m.r.Began).Seconds())
	}
	switch name {
	case "chunk":
		return starlark.MakeInt(m.r.Chunk), nil
	case "chunk_reason":
		return starlark.String(m.r.ChunkReason), nil
	case "chunks":
		list := make([]starlark.Value, len(m.r.Chunks))
		for i, k := range m.r.Chunks {
			list[i] = starlark.MakeInt(k)
		}
		return starlark.NewList(list), nil
	case "elapsed":
		return starlark.Float(m.r.Elapsed.Seconds()), nil
	case "retried":
		return starlark.MakeInt(m.r.Retried), nil
	case "busy":
		return starlark.Float(m.r.BusyNodes()), nil
	case "stolen":
		return starlark.MakeInt(m.r.Stolen), nil
	case "speedup":
		return nil, usageError("a map has no .speedup: a speedup is measured against one node — divide " +
			"pmap(f, inputs, nodes=1).elapsed by this map's .elapsed, or use sweep(f, inputs); .busy is how many " +
			"nodes were busy on average")
	case "errors":
		d := starlark.NewDict(m.r.Failed)
		for i, t := range m.r.Tasks {
			if t.Err != nil {
				d.SetKey(starlark.MakeInt(i), starlark.String(t.Err.Error()))
			}
		}
		return d, nil
	case "per_node":
		per := m.r.PerNode()
		d := starlark.NewDict(len(per))
		for _, id := range m.r.NodeIDs() {
			st := starlark.NewDict(2)
			st.SetKey(starlark.String("tasks"), starlark.MakeInt(per[id].Tasks))
			st.SetKey(starlark.String("busy"), starlark.Float(per[id].Busy.Seconds()))
			d.SetKey(starlark.String(id), st)
		}
		return d, nil
	case "tasks":
		list := make([]starlark.Value, len(m.r.Tasks))
		for i, t := range m.r.Tasks {
			d := starlark.NewDict(9)
			d.SetKey(starlark.String("index"), starlark.MakeInt(i))
			d.SetKey(starlark.String("node"), starlark.String(t.Node))
			d.SetKey(starlark.String("submitted"), secs(t.Submitted))
			d.SetKey(starlark.String("started"), secs(t.Started))
			d.SetKey(starlark.String("finished"), secs(t.Finished))
			d.SetKey(starlark.String("received"), secs(t.Received))
			d.SetKey(starlark.String("retries"), starlark.MakeInt(t.Retries))
			d.SetKey(starlark.String("tier"), starlark.String(t.Tier))
			var e starlark.Value = starlark.None
			if t.Err != nil {
				e = starlark.String(t.Err.Error())
			}
			d.SetKey(starlark.String("error"), e)
			list[i] = d
		}
		return starlark.NewList(list), nil
	}
	return m.chartAttr(name)
}

// Show is the map's summary as text, and a table of its nodes as HTML.
func (m *MapResult) Show() display.Bundle {
	t := m.table()
	text := "pmap(" + m.name + "): " + summary(m.r) + "\n" + preview(m.values)
	return display.Bundle{"text/plain": text, "text/html": t.HTML()}
}

func (m *MapResult) table() *display.Table {
	per := m.r.PerNode()
	t := &display.Table{
		Title:   "pmap(" + m.name + "): " + summary(m.r),
		Headers: []string{"node", "tasks", "busy", "share"},
		Right:   map[int]bool{1: true, 2: true, 3: true},
		Note:    m.r.ChunkReason,
	}
	for _, id := range m.r.NodeIDs() {
		share := 0.0
		if n := len(m.r.Tasks); n > 0 {
			share = 100 * float64(per[id].Tasks) / float64(n)
		}
		t.Rows = append(t.Rows, []string{id, fmt.Sprint(per[id].Tasks), units.Duration(per[id].Busy), fmt.Sprintf("%.0f%%", share)})
	}
	var failed []int
	for i, task := range m.r.Tasks {
		if task.Err != nil {
			failed = append(failed, i)
		}
	}
	sort.Ints(failed)
	for k, i := range failed {
		if k == 5 {
			t.Note += fmt.Sprintf("\n… and %d more errors", len(failed)-5)
			break
		}
		t.Note += fmt.Sprintf("\ntask %d: %v", i, m.r.Tasks[i].Err)
	}
	return t
}

// preview is the first results, as a list's repr.
func preview(values []starlark.Value) string {
	const most = 10
	if len(values) <= most {
		return starlark.NewList(values).String()
	}
	s := starlark.NewList(values[:most]).String()
	return s[:len(s)-1] + fmt.Sprintf(", … %d more]", len(values)-most)
}
