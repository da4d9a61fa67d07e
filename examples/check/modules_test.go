// Package check holds no code, only tests of the example modules that take arrays
// (mandelbrot, filter, stats, words): they run each on wazero directly, as Rain calls them —
// allocate in the instance with its malloc, write the input, call, read the output, free — and
// compare what it computes with the same computation in Go. (Go allows no test beside the C
// sources in examples/, so they live here.)
package check

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// arrayModules are the examples that take arrays, with the exports each must have.
var arrayModules = map[string][]string{
	"mandelbrot": {"escape", "row", "row_pixels", "rows", "width", "height"},
	"filter":     {"blur", "sobel"},
	"stats":      {"sum", "histogram", "scale"},
	"words":      {"count", "lengths"},
}

// instance is one instance of an example module, with its allocator.
type instance struct {
	t   testing.TB
	mod api.Module
	mem api.Memory
}

// example returns the bytes of examples/name.wasm.
func example(t testing.TB, name string) []byte {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("..", name+".wasm"))
	if err != nil {
		t.Fatalf("%v (rebuild with scripts/build-examples)", err)
	}
	return bin
}

// load instantiates examples/name.wasm on a fresh runtime with no host modules at all (the
// modules import nothing) and runs its _initialize, as Rain does for a reactor.
func load(t testing.TB, name string) *instance {
	t.Helper()
	bin := example(t, name)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName(name).WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("instantiating %s.wasm: %v", name, err)
	}
	return &instance{t: t, mod: mod, mem: mod.Memory()}
}

// call calls export fn and returns its results.
func (m *instance) call(fn string, args ...uint64) []uint64 {
	m.t.Helper()
	f := m.mod.ExportedFunction(fn)
	if f == nil {
		m.t.Fatalf("%s exports no %s", m.mod.Name(), fn)
	}
	res, err := f.Call(context.Background(), args...)
	if err != nil {
		m.t.Fatalf("%s(%v): %v", fn, args, err)
	}
	return res
}

// alloc is malloc(n): a pointer to n bytes of the instance's memory, checked to lie inside it.
func (m *instance) alloc(n int) uint32 {
	m.t.Helper()
	p := uint32(m.call("malloc", uint64(n))[0])
	if p == 0 || uint64(p)+uint64(n) > uint64(m.mem.Size()) {
		m.t.Fatalf("malloc(%d) = %#x in a memory of %d bytes", n, p, m.mem.Size())
	}
	return p
}

func (m *instance) free(p uint32) { m.t.Helper(); m.call("free", uint64(p)) }

func (m *instance) write(p uint32, b []byte) {
	m.t.Helper()
	if !m.mem.Write(p, b) {
		m.t.Fatalf("writing %d bytes at %#x: out of range", len(b), p)
	}
}

// read returns a copy of n bytes at p.
func (m *instance) read(p uint32, n int) []byte {
	m.t.Helper()
	b, ok := m.mem.Read(p, uint32(n))
	if !ok {
		m.t.Fatalf("reading %d bytes at %#x: out of range", n, p)
	}
	return append([]byte(nil), b...)
}

// in copies b into a fresh allocation and returns its pointer.
func (m *instance) in(b []byte) uint32 {
	m.t.Helper()
	p := m.alloc(max(len(b), 1))
	m.write(p, b)
	return p
}

// guard is the number of bytes past an output array that must stay untouched.
const guard = 64

// out allocates n bytes for an output, followed by guard bytes; all are filled with 0xA5 so a
// function that writes too little or too much shows.
func (m *instance) out(n int) uint32 {
	m.t.Helper()
	p := m.alloc(n + guard)
	m.write(p, fill(n+guard))
	return p
}

// result reads the n-byte output at p, checks its guard bytes and frees it.
func (m *instance) result(p uint32, n int) []byte {
	m.t.Helper()
	b := m.read(p, n+guard)
	for i, c := range b[n:] {
		if c != 0xA5 {
			m.t.Fatalf("byte %d past the %d-byte output was written (%#x)", i, n, c)
		}
	}
	m.free(p)
	return b[:n]
}

func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xA5
	}
	return b
}

