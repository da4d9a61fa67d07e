package session

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// builtinPmap is pmap(f, inputs, chunk=None, retries=0, nodes=None, out=None, wait=True,
// args=(), keep=False): f over inputs on the cluster's nodes. With wait=False it returns a
// MapHandle at once. Inputs may hold arrays (passed by pointer, see callArgs); out=, an array,
// gives each task a copy of it as its last argument, and the map's results are those copies as
// the tasks left them. Inputs may be a scattered array instead: see pmapData.
func (s *Session) builtinPmap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return s.pmap(thread, b.Name(), args, kwargs, b.Name() == "pmap")
}

// builtinPmapAsync is pmap_async(...): pmap(..., wait=False).
func (s *Session) builtinPmapAsync(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return s.pmap(thread, b.Name(), args, kwargs, false)
}

func (s *Session) pmap(thread *starlark.Thread, name string, args starlark.Tuple, kwargs []starlark.Tuple, wait bool) (starlark.Value, error) {
	var fv, inputs, chunkV, nodesV, outV starlark.Value
	var extra starlark.Tuple
	retries, keep := 0, false
	params := []any{"f", &fv, "inputs", &inputs, "chunk?", &chunkV, "retries?", &retries, "nodes?", &nodesV, "out?", &outV}
	if wait {
		params = append(params, "wait?", &wait)
	}
	params = append(params, "args?", &extra, "keep?", &keep)
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
	if d, ok := inputs.(*Scattered); ok {
		return s.pmapData(thread, name, f, d, dataMap{extra: extra, out: outV, keep: keep, chunk: chunk, retries: retries, nodes: nodesV, wait: wait})
	}
	switch {
	case keep:
		return nil, usageError("%s: keep=True leaves the outputs beside the scattered parts they came from: map over a scattered array (d = scatter(a, parts))", name)
	case len(extra) > 0:
		return nil, usageError("%s: args= gives the arguments after (part, n) of a map over a scattered array; here give each input as a tuple of arguments", name)
	}
	n, more := len(f.sig.Params), ""
	var out *array.Array
	if outV != nil && outV != starlark.None {
		if out, ok = outV.(*array.Array); !ok {
			return nil, usageError("%s: out must be an array, such as zeros(1024, \"u8\"), got %s", name, outV.Type())
		}
		if n == 0 {
			return nil, usageError("%s: out= goes to the last argument of %s%s, which takes none", name, f.Name(), signature(f.sig))
		}
		if err := f.takesArray(n - 1); err != nil {
			return nil, fmt.Errorf("%s: out=: %w", name, err)
		}
		n, more = n-1, "out="
	}
	in, err := encodeInputs(name, f, inputs, n, more)
	if err != nil {
		return nil, err
	}
	raw := in.raw
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
	spec := cluster.MapSpec{Export: f.export(), Args: raw, Buffers: in.bufs, Chunk: chunk, Retries: retries, Nodes: nodes}
	var arrays *mapArrays
	if in.bufs != nil || out != nil {
		arrays = &mapArrays{bufs: in.bufs, arrays: in.arrays, out: out, outArg: n}
	}
	if out != nil {
		spec.Out = &wasm.Buffer{Data: bytes.Clone(out.Bytes()), Align: out.DType().Size()}
	}
	if !wait {
		if in.bufs != nil { // the cells that follow may change the arrays while the map sends them
			spec.Buffers = cloneBuffers(in.bufs)
		}
		return startMap(f, spec, arrays), nil
	}
	bar := newProgressBar(threadOutput(thread))
	res, err := s.client.Map(threadContext(thread), spec, bar.update)
	if err != nil {
		bar.stopped()
		return nil, err
	}
	arrays.writeBack(f, res.Tasks)
	m := newMapResult(f, res, arrays)
	if bar.finish(res) {
		m.summedIn = thread
	}
	return m, nil
}

// mapInputs are a map's inputs as the cluster takes them.
type mapInputs struct {
	raw    [][]uint64
	bufs   [][]wasm.Buffer  // each task's arrays; nil when no input holds one
	arrays [][]*array.Array // arrays[i][k] is the array of bufs[i][k]
}

// encodeInputs converts a map's inputs (scalars, or tuples of arguments) for f's first n
// parameters; more, if not "", says what gives the others (out=).
func encodeInputs(name string, f *Function, inputs starlark.Value, n int, more string) (mapInputs, error) {
	var in mapInputs
	iter := starlark.Iterate(inputs)
	if iter == nil {
		return in, usageError("%s: inputs must be iterable, got %s: give a range, or a list of values or tuples", name, inputs.Type())
	}
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		tuple, ok := x.(starlark.Tuple)
		if !ok {
			tuple = starlark.Tuple{x}
		}
		ca, err := f.encodeFirst(tuple, n, more)
		if err != nil {
			return in, fmt.Errorf("%s: input %d: %w", name, i, err)
		}
		in.raw = append(in.raw, ca.raw)
		if len(ca.bufs) > 0 && in.bufs == nil {
			in.bufs, in.arrays = make([][]wasm.Buffer, i, i+1), make([][]*array.Array, i, i+1)
		}
		if in.bufs != nil {
			in.bufs, in.arrays = append(in.bufs, ca.bufs), append(in.arrays, ca.arrays)
		}
	}
	return in, nil
}

