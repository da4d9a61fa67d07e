package array

import (
	"errors"
	"fmt"
)

// ErrDType is a dtype that is not one of u8, i32, i64, f32, f64, or one an operation cannot
// take.
var ErrDType = errors.New("array: unknown dtype")

// ErrShape is a shape that does not fit: a reshape to another number of elements, a negative
// dimension, data that is not a whole number of elements, an array too large to hold.
var ErrShape = errors.New("array: shape mismatch")

// ErrRagged is a nested list whose rows differ in length.
var ErrRagged = errors.New("array: ragged nested lists")

// ErrValue is a value an array's dtype cannot hold: out of its range, a float for an integer
// dtype, or not a number at all.
var ErrValue = errors.New("array: value does not fit the dtype")

// ErrIndex is an index outside an array's shape.
var ErrIndex = errors.New("array: index out of range")

// ErrEmpty is a reduction (min, max, mean) of an array with no elements.
var ErrEmpty = errors.New("array: empty array")

// ErrImage is an image file that is neither PNG nor PGM, or an array that is not an image
// (2-D u8 grey or H×W×3 u8 colour).
var ErrImage = errors.New("array: not an image")

// ErrArgs is a call of a builtin or method with the wrong arguments: their number, names or
// types.
var ErrArgs = errors.New("array: wrong arguments")

// Error is one of the sentinels above with a message that says what was wrong and what to do.
type Error struct {
	Err error  // the sentinel
	Msg string // the whole message, without the package prefix
}

func (e *Error) Error() string { return "array: " + e.Msg }

// Unwrap is the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func errorf(sentinel error, format string, args ...any) error {
	return &Error{Err: sentinel, Msg: fmt.Sprintf(format, args...)}
}

// argsError is Starlark's own message for wrong arguments, as an ErrArgs.
func argsError(err error) error { return &Error{Err: ErrArgs, Msg: err.Error()} }
