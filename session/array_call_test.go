package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// arrayOnline is online(t, n) with stats.wasm loaded too.
func arrayOnline(t *testing.T, n int) *Session {
	t.Helper()
	s := online(t, n)
	pmapRun(t, s, "%load stats.wasm")
	return s
}

// Arrays as arguments: what a function writes into one is in it after the call, as in C; a
// view (a slice of rows) passes its own bytes; an input the function only reads is unchanged;
// arrays past the hub's max payload (16 MiB) work as small ones do.
func TestArrayArguments(t *testing.T) {
	s := arrayOnline(t, 2)
	for _, tt := range []struct{ name, code, want string }{
		{"scale", `
xs = array([1.0, 2.5, -4.0, 8.0], "f64")
out = zeros(4, "f64")
stats.scale(xs, len(xs), 2.0, out)
[out.tolist(), xs.tolist()]`, "[[2.0, 5.0, -8.0, 16.0], [1.0, 2.5, -4.0, 8.0]]"},
		{"a view", `
xs = array([1.0, 2.5, -4.0, 8.0], "f64")
stats.sum(xs[1:3], 2)`, "-1.5"},
		{"into a view", `
m = zeros((3, 2), "f64")
stats.scale(array([1.0, 2.0], "f64"), 2, 10.0, m[1])
m.tolist()`, "[[0.0, 0.0], [10.0, 20.0], [0.0, 0.0]]"},
		{"histogram", `
counts = zeros(4, "i32")
stats.histogram(array([0.1, 0.2, 0.6, 0.9, 0.95, 2.0], "f64"), 6, 0.0, 1.0, 4, counts)
counts.tolist()`, "[2, 0, 1, 2]"},
		{"in place", `
xs = array([1.0, 2.0], "f64")
stats.scale(xs, 2, 3.0, xs)
xs.tolist()`, "[3.0, 6.0]"},
		{"past the hub's max payload", `
xs = array(range(2000000), "f64")
out = zeros(len(xs), "f64")
stats.scale(xs, len(xs), 2.0, out)
[out[1], out[2], out.sum() == 2 * xs.sum(), xs[1], stats.sum(xs, len(xs)) == xs.sum()]`, "[2.0, 4.0, True, 1.0, True]"},
		{"in place, past the hub's max payload", `
ys = array(range(2000000), "f64")
stats.scale(ys, len(ys), 3.0, ys)
[ys[1], ys[2]]`, "[3.0, 6.0]"},
		{"a row of the image", `
row = zeros(1024, "u8")
mandelbrot.row_pixels(512, row)
[row[0], len(row), row.max() > 0]`, "[0, 1024, True]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pmapRun(t, s, tt.code); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// pmap with out= gives each task an array of its own; .stack() makes the image, the same on 2
// nodes as on 1; inputs may hold arrays and slices of arrays, and what tasks write into them
// is in them after the map; arrays past the hub's max payload (11 MiB each) work as small ones do.
func TestPmapArrays(t *testing.T) {
	s := arrayOnline(t, 2)
	for _, tt := range []struct{ name, code, want string }{
		{"the image", `
img = pmap(mandelbrot.row_pixels, range(1024), out=zeros(1024, "u8")).stack()
one = pmap(mandelbrot.row_pixels, range(1024), out=zeros(1024, "u8"), nodes=1).stack()
row = zeros(1024, "u8")
mandelbrot.row_pixels(700, row)
[img.shape, img.dtype, img == one, img[700] == row, img.max()]`, `[(1024, 1024), "u8", True, True, 255]`},
		{"results are arrays", `
r = pmap(stats.scale, [(array([1.0, 2.0], "f64"), 2, float(k)) for k in range(3)], out=zeros(2, "f64"))
[a.tolist() for a in r]`, "[[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]"},
		{"slices as inputs", `
xs = array(range(8), "f64")
pmap(stats.sum, [(xs[2*i:2*i+2], 2) for i in range(4)])`, "[1.0, 5.0, 9.0, 13.0]"},
		{"written back", `
xs = array(range(4), "f64")
outs = [zeros(2, "f64"), zeros(2, "f64")]
pmap(stats.scale, [(xs[0:2], 2, 3.0, outs[0]), (xs[2:4], 2, 3.0, outs[1])])
[o.tolist() for o in outs]`, "[[0.0, 3.0], [6.0, 9.0]]"},
		{"async", `
h = pmap_async(mandelbrot.row_pixels, range(0, 1024, 64), out=zeros(1024, "u8"))
h.wait(timeout=20).stack().shape`, "(16, 1024)"},
		{"an output of 2 dimensions", `
r = pmap(stats.scale, [(array(range(6), "f64"), 6, 2.0)], out=zeros((2, 3), "f64"))
r[0].tolist()`, "[[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]"},
		{"past the hub's max payload", `
big = array(range(1500000), "f64")
small = array([1.0, 2.0], "f64")
sums = pmap(stats.sum, [(big, len(big)), (small, 2), (big[1:], len(big) - 1), (big, len(big))])
r = pmap(stats.scale, [(big, len(big), float(k)) for k in range(3)], out=zeros(len(big), "f64"))
[list(sums) == [big.sum(), 3.0, big.sum(), big.sum()], [a[2] for a in r], r[2].sum() == 2 * big.sum(), big[2]]`, "[True, [0.0, 2.0, 4.0], True, 2.0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pmapRun(t, s, tt.code); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Every mistake with arrays is one line that says what was wrong and what to do, and the
// session goes on.
func TestArrayArgumentErrors(t *testing.T) {
	s := arrayOnline(t, 1)
	pmapRun(t, s, `xs = array([1.0, 2.0], "f64")`+"\n"+`frozen = zeros(2, "f64")`)
	s.globals["frozen"].Freeze() // as a loaded module's globals are
	for _, tt := range []struct{ name, code, want string }{
		{"no allocator", `basics.fib(zeros(4, "u8"))`,
			"basics.fib: argument 1 is an array, but module basics exports no allocator to copy it in with: export malloc and free (C: -Wl,--export=malloc,--export=free) or cabi_realloc"},
		{"not a pointer", `stats.scale(xs, 2, xs, xs)`,
			"stats.scale(i32, i32, f64, i32): argument 3 is an f64, not a pointer (i32): pass a number there, not an array"},
		{"out not an array", `pmap(stats.scale, [(xs, 2, 1.0)], out=[0, 0])`,
			`pmap: out must be an array, such as zeros(1024, "u8"), got list`},
		{"out where no pointer goes", `pmap(basics.mul, [(1.0,)], out=zeros(4, "u8"))`,
			"pmap: out=: basics.mul(f64, f64) -> f64: argument 2 is an f64, not a pointer (i32)"},
		{"out for a module without an allocator", `pmap(basics.fib, [()], out=zeros(4, "u8"))`,
			"pmap: out=: basics.fib: argument 1 is an array, but module basics exports no allocator"},
		{"inputs that do not leave room for out", `pmap(stats.scale, [(xs, 2, 1.0, xs)], out=zeros(2, "f64"))`,
			"stats.scale(i32, i32, f64, i32) takes 3 arguments before out=, got 4"},
		{"written into a frozen array", `stats.scale(xs, 2, 1.0, frozen)`,
			"stats.scale wrote into argument 4, a frozen array: pass a copy (a.copy()) to see what it wrote"},
		{"stack of numbers", `pmap(stats.sum, [(xs, 2)]).stack()`,
			"stack: task 0 gave float, not an array: stack() makes one array of a map's out= arrays"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Exec(t.Context(), tt.code, &recorder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%v; want one line saying %q", err, tt.want)
			}
		})
	}
	if got := pmapRun(t, s, "stats.sum(xs, 2)"); got != "3.0" {
		t.Errorf("after the errors: %s", got)
	}
}

// An array larger than a node's memory limit: one line naming its size and the limit.
func TestArrayOverMemoryLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	settings := node.DefaultSettings()
	settings.MemoryLimit = 1 << 20
	s := started(t, 1, WithNodeSettings(settings))
	pmapRun(t, s, "%load stats.wasm")
	_, err := s.Exec(ctx, `stats.sum(zeros(300000, "f64"), 300000)`, &recorder{})
	want := "argument 1 is 2.3 MiB, more than the instance's memory can grow to, 1 MiB (the memory limit; see --memory-limit): pass a smaller array"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%v; want %q", err, want)
	}
	if got := pmapRun(t, s, `stats.sum(array([1.0, 2.0]), 2)`); got != "3.0" {
		t.Errorf("after it: %s", got)
	}
}