func i32(v int) uint64 { return api.EncodeI32(int32(v)) }

func f64(v float64) uint64 { return api.EncodeF64(v) }

func TestModulesExportAllocator(t *testing.T) {
	for name, exports := range arrayModules {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			cm, err := rt.CompileModule(ctx, example(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if imps := cm.ImportedFunctions(); len(imps) > 0 {
				t.Errorf("%s.wasm imports %d functions, the first %s.%s; it should import nothing", name, len(imps), moduleName(imps[0]), imps[0].Name())
			}
			got := cm.ExportedFunctions()
			for _, fn := range append([]string{"_initialize", "malloc", "free"}, exports...) {
				if got[fn] == nil {
					t.Errorf("%s.wasm does not export %s", name, fn)
				}
			}
			if len(got) != len(exports)+3 {
				t.Errorf("%s.wasm exports %d functions, want %d", name, len(got), len(exports)+3)
			}
		})
	}
}

func moduleName(f api.FunctionDefinition) string {
	mod, _, _ := f.Import()
	return mod
}

// TestMallocFreeReuses calls malloc and free a million times with small sizes, some blocks
// living across others' calls: dlmalloc reuses what was freed, so memory does not grow.
func TestMallocFreeReuses(t *testing.T) {
	m := load(t, "stats")
	malloc, free := m.mod.ExportedFunction("malloc"), m.mod.ExportedFunction("free")
	ctx := context.Background()
	var live [8]uint64
	step := func(i int) {
		k := i % len(live)
		if live[k] != 0 {
			if _, err := free.Call(ctx, live[k]); err != nil {
				t.Fatal(err)
			}
		}
		res, err := malloc.Call(ctx, uint64(1+(i*37)%1024))
		if err != nil || res[0] == 0 {
			t.Fatalf("malloc call %d: %v, %v", i, res, err)
		}
		live[k] = res[0]
	}
	for i := range 1000 { // warm up: the first blocks may grow the heap once
		step(i)
	}
	size := m.mem.Size()
	for i := 1000; i < 1_000_000; i++ {
		step(i)
	}
	for _, p := range live {
		m.free(uint32(p))
	}
	if got := m.mem.Size(); got != size {
		t.Errorf("memory grew from %d to %d pages over a million malloc/free pairs", size/65536, got/65536)
	}
}

// The Mandelbrot image, computed in Go as mandelbrot.c computes it.

const (
	mbWidth, mbHeight, mbMaxIter = 1024, 1024, 256
)

func escape(cr, ci float64, maxiter int) int {
	zr, zi := 0.0, 0.0
	i := 0
	for i < maxiter && zr*zr+zi*zi <= 4.0 {
		t := zr*zr - zi*zi + cr
		zi = 2*zr*zi + ci
		zr = t
		i++
	}
	return i
}

// shade is 0 inside the set, else 32 levels per doubling of i, linear between powers of two.
func shade(i int) byte {
	if i <= 0 || i >= mbMaxIter {
		return 0
	}
	k := 0
	for 2<<k <= i {
		k++
	}
	return byte(32*k + 32*(i-1<<k)>>k)
}

// mandelbrotRow is row y's iteration counts.
func mandelbrotRow(y int) []int {
	ci := -1.5 + 3.0*float64(y)/mbHeight
	row := make([]int, mbWidth)
	for x := range row {
		row[x] = escape(-2.0+3.0*float64(x)/mbWidth, ci, mbMaxIter)
	}
	return row
}

func TestShade(t *testing.T) {
	for i, want := range map[int]byte{1: 0, 2: 32, 3: 48, 4: 64, 6: 80, 128: 224, 192: 240, 255: 255, 256: 0} {
		if got := shade(i); got != want {
			t.Errorf("shade(%d) = %d, want %d", i, got, want)
		}
	}
}

