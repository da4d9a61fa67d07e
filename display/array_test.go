package display

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/array"
)

// ramp2D is an h×w array of dtype dt whose element (y, x) is f(y, x).
func ramp2D(t *testing.T, dt array.DType, h, w int, f func(y, x int) float64) *array.Array {
	t.Helper()
	a, err := array.Zeros(array.F64, h, w)
	if err != nil {
		t.Fatal(err)
	}
	b := a.Bytes()
	for y := range h {
		for x := range w {
			bits := math.Float64bits(f(y, x))
			for k := range 8 {
				b[8*(y*w+x)+k] = byte(bits >> (8 * k))
			}
		}
	}
	a, err = a.AsType(dt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestArrayPicture(t *testing.T) {
	diag := func(y, x int) float64 { return float64((x + y) % 256) }
	tests := []struct {
		name       string
		a          *array.Array
		pngW, pngH int // 0: no image/png
		lines      int // lines of the terminal form, title included
		title      string
	}{
		{"u8 300×200 as is", ramp2D(t, array.U8, 300, 200, diag), 200, 300, 1 + 32, "array u8 · 300×200 · min 0 · max 255"},
		{"f64 enlarged", ramp2D(t, array.F64, 50, 40, diag), 200, 250, 1 + 25, "array f64 · 50×40 · min 0 · max 88 · mean 44"},
		{"i32 shrunk", ramp2D(t, array.I32, 1000, 2000, diag), 1024, 512, 1 + 20, "array i32 · 1000×2000"},
		{"wide", ramp2D(t, array.F32, 100, 1000, diag), 1000, 100, 1 + 4, "array f32 · 100×1000"},
		{"one row", ramp2D(t, array.U8, 1, 300, diag), 300, 1, 1 + 1, "array u8 · 1×300"},
		{"small shows its values", ramp2D(t, array.I64, 3, 4, diag), 0, 0, 1 + 3, "array i64 · 3×4 · min 0 · max 5 · mean 2.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Array(tt.a)
			if !strings.HasPrefix(b.Text(), tt.title) {
				t.Errorf("text/plain %q, want it to begin %q", b.Text(), tt.title)
			}
			p := pngOf(t, b)
			if tt.pngW == 0 {
				if p != nil {
					t.Errorf("a %s array has an image/png", tt.a.ShapeString())
				}
			} else {
				img, err := png.Decode(bytes.NewReader(p))
				if err != nil {
					t.Fatal(err)
				}
				if r := img.Bounds(); r.Dx() != tt.pngW || r.Dy() != tt.pngH {
					t.Errorf("the PNG is %d×%d, want %d×%d", r.Dx(), r.Dy(), tt.pngW, tt.pngH)
				}
			}
			for _, color := range []bool{false, true} {
				text := ArrayTerminal(tt.a, color)
				if n := strings.Count(text, "\n") + 1; n != tt.lines {
					t.Errorf("color %v: the terminal form has %d lines, want %d:\n%s", color, n, tt.lines, text)
				}
				for _, line := range strings.Split(stripANSI(text), "\n")[1:] {
					if w := len([]rune(line)); w > previewCols {
						t.Errorf("color %v: a line of %d columns, more than %d", color, w, previewCols)
					}
				}
			}
		})
	}
}

// TestArrayColours: u8 is grey as it is, colour images are their colours, other numbers go
// through viridis from their smallest to their largest value.
func TestArrayColours(t *testing.T) {
	grey := ramp2D(t, array.U8, 256, 256, func(y, x int) float64 { return float64(x) })
	img, _ := ArrayImage(grey)
	if c := color.RGBAModel.Convert(img.At(200, 3)).(color.RGBA); c != (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("u8 200 is drawn %v, want grey 200", c)
	}
	nums := ramp2D(t, array.F64, 20, 20, func(y, x int) float64 { return float64(x) - 5 })
	img, _ = ArrayImage(nums)
	if lo, hi := img.At(0, 0), img.At(19, 0); lo != viridis(0) || hi != viridis(1) {
		t.Errorf("the smallest and largest are %v and %v, want viridis' ends", lo, hi)
	}
	rgb, _ := array.Zeros(array.U8, 300, 300, 3)
	rgb.Bytes()[0], rgb.Bytes()[1], rgb.Bytes()[2] = 10, 20, 30
	b := Array(rgb)
	pic, err := png.Decode(bytes.NewReader(pngOf(t, b)))
	if err != nil {
		t.Fatal(err)
	}
	if c := color.RGBAModel.Convert(pic.At(0, 0)).(color.RGBA); c != (color.RGBA{10, 20, 30, 255}) {
		t.Errorf("a colour pixel is drawn %v, want its own colour", c)
	}
	if !strings.HasPrefix(b.Text(), "array u8 · 300×300×3 (colour)") {
		t.Errorf("text/plain %q", b.Text())
	}
	if _, ok := ArrayImage(ramp2D(t, array.U8, 2, 2, func(int, int) float64 { return 0 }).Rows(0, 0)); ok {
		t.Errorf("an array with no rows is drawable")
	}
	var _ image.Image = img
}

func TestArrayVector(t *testing.T) {
	a := ramp2D(t, array.F64, 1, 1_000_000, func(_, x int) float64 { return math.Sin(float64(x) / 1e5) }).Rows(0, 1)
	v, _ := a.Reshape(-1)
	text := Array(v).Text()
	lines := strings.Split(text, "\n")
	if len(lines) != 3 || len(text) > 500 {
		t.Fatalf("a million values show as %d lines, %d bytes, want 3 short ones:\n%s", len(lines), len(text), text)
	}
	if !strings.HasPrefix(lines[0], "array f64 · 1000000 values · min -1 · max 1") {
		t.Errorf("title %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "0.0, 1e-05, 2e-05, 3e-05, …, ") {
		t.Errorf("values %q", lines[1])
	}
	if n := len([]rune(lines[2])); n != sparkWidth || !strings.ContainsRune(lines[2], '█') || !strings.ContainsRune(lines[2], '▁') {
		t.Errorf("sparkline %q: %d characters, want %d from ▁ to █", lines[2], n, sparkWidth)
	}
	if _, ok := Array(v)["image/png"]; ok {
		t.Errorf("a 1-D array has an image/png")
	}
	small, _ := array.FromBytes(array.U8, []byte{1, 2, 3})
	if got := Array(small).Text(); got != "array u8 · 3 values · min 1 · max 3 · mean 2\n1, 2, 3\n▁▅█" {
		t.Errorf("3 values show as %q", got)
	}
	empty, _ := array.Zeros(array.I32, 0)
	if got := Terminal(empty, false); got != "array i32 · 0 values" {
		t.Errorf("no values show as %q", got)
	}
}

func TestArrayNaN(t *testing.T) {
	a := ramp2D(t, array.F64, 30, 30, func(y, x int) float64 {
		if x == 0 {
			return math.NaN()
		}
		return float64(y)
	})
	if got := Array(a).Text(); got != "array f64 · 30×30 · min 0 · max 29 · mean 14.5 · 30 NaN or ±inf" {
		t.Errorf("text/plain %q", got)
	}
	img, _ := ArrayImage(a)
	if img.At(0, 5) != nanColor {
		t.Errorf("NaN is drawn %v, want %v", img.At(0, 5), nanColor)
	}
}

// pngOf is a bundle's image/png, decoded from base64; nil if it has none.
func pngOf(t *testing.T, b Bundle) []byte {
	t.Helper()
	s, ok := b[PNGType].(string)
	if !ok {
		return nil
	}
	p, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("image/png is not base64: %v", err)
	}
	return p
}

// stripANSI removes colour sequences.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
