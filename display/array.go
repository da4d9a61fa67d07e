package display

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"

	"github.com/muesli/termenv"

	"github.com/rain-wasm/rain/array"
)

// PNGType is the MIME type of a PNG; its data in a bundle is base64, as Jupyter sends it.
const PNGType = "image/png"

// How an array is drawn.
const (
	pngMax      = 1024 // a PNG's longer side is at most this many pixels (block means)…
	pngMin      = 256  // …and a small array is enlarged, by a whole factor, towards this
	previewCols = 80   // a terminal preview is at most this many columns…
	previewRows = 64   // …and this many pixel rows (half as many lines)
	sparkWidth  = 60   // a 1-D array's sparkline is at most this many characters
	gridMax     = 10   // a 2-D array of at most gridMax × gridMax shows its values, not a picture
)

// Array is an array's MIME bundle. text/plain is always short: a line of dtype, shape and
// statistics, then for a 1-D array its first and last values and a sparkline, for a small
// 2-D array (up to 10×10) its values. A picture — a 2-D array larger than that, or an H×W×3
// u8 colour image — is image/png too: u8 as grey levels, other numbers through a colour
// map from their smallest to their largest value (see ArrayImage).
func Array(a *array.Array) Bundle {
	b := Plain(arrayText(a, false))
	if p := ArrayPNG(a); p != nil {
		b[PNGType] = base64.StdEncoding.EncodeToString(p)
	}
	return b
}

// ArrayTerminal is an array as a terminal shows it: the text of Array, with a picture drawn
// as a preview of at most 80 columns by 32 lines of half blocks (▀, in 256 colours) — or,
// without colour, of characters from light to dense.
func ArrayTerminal(a *array.Array, color bool) string {
	text := arrayText(a, color)
	if !isPicture(a) {
		return text
	}
	return text + "\n" + preview(a, color)
}

// ArrayPNG is the PNG that Array shows, or nil for an array that is not a picture. Its longer
// side is at most 1024 pixels (each the mean of a block of elements); a small array is
// enlarged by a whole factor to about 256.
func ArrayPNG(a *array.Array) []byte {
	if !isPicture(a) {
		return nil
	}
	p := newPicture(a)
	h, w := p.h, p.w
	switch long := max(h, w); {
	case long > pngMax:
		h, w = max(1, h*pngMax/long), max(1, w*pngMax/long)
	case long < pngMin:
		k := pngMin / long
		h, w = h*k, w*k
	}
	var b bytes.Buffer
	if err := png.Encode(&b, p.resample(h, w)); err != nil {
		return nil // an RGBA image of this size always encodes
	}
	return b.Bytes()
}

// ArrayImage is a 2-D array, or an H×W×3 u8 one, as an image of its own size: a u8 array's
// levels as grey (or as colour, H×W×3), any other through the colour map (viridis, from its
// smallest finite value to its largest; NaN grey). ok is false for other shapes.
func ArrayImage(a *array.Array) (img image.Image, ok bool) {
	if !drawable(a) {
		return nil, false
	}
	p := newPicture(a)
	return p.resample(p.h, p.w), true
}

// ImageFileName is a name for an array's PNG file that changes with its content:
// "array-1a2b3c4d.png".
func ImageFileName(png []byte) string {
	h := sha256.Sum256(png)
	return "array-" + hex.EncodeToString(h[:4]) + ".png"
}

// drawable: a 2-D array, or H×W×3 u8, with pixels.
func drawable(a *array.Array) bool {
	s := a.Shape()
	switch {
	case len(s) == 2:
		return s[0] > 0 && s[1] > 0
	case len(s) == 3 && a.IsImage():
		return s[0] > 0 && s[1] > 0
	}
	return false
}

// isPicture: drawable, and not a small 2-D array, which shows its values instead.
func isPicture(a *array.Array) bool {
	s := a.Shape()
	return drawable(a) && !(len(s) == 2 && s[0] <= gridMax && s[1] <= gridMax)
}

// arrayText is the text of an array: its title line and what follows it.
func arrayText(a *array.Array, color bool) string {
	title := arrayTitle(a)
	if color {
		title = Renderer(true).NewStyle().Bold(true).Render(title)
	}
	s := a.Shape()
	switch {
	case a.Size() == 0:
		return title
	case len(s) == 1:
		return title + "\n" + strings.Join(ends(a, 4), ", ") + "\n" + arraySparkline(a)
	case len(s) == 2 && !isPicture(a):
		return title + "\n" + grid(a)
	case !drawable(a):
		return title + "\n" + strings.Join(ends(a, 4), ", ")
	}
	return title
}

