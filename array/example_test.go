package array_test

import (
	"fmt"

	"github.com/rain-wasm/rain/array"
)

// A slice along the first dimension is a view: its bytes, ready for a Wasm call's memory,
// are the array's own.
func Example() {
	a, _ := array.Zeros(array.I32, 4, 3)
	rows := a.Rows(1, 3)
	rows.Bytes()[0] = 7 // element [1, 0], little-endian
	fmt.Println(a.Sub(1), rows.ShapeString(), rows.NBytes())
	flat, _ := a.Reshape(-1)
	fmt.Println(flat.Size(), flat.Int(3))
	// Output:
	// array([7, 0, 0], "i32") 2×3 24
	// 12 7
}

func ExampleFromBytes() {
	a, _ := array.FromBytes(array.U8, []byte("Rain"))
	b, err := array.FromBytes(array.F64, []byte("Rain"))
	fmt.Println(a)
	fmt.Println(b, err)
	// Output:
	// array([82, 97, 105, 110], "u8")
	// <nil> array: 4 bytes is not a whole number of f64 values (8 bytes each): check the dtype
}
