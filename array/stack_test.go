package array

import (
	"errors"
	"strings"
	"testing"
)

func TestStack(t *testing.T) {
	row := func(vs ...byte) *Array {
		a, err := FromBytes(U8, vs)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a, err := Stack([]*Array{row(1, 2, 3), row(4, 5, 6)})
	if err != nil || a.ShapeString() != "2×3" || string(a.Bytes()) != "\x01\x02\x03\x04\x05\x06" {
		t.Fatalf("Stack of two rows: %v, %v", a, err)
	}
	grid, _ := Zeros(F64, 2, 2)
	if a, err := Stack([]*Array{grid, grid, grid}); err != nil || a.ShapeString() != "3×2×2" || a.NBytes() != 96 {
		t.Errorf("Stack of three 2×2: %v, %v", a, err)
	}
	f64, _ := Zeros(F64, 3)
	for _, tt := range []struct {
		arrays []*Array
		is     error
		want   string
	}{
		{nil, ErrEmpty, "nothing to stack"},
		{[]*Array{row(1, 2, 3), f64}, ErrDType, "array 1 is f64, array 0 is u8"},
		{[]*Array{row(1, 2, 3), row(1, 2)}, ErrShape, "array 1 has shape 2, array 0 has 3"},
	} {
		if _, err := Stack(tt.arrays); !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Stack: %v, want %v saying %q", err, tt.is, tt.want)
		}
	}
}
