package session

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// dataMap is what pmap takes beside f for a map over a scattered array.
type dataMap struct {
	extra          starlark.Tuple // args=: the arguments after (part, n)
	out            starlark.Value // out=: an array, "like", or None
	keep           bool
	chunk, retries int
	nodes          starlark.Value
	wait           bool
}

// pmapData is pmap(f, d, args=(), out=None, keep=False) over a scattered array d: f(part, n,
// *args) for each part of d — a pointer to the part and its number of elements, as C takes an
// array — on the node that holds the part, so that no byte of the part travels. out= gives each
// call an output array as its last argument: a copy of an array, or with out="like" one of the
// part's shape and dtype. The results are those of pmap; with keep=True, the outputs stay on
// the nodes instead, and the result is a new scattered array of them, part i from part i.
func (s *Session) pmapData(thread *starlark.Thread, name string, f *Function, d *Scattered, o dataMap) (starlark.Value, error) {
	if err := d.check(s, name); err != nil {
		return nil, err
	}
	if f.module.s != s {
		return nil, usageError("%s: %s belongs to a module of another session: %%load it in this one", name, f.Name())
	}
	if o.nodes != nil && o.nodes != starlark.None {
		return nil, usageError("%s: nodes= does not apply to a scattered array: each part's task runs on the node that holds the part", name)
	}
	var out *array.Array
	like := false
	switch v := o.out.(type) {
	case nil, starlark.NoneType:
	case *array.Array:
		out = v
	case starlark.String:
		if v != "like" {
			return nil, usageError("%s: out=%s: give an array, such as zeros(16, \"i32\"), or \"like\" for an output shaped as each part", name, v)
		}
		like = true
	default:
		return nil, usageError("%s: out must be an array, or \"like\" for an output shaped as each part, got %s", name, v.Type())
	}
	nOut := 0
	if out != nil || like {
		nOut = 1
	}
	switch {
	case o.keep && nOut == 0:
		return nil, usageError("%s: keep=True keeps the out= arrays on the nodes: give out= (an array, or \"like\" for one shaped as each part)", name)
	case o.keep && !o.wait:
		return nil, usageError("%s: keep=True waits for the map: use pmap, not pmap_async or wait=False", name)
	}
	params := f.sig.Params
	want := 2 + len(o.extra) + nOut
	if len(params) != want {
		var call strings.Builder
		call.WriteString(f.Name() + "(part, n")
		for k := range o.extra {
			fmt.Fprintf(&call, ", args[%d]", k)
		}
		if nOut > 0 {
			call.WriteString(", out")
		}
		call.WriteString(")")
		return nil, usageError("%s: over a scattered array pmap calls %s, %d argument%s, but %s%s takes %d: give the others with args=(...)",
			name, call.String(), want, plural(want), f.Name(), signature(f.sig), len(params))
	}
	if err := f.takesArray(0); err != nil {
		return nil, fmt.Errorf("%s: the part: %w", name, err)
	}
	if params[1] != api.ValueTypeI32 && params[1] != api.ValueTypeI64 {
		return nil, usageError("%s: %s%s: argument 2 is the part's number of elements, an int, but it is an %s", name, f.Name(), signature(f.sig), api.ValueTypeName(params[1]))
	}
	if nOut > 0 {
		if err := f.takesArray(want - 1); err != nil {
			return nil, fmt.Errorf("%s: out=: %w", name, err)
		}
	}
	more := ""
	if nOut > 0 {
		more = "out="
	}
	ca, err := f.encodeFirst(append(starlark.Tuple{starlark.MakeInt(0), starlark.MakeInt(0)}, o.extra...), want-nOut, more)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(ca.bufs) > 0 {
		return nil, usageError("%s: args= takes numbers: an array goes to the nodes as a scattered array or as out=", name)
	}
	spec := cluster.MapSpec{Export: f.export(), Chunk: o.chunk, Retries: o.retries}
	for i, hash := range d.hashes {
		raw := slices.Clone(ca.raw)
		n, _ := encodeValue(params[1], starlark.MakeInt(elements(d.shapes[i])))
		raw[1] = n
		spec.Args = append(spec.Args, raw)
		spec.Data = append(spec.Data, cluster.DataArg{Arg: 0, Hash: hash})
	}
	var arrays *mapArrays
	if nOut > 0 {
		arrays = &mapArrays{out: out, outArg: want - 1}
		spec.Out = &wasm.Buffer{}
		if like {
			arrays.out, _ = array.Zeros(d.dtype, 0)
			arrays.outLike = d.shapes
			spec.OutLike = true
		} else {
			spec.Out.Data = bytes.Clone(out.Bytes())
		}
		spec.Out.Align = arrays.out.DType().Size()
		spec.Keep = o.keep
	}
	if !o.wait {
		return startMap(f, spec, arrays), nil
	}
	bar := newProgressBar(threadOutput(thread))
	res, err := s.client.Map(threadContext(thread), spec, bar.update)
	if err != nil {
		bar.stopped()
		if res != nil {
			freeKept(s.client, res)
		}
		return nil, dataError(name, err)
	}
	summed := bar.finish(res)
	if !o.keep {
		m := newMapResult(f, res, arrays)
		m.data = d.nbytes()
		if summed {
			m.summedIn = thread
		}
		return m, nil
	}
	hashes := make([]string, len(res.Tasks))
	for i, t := range res.Tasks {
		if t.Err != nil {
			freeKept(s.client, res)
			return nil, fmt.Errorf("%s: part %d: %w (no output was kept)", name, i, t.Err)
		}
		hashes[i] = t.Kept.Hash
	}
	shapes := d.shapes
	if !like {
		shapes = make([][]int, len(hashes))
		for i := range shapes {
			shapes[i] = out.Shape()
		}
	}
	return s.newScattered(arrays.out.DType(), shapes, hashes), nil
}

// freeKept lets go of the outputs a map kept on the nodes.
func freeKept(c *cluster.Client, res *cluster.MapResult) {
	for _, t := range res.Tasks {
		if t.Kept != nil {
			c.Free(t.Kept.Hash)
		}
	}
}

// elements is the number of elements of an array of the shape.
func elements(shape []int) int {
	n := 1
	for _, x := range shape {
		n *= x
	}
	return n
}

// dataNote says what a map over a scattered array of data bytes moved.
func dataNote(r *cluster.MapResult, data int) string {
	return fmt.Sprintf("over %s kept on the nodes: the map sent %s to them and received %s back; no byte of the parts travelled",
		units.Bytes(uint64(data)), units.Bytes(uint64(r.Sent)), units.Bytes(uint64(r.Received)))
}