func TestMandelbrotRowPixels(t *testing.T) {
	m := load(t, "mandelbrot")
	if w := api.DecodeI32(m.call("width")[0]); w != mbWidth {
		t.Fatalf("width() = %d", w)
	}
	levels := map[byte]bool{}
	for _, y := range []int{0, 1, 100, 255, 300, 400, 480, 511, 512, 513, 600, 700, 900, 1022, 1023} {
		counts := mandelbrotRow(y)
		sum := 0
		want := make([]byte, mbWidth)
		for x, i := range counts {
			sum += i
			want[x] = shade(i)
		}
		// The Go reference is the image row(y) sums…
		if got := int(api.DecodeI32(m.call("row", i32(y))[0])); got != sum {
			t.Fatalf("row(%d) = %d, the Go reference sums %d", y, got, sum)
		}
		// …and row_pixels(y, out) writes its pixels.
		p := m.out(mbWidth)
		m.call("row_pixels", i32(y), uint64(p))
		got := m.result(p, mbWidth)
		for x := range got {
			if got[x] != want[x] {
				t.Fatalf("row_pixels(%d) pixel %d = %d, want %d (%d iterations)", y, x, got[x], want[x], counts[x])
			}
			levels[got[x]] = true
		}
	}
	// A picture, not a flat field: black inside, near white at the edge, many greys between.
	if !levels[0] || !levels[240] || len(levels) < 100 {
		t.Errorf("the rows use %d grey levels (0: %v, 240: %v)", len(levels), levels[0], levels[240])
	}
}

// The filters, in Go over a whole image with its edges clamped.

type image struct {
	w, h int
	pix  []byte
}

func (im image) at(x, y int) int {
	return int(im.pix[min(max(y, 0), im.h-1)*im.w+min(max(x, 0), im.w-1)])
}

func blurGo(im image, r int) []byte {
	r = max(r, 0)
	n := (2*r + 1) * (2*r + 1)
	out := make([]byte, im.w*im.h)
	for y := range im.h {
		for x := range im.w {
			sum := 0
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					sum += im.at(x+dx, y+dy)
				}
			}
			out[y*im.w+x] = byte((sum + n/2) / n)
		}
	}
	return out
}

func sobelGo(im image) []byte {
	out := make([]byte, im.w*im.h)
	for y := range im.h {
		for x := range im.w {
			p := func(dx, dy int) int { return im.at(x+dx, y+dy) }
			gx := (p(1, -1) + 2*p(1, 0) + p(1, 1)) - (p(-1, -1) + 2*p(-1, 0) + p(-1, 1))
			gy := (p(-1, 1) + 2*p(0, 1) + p(1, 1)) - (p(-1, -1) + 2*p(0, -1) + p(1, -1))
			out[y*im.w+x] = byte(min(int(math.Sqrt(float64(gx*gx+gy*gy))), 255))
		}
	}
	return out
}

// testImage is a w×h image with smooth parts, sharp edges and noise.
func testImage(w, h int) image {
	rng := rand.New(rand.NewPCG(1, 2))
	im := image{w, h, make([]byte, w*h)}
	for y := range h {
		for x := range w {
			v := (x*255)/w ^ (y * 8)
			if (x/7+y/5)%3 == 0 {
				v = rng.IntN(256)
			}
			im.pix[y*w+x] = byte(v)
		}
	}
	return im
}

// band calls filter fn over rows [y0, y1) of im with up to halo rows above and below, as a map
// over bands would, and returns the band's output.
func band(m *instance, fn string, im image, y0, y1, halo int, extra ...uint64) []byte {
	above, below := min(halo, y0), min(halo, im.h-y1)
	in := m.in(im.pix[(y0-above)*im.w : (y1+below)*im.w])
	p := m.out((y1 - y0) * im.w)
	args := append([]uint64{uint64(in), i32(im.w), i32(y1 - y0), i32(above), i32(below)}, extra...)
	m.call(fn, append(args, uint64(p))...)
	m.free(in)
	return m.result(p, (y1-y0)*im.w)
}

