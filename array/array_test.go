package array

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarktest"
	"go.starlark.net/syntax"
)

// eval evaluates a Starlark expression with array and zeros predeclared.
func eval(t *testing.T, expr string) (starlark.Value, error) {
	t.Helper()
	thread := &starlark.Thread{Name: t.Name()}
	return starlark.EvalOptions(&syntax.FileOptions{Set: true}, thread, "<expr>", expr, Builtins())
}

func TestMake(t *testing.T) {
	tests := []struct {
		expr, repr, dtype string
		shape             []int
	}{
		{`array([1, 2, 3])`, `array([1, 2, 3], "i64")`, "i64", []int{3}},
		{`array([1, 2.5])`, `array([1.0, 2.5], "f64")`, "f64", []int{2}},
		{`array([])`, `<array f64 0>`, "f64", []int{0}},
		{`array([True, False], "u8")`, `array([1, 0], "u8")`, "u8", []int{2}},
		{`array([[1, 2], [3, 4]], "i32")`, `array([[1, 2], [3, 4]], "i32")`, "i32", []int{2, 2}},
		{`array(((1, 2), (3, 4)), "f32")`, `array([[1.0, 2.0], [3.0, 4.0]], "f32")`, "f32", []int{2, 2}},
		{`array(range(5), "u8")`, `array([0, 1, 2, 3, 4], "u8")`, "u8", []int{5}},
		{`array(b"AB")`, `array([65, 66], "u8")`, "u8", []int{2}},
		{`array("é")`, `array([195, 169], "u8")`, "u8", []int{2}},
		{`array("hi", "i32")`, `array([104, 105], "i32")`, "i32", []int{2}},
		{`array(array([1.9, -1.9]), "i32")`, `array([1, -1], "i32")`, "i32", []int{2}},
		{`array([array([1, 2]), array([3, 4])])`, `array([[1, 2], [3, 4]], "i64")`, "i64", []int{2, 2}},
		{`array([2.0, 255.0], "u8")`, `array([2, 255], "u8")`, "u8", []int{2}},
		{`array([0.1], "f32")`, `array([0.1], "f32")`, "f32", []int{1}},
		{`array([float("nan"), float("inf")])`, `array([nan, +inf], "f64")`, "f64", []int{2}},
		{`array([-2147483648, 2147483647], "i32")`, `array([-2147483648, 2147483647], "i32")`, "i32", []int{2}},
		{`array([-9223372036854775808], "i64")`, `array([-9223372036854775808], "i64")`, "i64", []int{1}},
		{`array(set([7]))`, `array([7], "i64")`, "i64", []int{1}},
		{`zeros(3)`, `array([0.0, 0.0, 0.0], "f64")`, "f64", []int{3}},
		{`zeros((2, 3), "u8")`, `array([[0, 0, 0], [0, 0, 0]], "u8")`, "u8", []int{2, 3}},
		{`zeros([2, 0], "i32")`, `array([[], []], "i32")`, "i32", []int{2, 0}},
		{`zeros((4, 4, 3), "u8")`, `<array u8 4×4×3>`, "u8", []int{4, 4, 3}},
		{`array(range(100))`, `<array i64 100: 0, 1, 2, …, 97, 98, 99>`, "i64", []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := eval(t, tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			a := v.(*Array)
			if a.String() != tt.repr || a.DType().String() != tt.dtype || !equalInts(a.Shape(), tt.shape) {
				t.Errorf("got %s %s %v, want %s %s %v", a, a.DType(), a.Shape(), tt.repr, tt.dtype, tt.shape)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBadInput: each mistake is one line that names what was wrong, wrapping its sentinel.
func TestBadInput(t *testing.T) {
	tests := []struct {
		expr     string
		sentinel error
		want     string
	}{
		{`array([1], "f16")`, ErrDType, `unknown dtype "f16": use one of u8, i32, i64, f32, f64`},
		{`zeros(3, "int")`, ErrDType, `unknown dtype "int"`},
		{`zeros(3, 8)`, ErrDType, `a dtype is a name (u8, i32, i64, f32 or f64), not an int`},
		{`array([[1, 2], [3]])`, ErrRagged, `row [1] has 1 values, row [0] has 2: every row needs the same length`},
		{`array([[1, 2], 3])`, ErrRagged, `element [1] is an int where a row of 2 values was expected`},
		{`array([1, [2]])`, ErrRagged, `element [1] is a list where a number was expected`},
		{`array([[[1], [2]], [[3], [4, 5]]])`, ErrRagged, `row [1][1] has 2 values, row [0][0] has 1`},
		{`array([1, 300], "u8")`, ErrValue, `300 at [1] does not fit in u8 (0 to 255)`},
		{`array([-1], "u8")`, ErrValue, `-1 at [0] does not fit in u8 (0 to 255)`},
		{`array([2147483648], "i32")`, ErrValue, `2147483648 at [0] does not fit in i32 (-2147483648 to 2147483647)`},
		{`array([2.5], "i64")`, ErrValue, `2.5 at [0] is not an integer: i64 holds integers`},
		{`array([1e39], "f32")`, ErrValue, `1e+39 at [0] does not fit in f32`},
		{`array(["a"])`, ErrValue, `"a" at [0] is a string, not a number`},
		{`array(3)`, ErrShape, `not a single int: [3] is an array of one`},
		{`array(None)`, ErrValue, `cannot make an array of a NoneType`},
		{`array(array([300]), "u8")`, ErrValue, `300 at index 0 does not fit in u8 (0 to 255)`},
		{`array(array([float("nan")]), "i32")`, ErrValue, `nan at index 0 does not fit in i32`},
		{`zeros(-1)`, ErrShape, `shape -1 has a negative dimension`},
		{`zeros(())`, ErrShape, `a shape needs at least one dimension`},
		{`zeros("3")`, ErrShape, `a shape is an int or a tuple of ints, not a string`},
		{`zeros((1 << 20, 1 << 20))`, ErrShape, `more than 4 GiB`},
		{`zeros(6).reshape(4)`, ErrShape, `cannot reshape 6 values (6) to 4 (4 values): the sizes must multiply to 6`},
		{`zeros(6).reshape(4, -1)`, ErrShape, `cannot reshape 6 values (6) to 4×-1: no size for -1 fits`},
		{`zeros(6).reshape(-1, -1)`, ErrShape, `only one dimension may be -1`},
		{`zeros(3)[5]`, ErrIndex, `index 5 is out of range for dimension 0 of length 3 (shape 3): use -3 to 2`},
		{`zeros((2, 3))[1, 3]`, ErrIndex, `index 3 is out of range for dimension 1 of length 3 (shape 2×3): use -3 to 2`},
		{`zeros(3)[1, 1]`, ErrIndex, `2 indices for an array of 1 dimensions`},
		{`zeros(3)["a"]`, ErrIndex, `an array's index is an int or a tuple of ints, not a string`},
		{`zeros(0).min()`, ErrEmpty, `min of an empty array`},
		{`zeros(0).mean()`, ErrEmpty, `mean of an empty array`},
		{`zeros(2) < zeros(2)`, ErrValue, `arrays compare only with == and !=`},
		{`zeros(2).astype("u16")`, ErrDType, `unknown dtype "u16"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := eval(t, tt.expr)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.(*starlark.EvalError).Msg
			if !errors.Is(err, tt.sentinel) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "array: ") {
				t.Errorf("got %q (is %v: %v), want one line with %q", msg, tt.sentinel, errors.Is(err, tt.sentinel), tt.want)
			}
		})
	}
}

// TestScript runs the behaviour tests in testdata/*.star.
func TestScript(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.star")
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	assert, err := starlarktest.LoadAssertModule()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			thread := &starlark.Thread{Name: file, Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
				if module == "assert.star" {
					return assert, nil
				}
				return nil, errors.New("no module " + module)
			}}
			starlarktest.SetReporter(thread, t)
			opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
			if _, err := starlark.ExecFileOptions(opts, thread, file, nil, Builtins()); err != nil {
				if e, ok := err.(*starlark.EvalError); ok {
					t.Fatal(e.Backtrace())
				}
				t.Fatal(err)
			}
		})
	}
}

func TestViews(t *testing.T) {
	a, _ := Zeros(I32, 4, 3)
	rows := a.Rows(1, 3)
	rows.putInt(0, 7) // a[1][0]
	if a.Int(3) != 7 {
		t.Errorf("a slice does not share its array's bytes")
	}
	flat, err := a.Reshape(-1)
	if err != nil || flat.Len() != 12 {
		t.Fatalf("reshape(-1): %v %v", flat, err)
	}
	flat.putInt(11, 9)
	if a.Sub(3).Int(2) != 9 {
		t.Errorf("a reshape does not share its array's bytes")
	}
	step := a.Slice(0, 4, 2).(*Array)
	step.putInt(0, 5)
	if a.Int(0) != 0 || !equalInts(step.Shape(), []int{2, 3}) || step.Int(3) != 0 || a.Copy().Equal(a) != true {
		t.Errorf("a slice with a step is not a copy of rows 0 and 2: %v", step)
	}
	if len(rows.Bytes()) != 2*3*4 || cap(rows.Bytes()) != len(rows.Bytes()) {
		t.Errorf("a slice's bytes are %d (cap %d), want 24 that cannot grow into the next row", len(rows.Bytes()), cap(rows.Bytes()))
	}
	a.Freeze()
	if !rows.Frozen() {
		t.Errorf("freezing an array does not freeze its views")
	}
}

func TestFromBytes(t *testing.T) {
	a, err := FromBytes(F64, make([]byte, 16), 2, 1)
	if err != nil || a.ShapeString() != "2×1" {
		t.Fatalf("FromBytes: %v %v", a, err)
	}
	_, err = FromBytes(F64, make([]byte, 10))
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "10 bytes is not a whole number of f64 values (8 bytes each)") {
		t.Errorf("10 bytes as f64: %v", err)
	}
	_, err = FromBytes(I32, make([]byte, 16), 3)
	if !errors.Is(err, ErrShape) {
		t.Errorf("4 values as shape 3: %v", err)
	}
}

func TestImageRoundTrip(t *testing.T) {
	grey, _ := Zeros(U8, 5, 7)
	rgb, _ := Zeros(U8, 4, 6, 3)
	for _, a := range []*Array{grey, rgb} {
		for i := range a.data {
			a.data[i] = byte(i * 37)
		}
	}
	for _, tt := range []struct {
		name   string
		a      *Array
		encode func(*Array, *bytes.Buffer) error
	}{
		{"grey.png", grey, func(a *Array, b *bytes.Buffer) error { return a.EncodePNG(b) }},
		{"rgb.png", rgb, func(a *Array, b *bytes.Buffer) error { return a.EncodePNG(b) }},
		{"grey.pgm", grey, func(a *Array, b *bytes.Buffer) error { return a.EncodePGM(b) }},
		{"row.png", grey.Rows(1, 3), func(a *Array, b *bytes.Buffer) error { return a.EncodePNG(b) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.encode(tt.a, &b); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeImage(b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.a) {
				t.Errorf("read back %s, wrote %s", got, tt.a)
			}
		})
	}
}

func TestDecodePGM(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"text, comments, maxval 15", "P2\n# a comment\n3 1 # width height\n15\n0 15 5\n", `array([[0, 255, 85]], "u8")`},
		{"binary 16-bit", "P5 2 1 65535\n\xff\xff\x80\x00", `array([[255, 128]], "u8")`},
		{"binary", "P5\n2 2\n255\n\x01\x02\x03\x04", `array([[1, 2], [3, 4]], "u8")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := DecodeImage([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if a.String() != tt.want {
				t.Errorf("got %s, want %s", a, tt.want)
			}
		})
	}
}

func TestBadImage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "a JPEG file, not a PNG or PGM image (the formats read): convert it to PNG first"},
		{"empty", nil, "an empty file, not a PNG or PGM image"},
		{"text", []byte("hello"), "array: not a PNG or PGM image (the formats read)"},
		{"truncated pgm", []byte("P5 4 4 255\n\x00\x01"), "the PGM ends after 2 of its 4×4 pixels: it is truncated"},
		{"bad header", []byte("P5 4 x 255\n"), "a broken PGM header"},
		{"broken png", append([]byte("\x89PNG\r\n\x1a\n"), "junk"...), "a broken PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeImage(tt.data)
			if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	f64, _ := Zeros(F64, 2, 2)
	if err := f64.EncodePNG(&bytes.Buffer{}); !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), `not f64 2×2: use astype("u8")`) {
		t.Errorf("an f64 array as PNG: %v", err)
	}
	rgb, _ := Zeros(U8, 2, 2, 3)
	if err := rgb.EncodePGM(&bytes.Buffer{}); !errors.Is(err, ErrImage) {
		t.Errorf("a colour array as PGM: %v", err)
	}
}