// cloneBuffers copies the bytes of a map's arrays.
func cloneBuffers(bufs [][]wasm.Buffer) [][]wasm.Buffer {
	out := make([][]wasm.Buffer, len(bufs))
	for i, bs := range bufs {
		out[i] = slices.Clone(bs)
		for k := range out[i] {
			out[i][k].Data = bytes.Clone(out[i][k].Data)
		}
	}
	return out
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

// finish replaces the bar with the map's summary, if the bar was shown, which it reports.
func (b *progressBar) finish(r *cluster.MapResult) bool {
	if b.shown {
		b.show(barLine(b.p) + "\n" + summary(r))
	}
	return b.shown
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
// failed), with the map's tasks, timings and errors as attributes. With out=, the results are
// the tasks' output arrays, and .stack() makes one array of them.
type MapResult struct {
	r      *cluster.MapResult
	name   string
	values []starlark.Value
	data   int // the bytes of the scattered array the map ran over; 0 for none
	// summedIn is the cell whose progress bar ended with the map's summary, nil if none: shown
	// as that cell's value, the result leaves the summary out (see shownMapResult).
	summedIn *starlark.Thread
}

var (
	_ starlark.Indexable = (*MapResult)(nil)
	_ starlark.Sequence  = (*MapResult)(nil)
	_ starlark.HasAttrs  = (*MapResult)(nil)
	_ display.Shower     = (*MapResult)(nil)
)

// newMapResult is the result of a map of f, whose arrays (nil for none) say how its tasks'
// results become values.
func newMapResult(f *Function, r *cluster.MapResult, arrays *mapArrays) *MapResult {
	m := &MapResult{r: r, name: f.Name(), values: make([]starlark.Value, len(r.Tasks))}
	for i := range r.Tasks {
		m.values[i] = arrays.taskValue(f, i, &r.Tasks[i])
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

var mapResultAttrs = []string{"busy", "chunk", "chunk_reason", "chunks", "elapsed", "errors", "per_node", "received", "retried", "sent", "stack", "stolen", "tasks"}

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
	case "sent":
		return starlark.MakeInt64(m.r.Sent), nil
	case "received":
		return starlark.MakeInt64(m.r.Received), nil
	case "speedup":
		return nil, usageError("a map has no .speedup: a speedup is measured against one node — divide " +
			"pmap(f, inputs, nodes=1).elapsed by this map's .elapsed, or use sweep(f, inputs); .busy is how many " +
			"nodes were busy on average")
	case "stack":
		return starlark.NewBuiltin("stack", m.stack).BindReceiver(m), nil
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

// stack is r.stack(): the map's output arrays as one array, task i's at index i, as
// numpy.stack makes it: a map of rows gives an image.
func (m *MapResult) stack(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	arrays := make([]*array.Array, len(m.values))
	for i, v := range m.values {
		a, ok := v.(*array.Array)
		switch {
		case ok:
			arrays[i] = a
		case m.r.Tasks[i].Err != nil:
			return nil, usageError("stack: task %d failed (%v), so there is no array of it to stack: .errors lists the failures", i, m.r.Tasks[i].Err)
		default:
			return nil, usageError("stack: task %d gave %s, not an array: stack() makes one array of a map's out= arrays, as pmap(f, inputs, out=zeros(1024, \"u8\")) gives them", i, v.Type())
		}
	}
	a, err := array.Stack(arrays)
	if err != nil {
		return nil, usageError("stack: %v", err)
	}
	return a, nil
}

// Show is the map's summary as text, and a table of its nodes as HTML.
func (m *MapResult) Show() display.Bundle {
	text := "pmap(" + m.name + "): " + summary(m.r) + "\n" + preview(m.values)
	return display.Bundle{"text/plain": text, "text/html": m.table().HTML()}
}

// shownMapResult is a map's result as the value of the cell whose progress bar ended with the
// map's summary: its text is the results alone, below that summary.
type shownMapResult struct{ *MapResult }

func (m shownMapResult) Show() display.Bundle {
	return display.Bundle{"text/plain": preview(m.values), "text/html": m.table().HTML()}
}

func (m *MapResult) table() *display.Table {
	per := m.r.PerNode()
	t := &display.Table{
		Title:   "pmap(" + m.name + "): " + summary(m.r),
		Headers: []string{"node", "tasks", "busy", "share"},
		Right:   map[int]bool{1: true, 2: true, 3: true},
		Note:    m.r.ChunkReason,
	}
	if m.data > 0 {
		t.Note += "\n" + dataNote(m.r, m.data)
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
