package session

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
)

// Scattered is an array kept on the cluster's nodes in parts along its first axis: what
// scatter(a, parts) and pmap(..., keep=True) return. Its parts stay on their nodes until
// free(d), or until no variable of the session refers to it any more (see collectScattered);
// the session keeps a copy of a scattered array's bytes, from which a part whose node is lost is
// sent again (a map's kept output is computed again from its input instead).
type Scattered struct {
	s      *Session
	client *cluster.Client // the cluster the parts are kept on
	dtype  array.DType
	shapes [][]int  // each part's shape
	hashes []string // each part's hash
	freed  bool
}

var (
	_ starlark.HasAttrs  = (*Scattered)(nil)
	_ display.Shower     = (*Scattered)(nil)
	_ display.Terminaler = (*Scattered)(nil)
)

// newScattered records parts kept on the nodes as a value of the session, which collects it
// once nothing refers to it.
func (s *Session) newScattered(dtype array.DType, shapes [][]int, hashes []string) *Scattered {
	d := &Scattered{s: s, client: s.client, dtype: dtype, shapes: shapes, hashes: hashes}
	s.scattered[d] = true
	return d
}

// rows is the number of rows of the whole array, and its shape beyond the first axis.
func (d *Scattered) rows() (int, []int) {
	n := 0
	for _, sh := range d.shapes {
		n += sh[0]
	}
	return n, d.shapes[0][1:]
}

// shape is the whole array's shape, as gather(d) gives it.
func (d *Scattered) shape() []int {
	n, rest := d.rows()
	return append([]int{n}, rest...)
}

// nbytes is the size of the whole array.
func (d *Scattered) nbytes() int {
	n := 0
	for _, sh := range d.shapes {
		k := d.dtype.Size()
		for _, x := range sh {
			k *= x
		}
		n += k
	}
	return n
}

func (d *Scattered) String() string {
	if d.freed {
		return fmt.Sprintf("scattered(%s %s, freed)", d.dtype, shapeText(d.shape()))
	}
	return fmt.Sprintf("scattered(%s %s in %d part%s)", d.dtype, shapeText(d.shape()), len(d.hashes), plural(len(d.hashes)))
}
func (d *Scattered) Type() string          { return "scattered" }
func (d *Scattered) Freeze()               {}
func (d *Scattered) Truth() starlark.Bool  { return starlark.Bool(!d.freed) }
func (d *Scattered) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: scattered") }

// shapeText is a shape as "(8, 1024)", or "(1024,)" for one dimension, as numpy writes it.
func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, x := range shape {
		parts[i] = fmt.Sprint(x)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

var scatteredAttrs = []string{"dtype", "nbytes", "nodes", "parts", "shape"}

// AttrNames lists a scattered array's attributes.
func (d *Scattered) AttrNames() []string { return scatteredAttrs }

// Attr gives the array's dtype, shape and size, and where its parts are.
func (d *Scattered) Attr(name string) (starlark.Value, error) {
	switch name {
	case "dtype":
		return starlark.String(d.dtype.String()), nil
	case "shape":
		shape := d.shape()
		t := make(starlark.Tuple, len(shape))
		for i, x := range shape {
			t[i] = starlark.MakeInt(x)
		}
		return t, nil
	case "nbytes":
		return starlark.MakeInt(d.nbytes()), nil
	case "parts":
		places := d.places()
		list := make([]starlark.Value, len(places))
		for i, p := range places {
			pd := starlark.NewDict(5)
			pd.SetKey(starlark.String("index"), starlark.MakeInt(i))
			pd.SetKey(starlark.String("node"), nodeValue(p.Node))
			pd.SetKey(starlark.String("rows"), starlark.MakeInt(d.shapes[i][0]))
			pd.SetKey(starlark.String("bytes"), starlark.MakeInt(p.Size))
			pd.SetKey(starlark.String("hash"), starlark.String(p.Hash))
			list[i] = pd
		}
		return starlark.NewList(list), nil
	case "nodes":
		per := starlark.NewDict(2)
		for _, p := range d.places() {
			if p.Node == "" {
				continue
			}
			k := starlark.String(p.Node)
			v, _, _ := per.Get(k)
			n, _ := starlark.AsInt32(v)
			per.SetKey(k, starlark.MakeInt(n+p.Size))
		}
		return per, nil
	}
	return nil, nil
}

// nodeValue is a part's node, None while it is nowhere.
func nodeValue(node string) starlark.Value {
	if node == "" {
		return starlark.None
	}
	return starlark.String(node)
}

// places says where the parts are now: empty nodes once freed.
func (d *Scattered) places() []cluster.DataPart {
	if d.freed || d.client != d.s.client {
		out := make([]cluster.DataPart, len(d.hashes))
		for i, hash := range d.hashes {
			out[i].Hash = hash
		}
		return out
	}
	return d.client.DataParts(d.hashes)
}

// Show is the parts' table.
func (d *Scattered) Show() display.Bundle { return d.table().Bundle() }

// Terminal is the parts' table for a terminal.
func (d *Scattered) Terminal(color bool) string { return d.table().Terminal(color) }

func (d *Scattered) table() *display.Table {
	t := &display.Table{
		Title:   fmt.Sprintf("scattered %s array %s · %s in %d part%s", d.dtype, shapeText(d.shape()), units.Bytes(uint64(d.nbytes())), len(d.hashes), plural(len(d.hashes))),
		Headers: []string{"part", "node", "rows", "bytes", "hash"},
		Right:   map[int]bool{0: true, 2: true, 3: true},
	}
	for i, p := range d.places() {
		node := p.Node
		if node == "" {
			node = "–"
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(i), node, fmt.Sprint(d.shapes[i][0]), units.Bytes(uint64(p.Size)), p.Hash[:12]})
	}
	switch {
	case d.freed:
		t.Note = "freed: its parts are no longer on the nodes"
	case d.client != d.s.client:
		t.Note = "its parts were on the nodes of the hub the session left"
	default:
		t.Note = "each part stays on its node: pmap(f, d) calls f(part, n) there; gather(d) brings the array back; free(d) drops it"
	}
	return t
}

