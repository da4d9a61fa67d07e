package array

import (
	"math"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// FromValue makes an array of a Starlark value: a list or tuple of numbers (nested for more
// dimensions: each row the same length), a range, bytes or a string (its UTF-8 bytes, one
// element each), or another array (copied, and converted as AsType does). Ints, floats and
// bools are the numbers: a value dtype dt cannot hold is an ErrValue naming it and the dtype.
//
// With dt 0 the dtype comes from the values: u8 for bytes and strings, an array's own, f64
// if any value is a float (and for an empty list), i64 otherwise.
func FromValue(v starlark.Value, dt DType) (*Array, error) {
	if dt != 0 && !dt.valid() {
		return nil, errorf(ErrDType, "unknown dtype %s: use one of u8, i32, i64, f32, f64", dt)
	}
	switch v := v.(type) {
	case *Array:
		if dt == 0 {
			dt = v.dtype
		}
		return v.AsType(dt)
	case starlark.Bytes:
		return fromBytes([]byte(v), dt)
	case starlark.String:
		return fromBytes([]byte(v), dt)
	case starlark.Int, starlark.Float, starlark.Bool:
		return nil, errorf(ErrShape, "array wants a list of values, not a single %s: [%s] is an array of one", v.Type(), v)
	}
	rows, ok := rowsOf(v)
	if !ok {
		it, ok := v.(starlark.Iterable)
		if !ok {
			return nil, errorf(ErrValue, "cannot make an array of a %s: give a list, tuple, range, bytes, string or array", v.Type())
		}
		var t starlark.Tuple
		iter := it.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			t = append(t, x)
		}
		rows = t
	}
	var shape []int
	for x := starlark.Value(rows); ; {
		r, ok := rowsOf(x)
		if !ok {
			break
		}
		shape = append(shape, r.Len())
		if r.Len() == 0 {
			break
		}
		x = r.Index(0)
	}
	if dt == 0 {
		dt = inferDType(rows, len(shape))
	}
	a, err := Zeros(dt, shape...)
	if err != nil {
		return nil, err
	}
	k := 0
	if err := a.fill(rows, shape, nil, &k); err != nil {
		return nil, err
	}
	return a, nil
}

func fromBytes(b []byte, dt DType) (*Array, error) {
	a, err := FromBytes(U8, append([]byte(nil), b...))
	if err != nil || dt == 0 || dt == U8 {
		return a, err
	}
	return a.AsType(dt)
}

// rowsOf is x as a row of values, if it is a sequence other than a string or bytes.
func rowsOf(x starlark.Value) (starlark.Indexable, bool) {
	switch x := x.(type) {
	case starlark.String, starlark.Bytes:
		return nil, false
	case starlark.Indexable:
		return x, true
	}
	return nil, false
}

// inferDType is f64 if any leaf is a float (or there is none), else i64; rows that are
// arrays count by their dtype.
func inferDType(rows starlark.Indexable, depth int) DType {
	leaves := 0
	var walk func(x starlark.Value, d int) bool
	walk = func(x starlark.Value, d int) bool {
		if a, ok := x.(*Array); ok {
			leaves += a.Size()
			return a.dtype.IsFloat()
		}
		r, ok := rowsOf(x)
		if !ok || d == 0 {
			leaves++
			_, isFloat := x.(starlark.Float)
			return isFloat
		}
		for i := range r.Len() {
			if walk(r.Index(i), d-1) {
				return true
			}
		}
		return false
	}
	if walk(rows, depth) || leaves == 0 {
		return F64
	}
	return I64
}

// fill writes the values of x, a row of shape, from flat index *k on; path is where x is in
// the outermost list, for errors.
func (a *Array) fill(x starlark.Value, shape []int, path []int, k *int) error {
	if len(shape) == 0 {
		if _, ok := rowsOf(x); ok {
			return errorf(ErrRagged, "element %s is %s where a number was expected: every row needs the same length and depth", pathString(path), withArticle(x.Type()))
		}
		if err := a.setScalar(*k, x, " at "+pathString(path)); err != nil {
			return err
		}
		*k++
		return nil
	}
	r, ok := rowsOf(x)
	if !ok {
		return errorf(ErrRagged, "element %s is %s where a row of %d values was expected: every row needs the same length", pathString(path), withArticle(x.Type()), shape[0])
	}
	if r.Len() != shape[0] {
		return errorf(ErrRagged, "row %s has %d values, row %s has %d: every row needs the same length", pathString(path), r.Len(), pathString(firstPath(len(path))), shape[0])
	}
	if b, ok := x.(*Array); ok && len(b.shape) == len(shape) && b.dtype == a.dtype {
		*k += copy(a.data[*k*a.dtype.Size():], b.data) / a.dtype.Size()
		return nil
	}
	for i := range shape[0] {
		if err := a.fill(r.Index(i), shape[1:], append(path, i), k); err != nil {
			return err
		}
	}
	return nil
}

