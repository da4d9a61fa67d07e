package array

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxBytes is the most bytes an array may hold: Wasm's 32-bit memory, which an array must
// fit in to cross a call. A larger shape is an ErrShape, not an out-of-memory crash.
const MaxBytes = min(1<<32, math.MaxInt)

// Array is an n-dimensional array of numbers: elements of one DType, stored row-major as raw
// little-endian bytes, so that they can be copied into a Wasm instance's memory or onto the
// wire as they are. An array made by Slice, Sub or Reshape is a view: it shares its bytes
// with the array it came from.
type Array struct {
	dtype  DType
	shape  []int  // at least one dimension; never changed once made
	data   []byte // len(data) == size × dtype.Size()
	frozen *bool  // shared by an array and its views
}

// Zeros is an array of the shape, every element 0.
func Zeros(dt DType, shape ...int) (*Array, error) {
	n, err := checkShape(dt, shape)
	if err != nil {
		return nil, err
	}
	return newArray(dt, shape, make([]byte, n*dt.Size())), nil
}

// FromBytes is an array over data (not a copy): raw little-endian elements of dtype dt. With
// no shape it is 1-D; otherwise the shape's elements must fill data exactly.
func FromBytes(dt DType, data []byte, shape ...int) (*Array, error) {
	if !dt.valid() {
		return nil, errorf(ErrDType, "unknown dtype %s: use one of u8, i32, i64, f32, f64", dt)
	}
	if len(data)%dt.Size() != 0 {
		return nil, errorf(ErrShape, "%d bytes is not a whole number of %s values (%d bytes each): check the dtype", len(data), dt, dt.Size())
	}
	n := len(data) / dt.Size()
	if len(shape) == 0 {
		shape = []int{n}
	}
	size, err := checkShape(dt, shape)
	if err != nil {
		return nil, err
	}
	if size != n {
		return nil, errorf(ErrShape, "%d %s values do not fill the shape %s (%d values)", n, dt, shapeString(shape), size)
	}
	return newArray(dt, slices.Clone(shape), data), nil
}

func newArray(dt DType, shape []int, data []byte) *Array {
	return &Array{dtype: dt, shape: shape, data: data, frozen: new(bool)}
}

// checkShape checks a shape for dtype dt and returns its number of elements.
func checkShape(dt DType, shape []int) (int, error) {
	if !dt.valid() {
		return 0, errorf(ErrDType, "unknown dtype %s: use one of u8, i32, i64, f32, f64", dt)
	}
	if len(shape) == 0 {
		return 0, errorf(ErrShape, "a shape needs at least one dimension: give an int or a tuple of ints")
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, errorf(ErrShape, "shape %s has a negative dimension", shapeString(shape))
		}
		if d > 0 && n > MaxBytes/d {
			n = MaxBytes + 1
			continue
		}
		n *= d
	}
	if n > MaxBytes/dt.Size() {
		return 0, errorf(ErrShape, "shape %s of %s is more than %d GiB, the most an array holds", shapeString(shape), dt, MaxBytes>>30)
	}
	return n, nil
}

// DType is the type of the elements.
func (a *Array) DType() DType { return a.dtype }

// Shape is the size of each dimension (a copy).
func (a *Array) Shape() []int { return slices.Clone(a.shape) }

// NDim is the number of dimensions.
func (a *Array) NDim() int { return len(a.shape) }

// Len is the size of the first dimension.
func (a *Array) Len() int { return a.shape[0] }

// Size is the number of elements.
func (a *Array) Size() int { return len(a.data) / a.dtype.Size() }

// NBytes is the number of bytes the elements take.
func (a *Array) NBytes() int { return len(a.data) }

// Bytes is the elements as raw little-endian bytes, row-major. It is the array's own memory,
// not a copy: what is written there is in the array (and in the arrays it shares it with).
func (a *Array) Bytes() []byte { return a.data }

// Frozen reports whether the array (or the array it views) was frozen by Starlark and must
// not be written.
func (a *Array) Frozen() bool { return *a.frozen }

// Float is element i of the flat (row-major) array as a float64.
func (a *Array) Float(i int) float64 {
	switch a.dtype {
	case U8:
		return float64(a.data[i])
	case I32:
		return float64(int32(binary.LittleEndian.Uint32(a.data[4*i:])))
	case I64:
		return float64(int64(binary.LittleEndian.Uint64(a.data[8*i:])))
	case F32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(a.data[4*i:])))
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(a.data[8*i:]))
}

