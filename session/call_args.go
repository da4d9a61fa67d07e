package session

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/wasm"
)

// Arrays cross a call as C takes them: where a parameter is an i32 and the cell passes an
// array, the array's bytes go to the node as a wasm.Buffer, the instance copies them into its
// memory through the module's allocator and passes the pointer, and what the function left
// there is written back into the array. So
//
//	void scale(const double *xs, int n, double k, double *out)
//
// is called m.scale(xs, len(xs), 2.0, out), and out holds xs·2 after it. The function's
// signature says only that a parameter is a pointer, not what it points to: a cell passes the
// array of the dtype the function reads.

// callArgs are a call's arguments as the cluster takes them: the raw values, and the arrays
// passed by pointer, each with the array it came from, into which what the call left in it is
// written back.
type callArgs struct {
	raw    []uint64
	bufs   []wasm.Buffer
	arrays []*array.Array // arrays[k] is the array of bufs[k]
}

// encode converts Starlark arguments to a call of f.
func (f *Function) encode(args starlark.Tuple) (callArgs, error) {
	return f.encodeFirst(args, len(f.sig.Params), "")
}

// encodeFirst converts the arguments for f's first n parameters; more, if not "", says what
// gives the others (a map's out=).
func (f *Function) encodeFirst(args starlark.Tuple, n int, more string) (callArgs, error) {
	if len(args) != n {
		if more != "" {
			return callArgs{}, usageError("%s%s takes %d argument%s before %s, got %d", f.Name(), signature(f.sig), n, plural(n), more, len(args))
		}
		return callArgs{}, usageError("%s%s takes %d argument%s, got %d", f.Name(), signature(f.sig), n, plural(n), len(args))
	}
	ca := callArgs{raw: make([]uint64, len(args))}
	for i, a := range args {
		if arr, ok := a.(*array.Array); ok {
			if err := f.takesArray(i); err != nil {
				return callArgs{}, err
			}
			ca.bufs = append(ca.bufs, wasm.Buffer{Arg: i, Data: arr.Bytes(), Align: arr.DType().Size()})
			ca.arrays = append(ca.arrays, arr)
			continue
		}
		v, err := encodeValue(f.sig.Params[i], a)
		if err != nil {
			return callArgs{}, usageError("%s%s: argument %d: %s", f.Name(), signature(f.sig), i+1, err)
		}
		ca.raw[i] = v
	}
	return ca, nil
}

// takesArray says why parameter i of f cannot take an array, if it cannot: it is no pointer
// (an i32), or the module has no allocator to copy the array in with.
func (f *Function) takesArray(i int) error {
	if t := f.sig.Params[i]; t != api.ValueTypeI32 {
		return usageError("%s%s: argument %d is an %s, not a pointer (i32): pass a number there, not an array",
			f.Name(), signature(f.sig), i+1, api.ValueTypeName(t))
	}
	if _, err := f.module.info.Allocator(); err != nil {
		how := strings.TrimPrefix(err.Error(), wasm.ErrNoAllocator.Error())
		return &noAllocatorError{fmt.Sprintf("%s: argument %d is an array, but module %s exports no allocator to copy it in with%s",
			f.Name(), i+1, f.module.name, how)}
	}
	return nil
}

// noAllocatorError is an array passed to a module without an allocator: wasm.ErrNoAllocator,
// said in the cell's words.
type noAllocatorError struct{ msg string }

func (e *noAllocatorError) Error() string { return e.msg }
func (e *noAllocatorError) Unwrap() error { return wasm.ErrNoAllocator }

// writeBack writes into the call's arrays what the call left in them (the buffers of res).
func (ca *callArgs) writeBack(f *Function, res *cluster.Result) error {
	for _, b := range res.Buffers {
		for k := range ca.bufs {
			if ca.bufs[k].Arg == b.Arg {
				if err := writeArray(f, b.Arg, ca.arrays[k], b.Data); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeArray writes into a what f left in its array argument arg.
func writeArray(f *Function, arg int, a *array.Array, data []byte) error {
	switch {
	case len(data) != a.NBytes():
		return failure(kindCluster, "%s: argument %d: %d bytes came back for an array of %d: a node of another build?", f.Name(), arg+1, len(data), a.NBytes())
	case a.Frozen():
		return usageError("%s wrote into argument %d, a frozen array: pass a copy (a.copy()) to see what it wrote", f.Name(), arg+1)
	}
	copy(a.Bytes(), data)
	return nil
}

// mapArrays are the arrays of a map: each task's input arrays, into which what the task left
// is written back when the map is done, and the out= template, which each task gets a copy of
// as its last argument and whose filled copies are the map's results.
type mapArrays struct {
	bufs   [][]wasm.Buffer  // each task's input arrays, as sent; nil for none
	arrays [][]*array.Array // arrays[i][k] is the array of bufs[i][k]
	out    *array.Array
	outArg int // the parameter out= goes to: the last
	// outLike, if not nil, is the shape of each task's output (of out's dtype): a map over a
	// scattered array with out="like".
	outLike [][]int
}

// taskValue is task i's result t as a Starlark value: None if it failed; with out=, its output
// array.
func (ma *mapArrays) taskValue(f *Function, i int, t *cluster.Result) starlark.Value {
	if t.Err != nil || t.Values == nil {
		return starlark.None
	}
	if ma == nil || ma.out == nil {
		return decodeResults(f.sig.Results, t.Values)
	}
	data, ok := t.Buffer(ma.outArg)
	if !ok {
		return starlark.None
	}
	shape := ma.out.Shape()
	if ma.outLike != nil {
		shape = ma.outLike[i]
	}
	a, err := array.FromBytes(ma.out.DType(), data, shape...)
	if err != nil {
		return starlark.None // bytes of another size: a node of another build
	}
	return a
}

// writeBack writes into the map's input arrays what its tasks left in them. A frozen array is
// left as it was.
func (ma *mapArrays) writeBack(f *Function, tasks []cluster.Result) {
	if ma == nil {
		return
	}
	for i := range ma.bufs {
		if i < len(tasks) && tasks[i].Err == nil && len(ma.bufs[i]) > 0 {
			ca := callArgs{bufs: ma.bufs[i], arrays: ma.arrays[i]}
			ca.writeBack(f, &tasks[i]) // an error: a frozen array, or a node of another build
		}
	}
}
