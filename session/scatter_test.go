package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// scatter, pmap over the parts, keep=True, gather and free, as a cell uses them.
func TestScatter(t *testing.T) {
	s := arrayOnline(t, 2)
	for code, want := range map[string]string{
		// gather(scatter(a, k)) == a, for every k, 1-D and 2-D.
		`a = array([float(i) for i in range(1000)], "f64")
[gather(scatter(a, k)) == a for k in (1, 2, 3, 7, 1000)]`: "[True, True, True, True, True]",
		`img = zeros((10, 4), "u8")
img[3, 2] = 7
d = scatter(img, 3)
[gather(d) == img, d.shape, d.dtype, [p["rows"] for p in d.parts], len(d.nodes)]`: `[True, (10, 4), "u8", [4, 3, 3], 2]`,
		// pmap(f, d) calls f(part, n) where each part is: the sum of each part.
		`a = array([float(i) for i in range(1000)], "f64")
d = scatter(a, 4)
r = pmap(stats.sum, d)
[list(r), r[0] + r[1] + r[2] + r[3] == a.sum(), [t["node"] for t in r.tasks] == [p["node"] for p in d.parts], r.sent < 4000]`: "[[31125.0, 93625.0, 156125.0, 218625.0], True, True, True]",
		// keep=True: the outputs stay on the nodes as a scattered array, for a next map.
		`a = array([float(i) for i in range(1000)], "f64")
d = scatter(a, 4)
d2 = pmap(stats.scale, d, args=(2.0,), out="like", keep=True)
s = pmap(stats.sum, d2)
[type(d2), d2.shape, gather(d2) == array([2.0 * i for i in range(1000)], "f64"), s[0] + s[1] + s[2] + s[3]]`: `["scattered", (1000,), True, 999000.0]`,
		// out= an array: each part's histogram, and the outputs as pmap gives them.
		`a = array([i / 1000.0 for i in range(1000)], "f64")
r = pmap(stats.histogram, scatter(a, 2), args=(0.0, 1.0, 4), out=zeros(4, "i32"))
[x.tolist() for x in r]`: "[[250, 250, 0, 0], [0, 0, 250, 250]]",
		// out="like" without keep: the outputs come back, shaped as the parts.
		`r = pmap(stats.scale, scatter(array([1.0, 2.0, 3.0], "f64"), 2), args=(10.0,), out="like")
[x.tolist() for x in r]`: "[[10.0, 20.0], [30.0]]",
		// A kept output of fixed shape: parts of (1, 4) stack into (2, 4).
		`a = array([i / 1000.0 for i in range(1000)], "f64")
gather(pmap(stats.histogram, scatter(a, 2), args=(0.0, 1.0, 4), out=zeros((1, 4), "i32"), keep=True)).tolist()`: "[[250, 250, 0, 0], [0, 0, 250, 250]]",
		// The text shows where the parts are.
		`scatter(array(b"hello world"), 2)`: `scattered(u8 (11,) in 2 parts)`,
	} {
		if got := pmapRun(t, s, code); got != want {
			t.Errorf("%s\n= %s, want %s", code, got, want)
		}
	}
}

