package array

// Stack is one array of arrays of one dtype and shape, along a new first dimension, as
// numpy.stack makes it: n arrays of shape S give an array of shape n×S, a copy. The rows of a
// map's outputs stacked are its image.
func Stack(arrays []*Array) (*Array, error) {
	if len(arrays) == 0 {
		return nil, errorf(ErrEmpty, "nothing to stack: give at least one array")
	}
	first := arrays[0]
	for k, a := range arrays[1:] {
		switch {
		case a.dtype != first.dtype:
			return nil, errorf(ErrDType, "array %d is %s, array 0 is %s: stack arrays of one dtype (astype converts)", k+1, a.dtype, first.dtype)
		case a.ShapeString() != first.ShapeString():
			return nil, errorf(ErrShape, "array %d has shape %s, array 0 has %s: stack arrays of one shape", k+1, a.ShapeString(), first.ShapeString())
		}
	}
	shape := append([]int{len(arrays)}, first.shape...)
	n, err := checkShape(first.dtype, shape)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, n*first.dtype.Size())
	for _, a := range arrays {
		data = append(data, a.data...)
	}
	return newArray(first.dtype, shape, data), nil
}
