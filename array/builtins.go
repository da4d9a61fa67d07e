package array

import "go.starlark.net/starlark"

// Builtins are the cell functions that make arrays of values: array(values, dtype=None)
// and zeros(shape, dtype="f64"). (Functions that read and write files belong to whoever
// knows the cell's directory.)
func Builtins() starlark.StringDict {
	return starlark.StringDict{
		"array": starlark.NewBuiltin("array", builtinArray),
		"zeros": starlark.NewBuiltin("zeros", builtinZeros),
	}
}

// DTypeOf reads a dtype given in a cell: a name, or None for def.
func DTypeOf(v starlark.Value, def DType) (DType, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return def, nil
	case starlark.String:
		return ParseDType(string(v))
	}
	return 0, errorf(ErrDType, "a dtype is a name (u8, i32, i64, f32 or f64), not %s", withArticle(v.Type()))
}

func builtinArray(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var values, dtype starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "values", &values, "dtype?", &dtype); err != nil {
		return nil, argsError(err)
	}
	dt, err := DTypeOf(dtype, 0)
	if err != nil {
		return nil, err
	}
	a, err := FromValue(values, dt)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func builtinZeros(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var shapeV, dtype starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "shape", &shapeV, "dtype?", &dtype); err != nil {
		return nil, argsError(err)
	}
	dt, err := DTypeOf(dtype, F64)
	if err != nil {
		return nil, err
	}
	shape, err := ShapeOf(shapeV)
	if err != nil {
		return nil, err
	}
	a, err := Zeros(dt, shape...)
	if err != nil {
		return nil, err
	}
	return a, nil
}