// check says why d cannot be used by builtin fn, if it cannot.
func (d *Scattered) check(s *Session, fn string) error {
	switch {
	case d.s != s:
		return usageError("%s: this scattered array belongs to another session: scatter the array in this one", fn)
	case d.freed:
		return usageError("%s: this scattered array was freed (free(d)): scatter the array again", fn)
	case d.client != s.client:
		return usageError("%s: this scattered array's parts were on the nodes of the hub the session left (%%cluster connect): scatter the array again", fn)
	}
	return nil
}

// free drops d's parts from their nodes; once is enough.
func (d *Scattered) free() {
	if d.freed {
		return
	}
	d.freed = true
	delete(d.s.scattered, d)
	if d.client == d.s.client {
		d.client.Free(d.hashes...)
	}
}

// builtinScatter is scatter(a, parts=None): a's rows in parts (as many as the ready nodes by
// default), each kept on a node.
func (s *Session) builtinScatter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var av, partsV starlark.Value = nil, starlark.None
	if err := unpackArgs(b.Name(), args, kwargs, "a", &av, "parts?", &partsV); err != nil {
		return nil, err
	}
	a, ok := av.(*array.Array)
	if !ok {
		return nil, usageError("%s: a must be an array, such as array(range(1000), \"f64\"), got %s", b.Name(), av.Type())
	}
	k := 0
	if partsV != starlark.None {
		n, err := starlark.AsInt32(partsV)
		if err != nil {
			return nil, usageError("%s: parts must be an int, got %s", b.Name(), partsV.Type())
		}
		k = n
	}
	switch {
	case a.Len() == 0:
		return nil, usageError("%s: the array is empty: there is nothing to scatter", b.Name())
	case partsV != starlark.None && k < 1:
		return nil, usageError("%s: parts must be 1 or more, got %d", b.Name(), k)
	case k > a.Len():
		return nil, usageError("%s: %d parts of an array of %d row%s: give at most %d parts (an array is split along its first axis)",
			b.Name(), k, a.Len(), plural(a.Len()), a.Len())
	case s.client == nil:
		return nil, failure(kindNoNodes, "%s: no cluster", b.Name())
	}
	s.waitLocalNodes(threadContext(thread)) // the parts spread over the nodes the session starts
	if partsV == starlark.None {            // one part per ready node
		for _, n := range s.client.Nodes() {
			if n.Ready {
				k++
			}
		}
		k = max(1, min(k, a.Len()))
	}
	// The client keeps a copy: a part lost with its node is sent again from it, whatever the
	// cells do to a meanwhile.
	data := a.Bytes()
	row := a.NBytes() / a.Len()
	rest := a.Shape()[1:]
	parts := make([][]byte, k)
	shapes := make([][]int, k)
	starts := append(splitRows(a.Len(), k), a.Len())
	for i := range k {
		lo, hi := starts[i], starts[i+1]
		parts[i] = data[lo*row : hi*row : hi*row]
		shapes[i] = append([]int{hi - lo}, rest...)
	}
	placed, err := s.client.ScatterCopy(threadContext(thread), parts, a.DType().Size())
	if err != nil {
		return nil, dataError(b.Name(), err)
	}
	hashes := make([]string, k)
	for i, p := range placed {
		hashes[i] = p.Hash
	}
	return s.newScattered(a.DType(), shapes, hashes), nil
}

