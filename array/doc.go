// Package array holds Rain's arrays: n-dimensional arrays of numbers that cells make, Wasm
// calls read and write, and the cluster ships to nodes.
//
// # Layout
//
// An Array's elements are of one DType — u8, i32, i64, f32 or f64, as Wasm and C know
// them — and are stored row-major as raw little-endian bytes (Bytes), so that they are
// copied into an instance's linear memory or onto the wire as they are, with no conversion.
// A shape has at least one dimension: 1-D for a vector, 2-D for a matrix or a grey image,
// H×W×3 for a colour image.
//
// # Views
//
// Every array is contiguous. Rows (a[i:j] in a cell), Sub (a[i] of an array of two or more
// dimensions) and Reshape are views: they share the bytes of the array they come from, so
// writing one writes the other, as in numpy. A slice along the first dimension is therefore
// cheap and still contiguous: it can be passed to a call as it is. A slice with a step
// (a[::2]) cannot be contiguous and is a copy; so are Copy, AsType and every constructor.
//
// # Values
//
// Constructors reject what the dtype cannot hold, with one line naming the value and the
// dtype: 300 for u8, 2.5 for an integer dtype, 1e39 for f32. They never wrap. AsType, like
// numpy's, truncates floats toward zero, and rejects what still does not fit (NaN, out of
// range). With no dtype given, an array of ints is i64, one with any float (or none at all)
// f64, bytes and strings u8.
//
// # In cells
//
// An Array is a starlark.Value: len, a[i] (a number for 1-D, a row for more), a[i, j],
// a[i:j], iteration, `x in a`, == and !=, a[i] = x; the attributes shape, dtype, ndim, size
// and nbytes; the methods sum, min, max, mean, reshape, tolist, astype, copy and tobytes.
// Builtins gives a cell array(values, dtype) and zeros(shape, dtype). An array is mutable
// and so unhashable; freezing it (as Starlark does to a loaded module's globals) freezes the
// arrays that share its bytes.
//
// # Images
//
// DecodeImage reads PNG and PGM files, EncodePNG and EncodePGM write them: a grey image is
// a 2-D u8 array, a colour one H×W×3 u8.
//
// Errors are *Error values that wrap one of the package's sentinels (ErrDType, ErrShape,
// ErrRagged, ErrValue, ErrIndex, ErrEmpty, ErrImage).
package array