func TestFilterBands(t *testing.T) {
	im := testImage(97, 61)
	tests := []struct {
		fn     string
		radius int // blur's; sobel's is 1
		want   []byte
	}{
		{"blur", 0, blurGo(im, 0)},
		{"blur", 1, blurGo(im, 1)},
		{"blur", 2, blurGo(im, 2)},
		{"blur", 5, blurGo(im, 5)},
		{"blur", -3, im.pix},
		{"sobel", 1, sobelGo(im)},
	}
	m := load(t, "filter")
	for _, tt := range tests {
		var extra []uint64
		if tt.fn == "blur" {
			extra = []uint64{i32(tt.radius)}
		}
		r := max(tt.radius, 0)
		// The whole image at once: no halo.
		if got := band(m, tt.fn, im, 0, im.h, 0, extra...); string(got) != string(tt.want) {
			t.Errorf("%s radius %d over the whole image differs from the Go reference", tt.fn, tt.radius)
			continue
		}
		// Bands of every height with a halo of the radius, or more, join into the same image.
		for _, rows := range []int{1, 2, 7, 16, 30, 61} {
			for _, halo := range []int{r, r + 3} {
				var joined []byte
				for y0 := 0; y0 < im.h; y0 += rows {
					joined = append(joined, band(m, tt.fn, im, y0, min(y0+rows, im.h), halo, extra...)...)
				}
				if string(joined) != string(tt.want) {
					t.Errorf("%s radius %d over bands of %d rows with a halo of %d differs from the whole image", tt.fn, tt.radius, rows, halo)
				}
			}
		}
	}
	// A halo smaller than the radius shows at the seams: the test above would catch a filter
	// that ignored its halo.
	var joined []byte
	for y0 := 0; y0 < im.h; y0 += 8 {
		joined = append(joined, band(m, "blur", im, y0, min(y0+8, im.h), 1, i32(3))...)
	}
	if string(joined) == string(blurGo(im, 3)) {
		t.Error("blur radius 3 over bands with a halo of 1 equals the whole image's blur: the halo is not read")
	}
}

// The statistics, in Go.

func f64bytes(xs []float64) []byte {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func bytesF64(b []byte) []float64 {
	xs := make([]float64, len(b)/8)
	for i := range xs {
		xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return xs
}

func bytesI32(b []byte) []int {
	vs := make([]int, len(b)/4)
	for i := range vs {
		vs[i] = int(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return vs
}

func histogramGo(xs []float64, lo, hi float64, nbins int) []int {
	counts := make([]int, nbins)
	if !(lo < hi) {
		return counts
	}
	for _, x := range xs {
		if !(x >= lo && x <= hi) {
			continue
		}
		b := int((x - lo) / (hi - lo) * float64(nbins))
		counts[min(b, nbins-1)]++
	}
	return counts
}

func TestStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	large := make([]float64, 1<<20) // 8 MiB
	for i := range large {
		large[i] = rng.NormFloat64()*10 + 3
	}
	edges := []float64{-1, 0, 0.5, 1, math.Nextafter(1, 0), 1.0000001, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 0.2, 0.7}
	tests := []struct {
		name   string
		xs     []float64
		lo, hi float64
		nbins  int
	}{
		{"empty", nil, 0, 1, 4},
		{"one", []float64{2.5}, 0, 10, 10},
		{"edges", edges, 0, 1, 10},
		{"one bin", edges, 0, 1, 1},
		{"empty range", edges, 1, 1, 3},
		{"large", large, -40, 40, 64},
		{"large, narrow", large, 0, 1, 1000},
	}
	m := load(t, "stats")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.xs)
			xs := m.in(f64bytes(tt.xs))
			defer m.free(xs)

			var want float64
			for _, x := range tt.xs {
				want += x
			}
			got := api.DecodeF64(m.call("sum", uint64(xs), i32(n))[0])
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("sum = %v, want %v", got, want)
			}

			p := m.out(4 * tt.nbins)
			m.call("histogram", uint64(xs), i32(n), f64(tt.lo), f64(tt.hi), i32(tt.nbins), uint64(p))
			counts := bytesI32(m.result(p, 4*tt.nbins))
			if want := histogramGo(tt.xs, tt.lo, tt.hi, tt.nbins); !equal(counts, want) {
				t.Errorf("histogram = %v, want %v", counts, want)
			}

			p = m.out(8 * n)
			m.call("scale", uint64(xs), i32(n), f64(-2.5), uint64(p))
			for i, x := range bytesF64(m.result(p, 8*n)) {
				if w := tt.xs[i] * -2.5; math.Float64bits(x) != math.Float64bits(w) && !(math.IsNaN(x) && math.IsNaN(w)) {
					t.Fatalf("scale: out[%d] = %v, want %v", i, x, w)
				}
			}
		})
	}
	// The numbers themselves, as numpy.histogram gives them for the edges.
	xs := m.in(f64bytes(edges))
	p := m.out(4 * 4)
	m.call("histogram", uint64(xs), i32(len(edges)), f64(0), f64(1), i32(4), uint64(p))
	if got, want := bytesI32(m.result(p, 16)), []int{3, 0, 2, 2}; !equal(got, want) {
		t.Errorf("histogram of %v over [0, 1] in 4 bins = %v, want %v", edges, got, want)
	}
	// nbins ≤ 0 writes nothing.
	p = m.out(0)
	m.call("histogram", uint64(xs), i32(len(edges)), f64(0), f64(1), i32(0), uint64(p))
	m.result(p, 0)
	m.free(xs)
}

