package array

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// An Array is a Starlark value: a sequence along its first dimension, indexed by ints or
// tuples of ints, sliceable (a view), assignable, comparable with == and !=, unhashable.
var (
	_ starlark.Value      = (*Array)(nil)
	_ starlark.Sliceable  = (*Array)(nil)
	_ starlark.Sequence   = (*Array)(nil)
	_ starlark.HasSetKey  = (*Array)(nil)
	_ starlark.Container  = (*Array)(nil)
	_ starlark.HasAttrs   = (*Array)(nil)
	_ starlark.Comparable = (*Array)(nil)
)

// reprMax is the most elements an array's repr lists; a larger array is summarised.
const reprMax = 20

// String is the array's repr: array([[1, 2], [3, 4]], "i32") when it has up to 20
// elements, which reads back as the same array; a summary otherwise:
// <array f64 1000: 0.0, 1.0, 2.0, …, 997.0, 998.0, 999.0> or <array u8 256×256>.
func (a *Array) String() string {
	if a.Size() <= reprMax && a.Len() > 0 {
		var b strings.Builder
		b.WriteString("array(")
		k := 0
		a.writeNested(&b, a.shape, &k)
		b.WriteString(", \"" + a.dtype.String() + "\")")
		return b.String()
	}
	if len(a.shape) == 1 && a.Size() > 0 {
		return "<array " + a.dtype.String() + " " + a.ShapeString() + ": " + strings.Join(a.ends(3), ", ") + ">"
	}
	return "<array " + a.dtype.String() + " " + a.ShapeString() + ">"
}

func (a *Array) writeNested(b *strings.Builder, shape []int, k *int) {
	b.WriteByte('[')
	for i := range shape[0] {
		if i > 0 {
			b.WriteString(", ")
		}
		if len(shape) > 1 {
			a.writeNested(b, shape[1:], k)
			continue
		}
		b.WriteString(a.Format(*k))
		*k++
	}
	b.WriteByte(']')
}

// Format is element i of the flat array as text: an int, or a float as Starlark writes it
// (1.0, 0.1, 1e+100, nan), at the dtype's precision.
func (a *Array) Format(i int) string {
	if a.dtype.IsFloat() {
		return formatFloat(a.Float(i), a.dtype)
	}
	return strconv.FormatInt(a.Int(i), 10)
}