func pathString(path []int) string {
	if len(path) == 0 {
		return "[]"
	}
	var b strings.Builder
	for _, i := range path {
		b.WriteString("[" + strconv.Itoa(i) + "]")
	}
	return b.String()
}

func firstPath(n int) []int { return make([]int, n) }

// setScalar stores a Starlark number as element i, if the dtype can hold it; where says
// where the number was, for errors (" at [2]").
func (a *Array) setScalar(i int, x starlark.Value, where string) error {
	dt := a.dtype
	switch x := x.(type) {
	case starlark.Bool:
		if x {
			a.putInt(i, 1)
		} else {
			a.putInt(i, 0)
		}
		return nil
	case starlark.Int:
		if dt.IsFloat() {
			f, _ := starlark.AsFloat(x)
			return a.setFloat(i, f, x.String()+where)
		}
		v, ok := x.Int64()
		lo, hi := dt.intRange()
		if !ok || v < lo || v > hi {
			return errorf(ErrValue, "%s%s does not fit in %s (%s)", x, where, dt, rangeString(dt))
		}
		a.putInt(i, v)
		return nil
	case starlark.Float:
		f := float64(x)
		if dt.IsFloat() {
			return a.setFloat(i, f, x.String()+where)
		}
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return errorf(ErrValue, "%s%s is not an integer: %s holds integers (round it, or use f32 or f64)", x, where, dt)
		}
		lo, hi := dt.intRange()
		if f < float64(lo) || f > float64(hi) || (dt == I64 && f >= 1<<63) {
			return errorf(ErrValue, "%s%s does not fit in %s (%s)", x, where, dt, rangeString(dt))
		}
		a.putInt(i, int64(f))
		return nil
	}
	return errorf(ErrValue, "%s%s is %s, not a number: an array holds numbers", x.String(), where, withArticle(x.Type()))
}

// withArticle is a type's name after "a" or "an".
func withArticle(t string) string {
	if t != "" && strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

func (a *Array) setFloat(i int, f float64, text string) error {
	if a.dtype == F32 && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
		return errorf(ErrValue, "%s does not fit in f32 (at most ±%g)", text, math.MaxFloat32)
	}
	a.putFloat(i, f)
	return nil
}

// scalar is element i as a Starlark number: an int for integer dtypes, a float for floats.
func (a *Array) scalar(i int) starlark.Value {
	if a.dtype.IsFloat() {
		return starlark.Float(a.Float(i))
	}
	return starlark.MakeInt64(a.Int(i))
}

// ShapeOf reads a shape given in a cell: an int, or a tuple or list of ints.
func ShapeOf(v starlark.Value) ([]int, error) {
	if _, ok := v.(starlark.Int); ok {
		n, err := starlark.AsInt32(v)
		if err != nil {
			return nil, errorf(ErrShape, "shape %s is too large", v)
		}
		return []int{n}, nil
	}
	r, ok := v.(starlark.Indexable)
	if !ok || isText(v) {
		return nil, errorf(ErrShape, "a shape is an int or a tuple of ints, not a %s", v.Type())
	}
	shape := make([]int, r.Len())
	for i := range shape {
		x := r.Index(i)
		n, err := starlark.AsInt32(x)
		if _, isInt := x.(starlark.Int); isInt && err != nil {
			return nil, errorf(ErrShape, "dimension %d of the shape, %s, is too large", i, x)
		}
		if err != nil {
			return nil, errorf(ErrShape, "a shape is an int or a tuple of ints: dimension %d is %s", i, withArticle(x.Type()))
		}
		shape[i] = n
	}
	return shape, nil
}

func isText(v starlark.Value) bool {
	switch v.(type) {
	case starlark.String, starlark.Bytes:
		return true
	}
	return false
}