// arrayTitle: "array u8 · 256×256 · min 0 · max 255 · mean 127.5".
func arrayTitle(a *array.Array) string {
	s := a.Shape()
	parts := []string{"array " + a.DType().String()}
	if len(s) == 1 {
		word := "values"
		if s[0] == 1 {
			word = "value"
		}
		parts = append(parts, fmt.Sprintf("%d %s", s[0], word))
	} else {
		shape := a.ShapeString()
		if len(s) == 3 && a.IsImage() {
			shape += " (colour)"
		}
		parts = append(parts, shape)
	}
	if a.Size() == 0 {
		return strings.Join(parts, " · ")
	}
	st := a.Stats()
	if st.NonFinite < a.Size() {
		num := func(f float64) string {
			if a.DType().IsFloat() {
				return strconv.FormatFloat(f, 'g', 4, 64)
			}
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
		parts = append(parts, "min "+num(st.Min), "max "+num(st.Max), "mean "+strconv.FormatFloat(st.Mean, 'g', 4, 64))
	}
	if st.NonFinite > 0 {
		parts = append(parts, fmt.Sprintf("%d NaN or ±inf", st.NonFinite))
	}
	return strings.Join(parts, " · ")
}

// grid is a small 2-D array's values in aligned columns, as a nested list.
func grid(a *array.Array) string {
	s := a.Shape()
	width := 0
	for i := range a.Size() {
		width = max(width, len(short(a, i)))
	}
	var b strings.Builder
	for r := range s[0] {
		if r == 0 {
			b.WriteString("[[")
		} else {
			b.WriteString(",\n [")
		}
		for c := range s[1] {
			if c > 0 {
				b.WriteString(", ")
			}
			v := short(a, r*s[1]+c)
			b.WriteString(strings.Repeat(" ", width-len(v)) + v)
		}
		b.WriteString("]")
	}
	return b.String() + "]"
}

// ends is the first and last n elements of the flat array, with "…" between them when
// there are more than 2n.
func ends(a *array.Array, n int) []string {
	size := a.Size()
	if size <= 2*n {
		out := make([]string, size)
		for i := range out {
			out[i] = short(a, i)
		}
		return out
	}
	var out []string
	for i := range n {
		out = append(out, short(a, i))
	}
	out = append(out, "…")
	for i := size - n; i < size; i++ {
		out = append(out, short(a, i))
	}
	return out
}

// short is element i as the display writes it: an int, or a float to 6 significant digits
// that still reads as a float ("1.0").
func short(a *array.Array, i int) string {
	if !a.DType().IsFloat() {
		return strconv.FormatInt(a.Int(i), 10)
	}
	f := a.Float(i)
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 0):
		return a.Format(i)
	}
	s := strconv.FormatFloat(f, 'g', 6, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// arraySparkline draws a 1-D array's values, at most sparkWidth of them (each the mean of
// a run), from its smallest (▁) to its largest (█); NaN as a space.
func arraySparkline(a *array.Array) string {
	n := a.Size()
	k := min(n, sparkWidth)
	means := make([]float64, k)
	lo, hi := math.Inf(1), math.Inf(-1)
	for j := range k {
		sum, c := 0.0, 0
		for i := j * n / k; i < (j+1)*n/k; i++ {
			if f := a.Float(i); !math.IsNaN(f) && !math.IsInf(f, 0) {
				sum += f
				c++
			}
		}
		means[j] = math.NaN()
		if c > 0 {
			means[j] = sum / float64(c)
			lo, hi = min(lo, means[j]), max(hi, means[j])
		}
	}
	levels := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, m := range means {
		switch {
		case math.IsNaN(m):
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(levels[3])
		default:
			b.WriteRune(levels[int((m-lo)/(hi-lo)*7+0.5)])
		}
	}
	return b.String()
}

// preview draws a picture in half blocks: each character is two pixels, the upper one its
// foreground and the lower its background; without colour, one character of a ramp from
// light to dense for the mean of the two.
func preview(a *array.Array, color bool) string {
	p := newPicture(a)
	scale := max(float64(p.w)/previewCols, float64(p.h)/previewRows, 1)
	w, h := max(1, int(float64(p.w)/scale+0.5)), max(1, int(float64(p.h)/scale+0.5))
	img := p.resample(h, w)
	var b strings.Builder
	for y := 0; y < h; y += 2 {
		if y > 0 {
			b.WriteByte('\n')
		}
		last := ""
		for x := range w {
			top := img.RGBAAt(x, y)
			if !color {
				l := luminance(top)
				if y+1 < h {
					l = (l + luminance(img.RGBAAt(x, y+1))) / 2
				}
				b.WriteByte(ramp[min(int(l*float64(len(ramp))), len(ramp)-1)])
				continue
			}
			seq := "\x1b[" + termenv.ANSI256.FromColor(top).Sequence(false) + ";"
			if y+1 < h {
				seq += termenv.ANSI256.FromColor(img.RGBAAt(x, y+1)).Sequence(true) + "m"
			} else {
				seq += "49m" // the terminal's own background under the last row
			}
			if seq != last {
				b.WriteString(seq)
				last = seq
			}
			b.WriteString("▀")
		}
		if color {
			b.WriteString("\x1b[0m")
		}
	}
	return b.String()
}

// ramp is characters from light to dense, for a picture without colour.
const ramp = " .:-=+*#%@"

func luminance(c color.RGBA) float64 {
	return (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 255
}

// arrayPicture is a drawable array, ready to be coloured at any size.
type arrayPicture struct {
	a      *array.Array
	h, w   int
	rgb    bool    // H×W×3 u8: colours as they are
	grey   bool    // 2-D u8: grey levels as they are
	lo, hi float64 // otherwise, the values the colour map spans
}

func newPicture(a *array.Array) arrayPicture {
	s := a.Shape()
	p := arrayPicture{a: a, h: s[0], w: s[1], rgb: len(s) == 3, grey: len(s) == 2 && a.DType() == array.U8}
	if !p.rgb && !p.grey {
		st := a.Stats()
		p.lo, p.hi = st.Min, st.Max
	}
	return p
}

// resample draws the picture h×w: each pixel the mean of the block of elements it covers
// (at most 4×4 of them sampled), or a copy of the element it falls in when enlarged.
func (p arrayPicture) resample(h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		y0 := y * p.h / h
		y1 := max((y+1)*p.h/h, y0+1)
		sy := max(1, (y1-y0)/4)
		for x := range w {
			x0 := x * p.w / w
			x1 := max((x+1)*p.w/w, x0+1)
			sx := max(1, (x1-x0)/4)
			img.SetRGBA(x, y, p.block(y0, y1, sy, x0, x1, sx))
		}
	}
	return img
}

// block is the colour of the mean of elements [y0,y1)×[x0,x1), taken every sy rows and sx
// columns.
func (p arrayPicture) block(y0, y1, sy, x0, x1, sx int) color.RGBA {
	var sum [3]float64
	n := 0
	for y := y0; y < y1; y += sy {
		for x := x0; x < x1; x += sx {
			i := y*p.w + x
			if p.rgb {
				for c := range 3 {
					sum[c] += p.a.Float(3*i + c)
				}
				n++
				continue
			}
			f := p.a.Float(i)
			switch {
			case math.IsNaN(f):
				continue
			case math.IsInf(f, 1):
				f = p.hi
			case math.IsInf(f, -1):
				f = p.lo
			}
			sum[0] += f
			n++
		}
	}
	if n == 0 {
		return nanColor
	}
	m := sum[0] / float64(n)
	switch {
	case p.rgb:
		return color.RGBA{uint8(sum[0]/float64(n) + 0.5), uint8(sum[1]/float64(n) + 0.5), uint8(sum[2]/float64(n) + 0.5), 0xff}
	case p.grey:
		g := uint8(m + 0.5)
		return color.RGBA{g, g, g, 0xff}
	case p.hi == p.lo:
		return viridis(0.5)
	}
	return viridis((m - p.lo) / (p.hi - p.lo))
}

// nanColor is a NaN's pixel: a grey that the colour map never gives.
var nanColor = color.RGBA{0x80, 0x80, 0x80, 0xff}

// viridisStops are viridis (matplotlib's default colour map: perceptually uniform, its
// lightness rising steadily, readable by most colour-blind people) at ten even steps.
var viridisStops = [...][3]float64{
	{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x4a, 0x89}, {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e},
	{0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6d, 0xcd, 0x59}, {0xb4, 0xde, 0x2c}, {0xfd, 0xe7, 0x25},
}

// viridis is the colour of t in [0, 1], interpolated between the stops.
func viridis(t float64) color.RGBA {
	t = min(max(t, 0), 1) * float64(len(viridisStops)-1)
	i := min(int(t), len(viridisStops)-2)
	f := t - float64(i)
	var c [3]uint8
	for k := range 3 {
		c[k] = uint8(viridisStops[i][k]*(1-f) + viridisStops[i+1][k]*f + 0.5)
	}
	return color.RGBA{c[0], c[1], c[2], 0xff}
}