// Every bad use of scatter, gather, free and pmap over a scattered array fails in one line that
// says what to do, and the session goes on.
func TestScatterBadInput(t *testing.T) {
	s := arrayOnline(t, 2)
	pmapRun(t, s, `d = scatter(array([1.0, 2.0, 3.0, 4.0], "f64"), 2)
gone = scatter(array([5.0, 6.0], "f64"), 2)
free(gone)`)
	for code, want := range map[string]string{
		`scatter([1, 2, 3], 2)`:                        "scatter: a must be an array",
		`scatter(array([1.0, 2.0], "f64"), 3)`:         "scatter: 3 parts of an array of 2 rows: give at most 2 parts",
		`scatter(array([1.0, 2.0], "f64"), 0)`:         "scatter: parts must be 1 or more",
		`scatter(zeros(0, "f64"), 1)`:                  "scatter: the array is empty",
		`gather([1])`:                                  "gather: give a scattered array",
		`gather(gone)`:                                 "gather: this scattered array was freed (free(d)): scatter the array again",
		`pmap(stats.sum, gone)`:                        "pmap: this scattered array was freed",
		`free(3)`:                                      "free: give a scattered array",
		`pmap(stats.sum, d, nodes=1)`:                  "nodes= does not apply to a scattered array",
		`pmap(stats.scale, d)`:                         "over a scattered array pmap calls stats.scale(part, n), 2 arguments, but stats.scale(i32, i32, f64, i32) takes 4: give the others with args=(...)",
		`pmap(stats.scale, d, args=(2.0,), keep=True)`: "keep=True keeps the out= arrays on the nodes: give out=",
		`pmap(stats.sum, d, keep=True)`:                "keep=True keeps the out= arrays on the nodes",
		`pmap(stats.sum, [(d, 2)], keep=True)`:         "keep=True leaves the outputs beside the scattered parts",
		`pmap(stats.scale, d, args=(2.0,), out="big")`: `out="big"`,
		`pmap(stats.scale, d, args=(2.0,), out="like", keep=True, wait=False)`: "keep=True waits for the map",
		`pmap(stats.scale, d, args=(d,), out="like")`:                          "stats.scale(i32, i32, f64, i32): argument 3",
		`pmap(mandelbrot.row, d)`:                                              "pmap calls mandelbrot.row(part, n)",
		`pmap(basics.mul, d)`:                                                  "basics.mul(f64, f64) -> f64: argument 1 is an f64, not a pointer",
		`pmap(stats.sum, [1], args=(2,))`:                                      "args= gives the arguments after (part, n) of a map over a scattered array",
	} {
		_, err := s.Exec(t.Context(), code, &recorder{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: more than one line: %q", code, err)
		}
	}
	if got := pmapRun(t, s, "list(pmap(stats.sum, d))"); got != "[3.0, 7.0]" {
		t.Errorf("after the bad inputs: %s", got)
	}
}

// A scattered array of another session, or of the hub a session left, says so.
func TestScatterOtherSession(t *testing.T) {
	a := arrayOnline(t, 1)
	b := arrayOnline(t, 1)
	pmapRun(t, a, `d = scatter(array([1.0, 2.0], "f64"), 1)`)
	v, err := a.Exec(t.Context(), "d", &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.globals["theirs"] = v
	b.mu.Unlock()
	for code, want := range map[string]string{
		"gather(theirs)":          "gather: this scattered array belongs to another session: scatter the array in this one",
		"pmap(stats.sum, theirs)": "pmap: this scattered array belongs to another session",
		"free(theirs)":            "free: this scattered array belongs to another session",
	} {
		if _, err := b.Exec(t.Context(), code, &recorder{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
	}
}

// The bytes a session keeps on the nodes: %nodes shows them; deleting the variable (or giving
// it another value) or free(d) drops them from the nodes.
func TestScatterFreed(t *testing.T) {
	s := arrayOnline(t, 2)
	held := func() int64 {
		var n int64
		for _, info := range s.client.Nodes() {
			n += info.Data
		}
		return n
	}
	waitHeld := func(want int64) { // as the nodes' statuses come
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		for {
			changed := s.client.Changed()
			if held() == want {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the nodes hold %d bytes, want %d", held(), want)
			case <-changed:
			}
		}
	}
	pmapRun(t, s, `d = scatter(array(range(100000), "f64"), 2)`)
	waitHeld(800000)
	var r recorder
	v, err := s.Exec(t.Context(), "%nodes", &r)
	if err != nil {
		t.Fatal(err)
	}
	if text := v.String(); !strings.Contains(text, "data") || !strings.Contains(text, "390.6 KiB of 1 GiB · 1 part") {
		t.Errorf("%%nodes:\n%s", text)
	}
	pmapRun(t, s, "del d")
	waitHeld(0)
	if _, err := s.Exec(t.Context(), "d", &recorder{}); err == nil || !strings.Contains(err.Error(), "undefined: d") {
		t.Errorf("d after del d: %v", err)
	}
	// Assigned anew, the old array's parts go; one held in a list stays.
	pmapRun(t, s, `d = scatter(array(range(1000), "f64"), 2)
keep = [scatter(zeros(10, "f64"), 1)]`)
	waitHeld(8080)
	pmapRun(t, s, `d = None`)
	waitHeld(80)
	pmapRun(t, s, `free(keep[0])
free(keep[0])`)
	waitHeld(0)
	if _, err := s.Exec(t.Context(), "del nothing", &recorder{}); err == nil || !strings.Contains(err.Error(), "undefined: nothing") {
		t.Errorf("del of an undefined name: %v", err)
	}
}

// A node's data is bounded by its memory limit: past it, scatter says so in one line.
func TestScatterMemoryLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	settings := node.DefaultSettings()
	settings.MemoryLimit = 1 << 20
	s := started(t, 1, WithNodeSettings(settings))
	_, err := s.Exec(ctx, `scatter(zeros(200000, "f64"), 1)`, &recorder{})
	if err == nil || !strings.Contains(err.Error(), "scatter: no node has room for a part of 1.5 MiB") || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("a part past the node's memory limit: %v", err)
	}
	if got := pmapRun(t, s, `gather(scatter(zeros(100000, "f64"), 2)) == zeros(100000, "f64")`); got != "True" {
		t.Errorf("two parts within the limit: %s", got)
	}
}