func equal(a, b []int) bool {
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

// The word counts, in Go: strings.Fields cuts an ASCII-spaced text as words.c does.

func lengthsGo(text string, nlen int) []int {
	counts := make([]int, nlen)
	for _, w := range strings.Fields(text) {
		counts[min(utf8.RuneCountInString(w), nlen-1)]++
	}
	return counts
}

func TestWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vocab := strings.Fields("a an the of rain wasm node cluster granularity héllo wörld 雨 ñandú supercalifragilistic")
	spaces := []string{" ", "  ", "\t", "\n", "\r\n", " \v ", "\f"}
	var long strings.Builder
	for range 200_000 {
		long.WriteString(vocab[rng.IntN(len(vocab))])
		long.WriteString(spaces[rng.IntN(len(spaces))])
	}
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"spaces", " \t\n\v\f\r "},
		{"one", "one"},
		{"padded", "  two words  "},
		{"all spaces", "tabs\tand\nnew\r\nlines\vvertical\fform feed"},
		{"utf-8", "héllo wörld, 雨 ñandú"},
		{"long", long.String()},
	}
	m := load(t, "words")
	const nlen = 12
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := m.in([]byte(tt.text))
			defer m.free(text)
			if got, want := int(api.DecodeI32(m.call("count", uint64(text), i32(len(tt.text)))[0])), len(strings.Fields(tt.text)); got != want {
				t.Errorf("count = %d, strings.Fields finds %d", got, want)
			}
			p := m.out(4 * nlen)
			m.call("lengths", uint64(text), i32(len(tt.text)), i32(nlen), uint64(p))
			if got, want := bytesI32(m.result(p, 4*nlen)), lengthsGo(tt.text, nlen); !equal(got, want) {
				t.Errorf("lengths = %v, want %v", got, want)
			}
		})
	}
	// Any bytes at all: the lengths add up to the count, and a text cut at white space counts
	// as the sum of its parts.
	noise := make([]byte, 1<<16)
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
		if rng.IntN(4) == 0 {
			noise[i] = ' '
		}
	}
	text := m.in(noise)
	count := int(api.DecodeI32(m.call("count", uint64(text), i32(len(noise)))[0]))
	p := m.out(4 * 3)
	m.call("lengths", uint64(text), i32(len(noise)), i32(3), uint64(p))
	if l := bytesI32(m.result(p, 12)); l[0] != 0 || l[1]+l[2] != count {
		t.Errorf("lengths %v do not add up to the count %d", l, count)
	}
	parts, last := 0, 0
	for i := 1000; i <= len(noise); i += 1000 {
		for i < len(noise) && noise[i] != ' ' {
			i++
		}
		parts += int(api.DecodeI32(m.call("count", uint64(text)+uint64(last), i32(i-last))[0]))
		last = i
	}
	parts += int(api.DecodeI32(m.call("count", uint64(text)+uint64(last), i32(len(noise)-last))[0]))
	if parts != count {
		t.Errorf("the parts of a text cut at spaces count %d words, the whole %d", parts, count)
	}
	m.free(text)
}