// Int is element i of the flat array as an int64: exact for the integer dtypes, truncated
// toward zero for floats (0 for NaN; saturated for what int64 cannot hold).
func (a *Array) Int(i int) int64 {
	switch a.dtype {
	case U8:
		return int64(a.data[i])
	case I32:
		return int64(int32(binary.LittleEndian.Uint32(a.data[4*i:])))
	case I64:
		return int64(binary.LittleEndian.Uint64(a.data[8*i:]))
	}
	f := a.Float(i)
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// putInt stores v, which the dtype can hold, as element i.
func (a *Array) putInt(i int, v int64) {
	switch a.dtype {
	case U8:
		a.data[i] = byte(v)
	case I32:
		binary.LittleEndian.PutUint32(a.data[4*i:], uint32(int32(v)))
	case I64:
		binary.LittleEndian.PutUint64(a.data[8*i:], uint64(v))
	default:
		a.putFloat(i, float64(v))
	}
}

// putFloat stores v as element i of a float array.
func (a *Array) putFloat(i int, v float64) {
	if a.dtype == F32 {
		binary.LittleEndian.PutUint32(a.data[4*i:], math.Float32bits(float32(v)))
		return
	}
	binary.LittleEndian.PutUint64(a.data[8*i:], math.Float64bits(v))
}

// rowSize is the number of elements in one index of the first dimension.
func (a *Array) rowSize() int {
	n := 1
	for _, d := range a.shape[1:] {
		n *= d
	}
	return n
}

// Rows is rows i to j (excluded) of the first dimension, 0 ≤ i ≤ j ≤ Len(): a view that
// shares the array's bytes, and is contiguous as every array is.
func (a *Array) Rows(i, j int) *Array {
	step := a.rowSize() * a.dtype.Size()
	shape := slices.Clone(a.shape)
	shape[0] = j - i
	return &Array{dtype: a.dtype, shape: shape, data: a.data[i*step : j*step : j*step], frozen: a.frozen}
}

// Sub is index i of the first dimension of an array of 2 or more dimensions: a view of one
// fewer dimension (a row of a 2-D array).
func (a *Array) Sub(i int) *Array {
	v := a.Rows(i, i+1)
	v.shape = v.shape[1:]
	return v
}

// Reshape is a view of the same elements in another shape. One dimension may be -1: the
// size the others leave.
func (a *Array) Reshape(shape ...int) (*Array, error) {
	shape = slices.Clone(shape)
	free := -1
	known := 1
	for k, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = k
		case d < 0:
			return nil, errorf(ErrShape, "cannot reshape to %s: only one dimension may be -1, and none less", shapeString(shape))
		default:
			known *= d
		}
	}
	n := a.Size()
	if free >= 0 {
		if known == 0 || n%known != 0 {
			return nil, errorf(ErrShape, "cannot reshape %d values (%s) to %s: no size for -1 fits", n, shapeString(a.shape), shapeString(shape))
		}
		shape[free] = n / known
	}
	size, err := checkShape(a.dtype, shape)
	if err != nil {
		return nil, err
	}
	if size != n {
		return nil, errorf(ErrShape, "cannot reshape %d values (%s) to %s (%d values): the sizes must multiply to %d", n, shapeString(a.shape), shapeString(shape), size, n)
	}
	return &Array{dtype: a.dtype, shape: shape, data: a.data, frozen: a.frozen}, nil
}

// Copy is a copy of the array with bytes of its own.
func (a *Array) Copy() *Array {
	return newArray(a.dtype, slices.Clone(a.shape), slices.Clone(a.data))
}

// AsType is a copy of the array with elements of dtype dt. A float becomes an integer by
// truncation toward zero; a value the new dtype cannot hold (NaN or out of range) is an
// ErrValue that names it.
func (a *Array) AsType(dt DType) (*Array, error) {
	if a.dtype == dt {
		return a.Copy(), nil
	}
	b, err := Zeros(dt, a.shape...)
	if err != nil {
		return nil, err
	}
	n := a.Size()
	switch {
	case dt.IsFloat():
		for i := 0; i < n; i++ {
			b.putFloat(i, a.Float(i))
		}
	case a.dtype.IsFloat():
		lo, hi := dt.intRange()
		for i := 0; i < n; i++ {
			f := math.Trunc(a.Float(i))
			if !(f >= float64(lo) && f <= float64(hi)) || (dt == I64 && f >= 1<<63) {
				return nil, errorf(ErrValue, "%s at index %d does not fit in %s (%s)", formatFloat(a.Float(i), a.dtype), i, dt, rangeString(dt))
			}
			b.putInt(i, int64(f))
		}
	default:
		lo, hi := dt.intRange()
		for i := 0; i < n; i++ {
			v := a.Int(i)
			if v < lo || v > hi {
				return nil, errorf(ErrValue, "%d at index %d does not fit in %s (%s)", v, i, dt, rangeString(dt))
			}
			b.putInt(i, v)
		}
	}
	return b, nil
}

// Equal reports whether b has the same dtype, shape and elements. Floats compare as
// Starlark's do: 0.0 equals -0.0, and NaN equals NaN.
func (a *Array) Equal(b *Array) bool {
	if a.dtype != b.dtype || !slices.Equal(a.shape, b.shape) {
		return false
	}
	if !a.dtype.IsFloat() {
		return bytes.Equal(a.data, b.data)
	}
	for i := range a.Size() {
		if x, y := a.Float(i), b.Float(i); x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}

// Stats are an array's smallest and largest finite elements, their mean, and how many of
// the elements are not finite (NaN or ±Inf). With no finite element, Min and Max are 0.
type Stats struct {
	Min, Max, Mean float64
	NonFinite      int
}

// Stats summarises the elements, skipping the ones that are not finite.
func (a *Array) Stats() Stats {
	var s Stats
	n, sum := 0, 0.0
	for i := range a.Size() {
		f := a.Float(i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			s.NonFinite++
			continue
		}
		if n == 0 || f < s.Min {
			s.Min = f
		}
		if n == 0 || f > s.Max {
			s.Max = f
		}
		sum += f
		n++
	}
	if n > 0 {
		s.Mean = sum / float64(n)
	}
	return s
}

// shapeString is a shape as the display writes it: "256×256", "1000".
func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "×")
}

// ShapeString is the array's shape as "256×256" (1-D: "1000").
func (a *Array) ShapeString() string { return shapeString(a.shape) }

// rangeString is the range of an integer dtype, as an error names it.
func rangeString(dt DType) string {
	if dt.IsFloat() {
		return "a float"
	}
	lo, hi := dt.intRange()
	return strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10)
}