func formatFloat(f float64, dt DType) string {
	bits := 64
	if dt == F32 {
		bits = 32
	}
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// ends is the first and last n elements of the flat array as text, with "…" between them
// when there are more than 2n; all of them when there are not.
func (a *Array) ends(n int) []string {
	size := a.Size()
	var out []string
	if size <= 2*n {
		for i := range size {
			out = append(out, a.Format(i))
		}
		return out
	}
	for i := range n {
		out = append(out, a.Format(i))
	}
	out = append(out, "…")
	for i := size - n; i < size; i++ {
		out = append(out, a.Format(i))
	}
	return out
}

// Type is "array".
func (a *Array) Type() string { return "array" }

// Freeze makes the array, and every array that shares its bytes, read-only.
func (a *Array) Freeze() { *a.frozen = true }

// Truth is whether the array has elements.
func (a *Array) Truth() starlark.Bool { return a.Size() > 0 }

// Hash fails: an array is mutable.
func (a *Array) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: array") }

// Index is element i of a 1-D array (a number), or row i of a larger one (a view).
func (a *Array) Index(i int) starlark.Value {
	if len(a.shape) == 1 {
		return a.scalar(i)
	}
	return a.Sub(i)
}

// Slice is rows start to end of the first dimension: a view with step 1, a copy otherwise.
func (a *Array) Slice(start, end, step int) starlark.Value {
	if step == 1 {
		return a.Rows(start, end)
	}
	var rows []int
	for i := start; (step > 0 && i < end) || (step < 0 && i > end); i += step {
		rows = append(rows, i)
	}
	shape := slices.Clone(a.shape)
	shape[0] = len(rows)
	b, _ := Zeros(a.dtype, shape...) // no larger than a
	row := a.rowSize() * a.dtype.Size()
	for k, i := range rows {
		copy(b.data[k*row:], a.data[i*row:(i+1)*row])
	}
	return b
}

// Iterate goes over the first dimension: numbers for a 1-D array, rows (views) otherwise.
func (a *Array) Iterate() starlark.Iterator { return &iterator{a: a} }

type iterator struct {
	a *Array
	i int
}

func (it *iterator) Next(p *starlark.Value) bool {
	if it.i >= it.a.Len() {
		return false
	}
	*p = it.a.Index(it.i)
	it.i++
	return true
}

func (it *iterator) Done() {}

// Get is a[k]: k an int (negative counts from the end), or a tuple of ints, one per
// dimension from the first: a[i, j] is a[i][j].
func (a *Array) Get(k starlark.Value) (starlark.Value, bool, error) {
	v, flat, err := a.locate(k)
	if err != nil {
		return nil, false, err
	}
	if v != nil {
		return v, true, nil
	}
	return a.scalar(flat), true, nil
}

// locate finds a[k]: a view (v) when k leaves dimensions, else the flat index of an element.
func (a *Array) locate(k starlark.Value) (v *Array, flat int, err error) {
	idx, ok := k.(starlark.Tuple)
	if !ok {
		idx = starlark.Tuple{k}
	}
	if len(idx) == 0 || len(idx) > len(a.shape) {
		return nil, 0, errorf(ErrIndex, "%d indices for an array of %d dimensions (%s)", len(idx), len(a.shape), a.ShapeString())
	}
	off := 0
	for d, x := range idx {
		i, err := starlark.AsInt32(x)
		if err != nil {
			return nil, 0, errorf(ErrIndex, "an array's index is an int or a tuple of ints, not %s", withArticle(x.Type()))
		}
		n := a.shape[d]
		j := i
		if j < 0 {
			j += n
		}
		if j < 0 || j >= n {
			return nil, 0, errorf(ErrIndex, "index %d is out of range for dimension %d of length %d (shape %s): use %d to %d", i, d, n, a.ShapeString(), -n, n-1)
		}
		off = off*n + j
	}
	rest := a.shape[len(idx):]
	if len(rest) == 0 {
		return nil, off, nil
	}
	n := 1
	for _, d := range rest {
		n *= d
	}
	es := a.dtype.Size()
	data := a.data[off*n*es : (off+1)*n*es : (off+1)*n*es]
	return &Array{dtype: a.dtype, shape: slices.Clone(rest), data: data, frozen: a.frozen}, 0, nil
}

// SetKey is a[k] = v: a number into an element, or an array or (nested) list of the right
// shape into a row.
func (a *Array) SetKey(k, v starlark.Value) error {
	if *a.frozen {
		return errorf(ErrValue, "cannot assign to a frozen array")
	}
	view, flat, err := a.locate(k)
	if err != nil {
		return err
	}
	if view == nil {
		return a.setScalar(flat, v, "")
	}
	src, err := FromValue(v, view.dtype)
	if err != nil {
		return err
	}
	if !slices.Equal(src.shape, view.shape) {
		return errorf(ErrShape, "cannot assign %s values to a row of %s", src.ShapeString(), view.ShapeString())
	}
	copy(view.data, src.data)
	return nil
}

// Has is `x in a`: a number equal to an element of a 1-D array, or an array equal to a row.
func (a *Array) Has(x starlark.Value) (bool, error) {
	if len(a.shape) > 1 {
		b, ok := x.(*Array)
		if !ok {
			return false, nil
		}
		for i := range a.Len() {
			if a.Sub(i).Equal(b) {
				return true, nil
			}
		}
		return false, nil
	}
	switch x := x.(type) {
	case starlark.Int:
		if v, ok := x.Int64(); ok && !a.dtype.IsFloat() {
			for i := range a.Size() {
				if a.Int(i) == v {
					return true, nil
				}
			}
			return false, nil
		}
	case starlark.Float, starlark.Bool:
	default:
		return false, nil
	}
	f, _ := starlark.AsFloat(x)
	for i := range a.Size() {
		if e := a.Float(i); e == f || (math.IsNaN(e) && math.IsNaN(f)) {
			return true, nil
		}
	}
	return false, nil
}

// CompareSameType is == and != (Equal); arrays have no order.
func (a *Array) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	b := y.(*Array)
	switch op {
	case syntax.EQL:
		return a.Equal(b), nil
	case syntax.NEQ:
		return !a.Equal(b), nil
	}
	return false, errorf(ErrValue, "arrays compare only with == and !=, not %s", op)
}