// splitRows is where each of k parts of n rows begins, as numpy.array_split cuts them: the
// first n mod k parts have one row more.
func splitRows(n, k int) []int {
	starts := make([]int, k)
	lo := 0
	for i := range k {
		starts[i] = lo
		lo += n / k
		if i < n%k {
			lo++
		}
	}
	return starts
}

// dataError is a failure of data kept on the nodes, in one line that says what to do.
func dataError(fn string, err error) error {
	switch {
	case errors.Is(err, cluster.ErrDataLimit):
		msg := err.Error()
		if _, after, ok := strings.Cut(msg, cluster.ErrDataLimit.Error()+": "); ok {
			msg = after
		}
		return usageError("%s: %s", fn, msg)
	case errors.Is(err, cluster.ErrNoNodes):
		return failure(kindNoNodes, "%s: no nodes to keep the data on: %%cluster says how nodes join", fn)
	}
	return fmt.Errorf("%s: %w", fn, err)
}

// builtinGather is gather(d): the array d's parts make, brought back from their nodes.
func (s *Session) builtinGather(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv starlark.Value
	if err := unpackArgs(b.Name(), args, kwargs, "d", &dv); err != nil {
		return nil, err
	}
	d, ok := dv.(*Scattered)
	if !ok {
		return nil, usageError("%s: give a scattered array (from scatter(a, parts) or pmap(..., keep=True)), got %s", b.Name(), dv.Type())
	}
	if err := d.check(s, b.Name()); err != nil {
		return nil, err
	}
	parts, err := s.client.Gather(threadContext(thread), d.hashes)
	if err != nil {
		return nil, dataError(b.Name(), err)
	}
	n, rest := d.rows()
	a, err := array.FromBytes(d.dtype, cluster.Joined(parts), append([]int{n}, rest...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return a, nil
}

// builtinFree is free(d): d's parts leave their nodes.
func (s *Session) builtinFree(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv starlark.Value
	if err := unpackArgs(b.Name(), args, kwargs, "d", &dv); err != nil {
		return nil, err
	}
	d, ok := dv.(*Scattered)
	if !ok {
		return nil, usageError("%s: give a scattered array (from scatter(a, parts) or pmap(..., keep=True)), got %s", b.Name(), dv.Type())
	}
	if d.s != s {
		return nil, usageError("%s: this scattered array belongs to another session", b.Name())
	}
	d.free()
	return starlark.None, nil
}

// collectScattered frees the scattered arrays that no global refers to any more: a variable
// deleted (del d) or assigned another value. It runs after every cell.
func (s *Session) collectScattered() {
	if len(s.scattered) == 0 {
		return
	}
	seen := map[*Scattered]bool{}
	visited := map[starlark.Value]bool{}
	var walk func(v starlark.Value, depth int)
	walk = func(v starlark.Value, depth int) {
		if depth > 64 {
			return
		}
		switch v := v.(type) {
		case *Scattered:
			seen[v] = true
		case starlark.Tuple:
			for _, x := range v {
				walk(x, depth+1)
			}
		case *starlark.List, *starlark.Dict, *starlark.Set:
			if visited[v] {
				return
			}
			visited[v] = true
			if d, ok := v.(*starlark.Dict); ok {
				for _, kv := range d.Items() {
					walk(kv[0], depth+1)
					walk(kv[1], depth+1)
				}
				return
			}
			iter := starlark.Iterate(v)
			defer iter.Done()
			var x starlark.Value
			for iter.Next(&x) {
				walk(x, depth+1)
			}
		}
	}
	s.mu.Lock()
	for _, v := range s.globals {
		walk(v, 0)
	}
	s.mu.Unlock()
	for d := range s.scattered {
		if !seen[d] {
			d.free()
		}
	}
}

// builtinDel is `del a, b` at a cell's top level, which Starlark lacks, as translate writes
// it: __rain_del(("a", a), ("b", b)) (so that a name not defined fails as in Python). The names
// are deleted from the globals when the cell ends, and a scattered array that no other global
// refers to is freed then.
func builtinDel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	names, _ := thread.Local(delKey).(*[]string)
	for _, a := range args {
		pair, ok := a.(starlark.Tuple)
		var name string
		if ok && len(pair) == 2 {
			name, ok = starlark.AsString(pair[0])
		}
		if !ok || names == nil {
			return nil, fmt.Errorf("del: bad argument %s", a)
		}
		*names = append(*names, name)
	}
	return starlark.None, nil
}

const delKey = "rain.del"
