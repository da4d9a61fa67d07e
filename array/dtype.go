package array

import (
	"fmt"
	"math"
)

// DType is the type of an array's elements. The zero DType is no type: constructors given it
// choose one from the values (see FromValue).
type DType uint8

// The element types, as Wasm and C know them. Each is stored little-endian.
const (
	U8  DType = iota + 1 // unsigned 8-bit integer (bytes, grey pixels)
	I32                  // signed 32-bit integer
	I64                  // signed 64-bit integer
	F32                  // 32-bit IEEE 754 float
	F64                  // 64-bit IEEE 754 float
)

// DTypes lists the element types, smallest first.
func DTypes() []DType { return []DType{U8, I32, I64, F32, F64} }

// ParseDType reads a dtype's name: "u8", "i32", "i64", "f32" or "f64".
func ParseDType(name string) (DType, error) {
	for _, d := range DTypes() {
		if d.String() == name {
			return d, nil
		}
	}
	return 0, errorf(ErrDType, "unknown dtype %q: use one of u8, i32, i64, f32, f64", name)
}

// String is the dtype's name, as ParseDType reads it.
func (d DType) String() string {
	switch d {
	case U8:
		return "u8"
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size is the bytes of one element.
func (d DType) Size() int {
	switch d {
	case U8:
		return 1
	case I32, F32:
		return 4
	case I64, F64:
		return 8
	}
	return 0
}

// IsFloat reports whether the dtype holds floats.
func (d DType) IsFloat() bool { return d == F32 || d == F64 }

// valid reports whether d is one of the five dtypes.
func (d DType) valid() bool { return d >= U8 && d <= F64 }

// intRange is the smallest and largest value of an integer dtype.
func (d DType) intRange() (lo, hi int64) {
	switch d {
	case U8:
		return 0, math.MaxUint8
	case I32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}