// method is an array method, called with the array it is bound to.
type method func(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

var methods = map[string]method{
	"astype":  arrayAsType,
	"copy":    arrayCopy,
	"max":     arrayMax,
	"mean":    arrayMean,
	"min":     arrayMin,
	"reshape": arrayReshape,
	"sum":     arraySum,
	"tobytes": arrayToBytes,
	"tolist":  arrayToList,
}

// Attr is an attribute: dtype, shape, ndim, size, nbytes, or a method.
func (a *Array) Attr(name string) (starlark.Value, error) {
	switch name {
	case "dtype":
		return starlark.String(a.dtype.String()), nil
	case "shape":
		t := make(starlark.Tuple, len(a.shape))
		for i, d := range a.shape {
			t[i] = starlark.MakeInt(d)
		}
		return t, nil
	case "ndim":
		return starlark.MakeInt(len(a.shape)), nil
	case "size":
		return starlark.MakeInt(a.Size()), nil
	case "nbytes":
		return starlark.MakeInt(a.NBytes()), nil
	}
	if m, ok := methods[name]; ok {
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return m(a, b, args, kwargs)
		}).BindReceiver(a), nil
	}
	return nil, nil
}

// AttrNames lists the attributes, sorted.
func (a *Array) AttrNames() []string {
	names := []string{"dtype", "nbytes", "ndim", "shape", "size"}
	for name := range methods {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func arraySum(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	if a.dtype.IsFloat() {
		s := 0.0
		for i := range a.Size() {
			s += a.Float(i)
		}
		return starlark.Float(s), nil
	}
	var s int64
	var wide *big.Int // once the sum leaves int64
	for i := range a.Size() {
		v := a.Int(i)
		if wide != nil {
			wide.Add(wide, big.NewInt(v))
			continue
		}
		t := s + v
		if (v > 0 && t < s) || (v < 0 && t > s) {
			wide = new(big.Int).Add(big.NewInt(s), big.NewInt(v))
			continue
		}
		s = t
	}
	if wide != nil {
		return starlark.MakeBigInt(wide), nil
	}
	return starlark.MakeInt64(s), nil
}

// extreme is the index of the smallest (less) or largest element; a NaN wins, as in numpy.
func (a *Array) extreme(name string, less bool) (int, error) {
	if a.Size() == 0 {
		return 0, errorf(ErrEmpty, "%s of an empty array: it has no values", name)
	}
	best := 0
	for i := 1; i < a.Size(); i++ {
		if a.dtype.IsFloat() {
			x, y := a.Float(i), a.Float(best)
			if math.IsNaN(y) {
				break
			}
			if math.IsNaN(x) || (less && x < y) || (!less && x > y) {
				best = i
			}
			continue
		}
		x, y := a.Int(i), a.Int(best)
		if (less && x < y) || (!less && x > y) {
			best = i
		}
	}
	return best, nil
}

func arrayMin(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	i, err := a.extreme("min", true)
	if err != nil {
		return nil, err
	}
	return a.scalar(i), nil
}

func arrayMax(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	i, err := a.extreme("max", false)
	if err != nil {
		return nil, err
	}
	return a.scalar(i), nil
}

func arrayMean(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	if a.Size() == 0 {
		return nil, errorf(ErrEmpty, "mean of an empty array: it has no values")
	}
	s := 0.0
	for i := range a.Size() {
		s += a.Float(i)
	}
	return starlark.Float(s / float64(a.Size())), nil
}

func arrayReshape(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", b.Name(), kwargs[0][0])
	}
	var shape []int
	var err error
	switch {
	case len(args) == 1:
		shape, err = ShapeOf(args[0])
	case len(args) > 1:
		shape, err = ShapeOf(args)
	default:
		err = errorf(ErrShape, "reshape wants a shape: ints, or a tuple of them")
	}
	if err != nil {
		return nil, err
	}
	v, err := a.Reshape(shape...)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func arrayToList(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	k := 0
	var build func(shape []int) *starlark.List
	build = func(shape []int) *starlark.List {
		elems := make([]starlark.Value, shape[0])
		for i := range elems {
			if len(shape) > 1 {
				elems[i] = build(shape[1:])
				continue
			}
			elems[i] = a.scalar(k)
			k++
		}
		return starlark.NewList(elems)
	}
	return build(a.shape), nil
}

func arrayAsType(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, argsError(err)
	}
	dt, err := ParseDType(name)
	if err != nil {
		return nil, err
	}
	v, err := a.AsType(dt)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func arrayCopy(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	return a.Copy(), nil
}

func arrayToBytes(a *Array, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, argsError(err)
	}
	return starlark.Bytes(a.data), nil
}
