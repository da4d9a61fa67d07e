package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/grain"
)

func TestGrain(t *testing.T) {
	s := online(t, 2)
	// A cheap function: batch it; a costly one: ship it as is.
	got := pmapRun(t, s, "g = grain(basics.add, 1, 2)\n[g.runs >= 100, g.cost < g.overhead, g.chunk == None or g.chunk > 1, g.verdict.startswith('batch ≥') or g.verdict == 'keep local', len(g.per_node), g.efficiency < 0.5]")
	if got != "[True, True, True, True, 2, True]" { // 1000 runs, fewer if its first calls were slow
		t.Errorf("grain(add): %s", got)
	}
	t.Logf("%s", pmapRun(t, s, "g"))
	r := &recorder{}
	v, err := s.Exec(t.Context(), "%grain mandelbrot.row 512", r)
	if err != nil {
		t.Fatal(err)
	}
	g := v.(*Grain)
	t.Logf("%s\n%s", g, g.table().Plain())
	// The chunk is the model's for the measured cost and overhead (TestGrainVerdict checks the
	// model); how large it is depends on how busy the machine was.
	want, ok := grain.ChunkForBatch(g.cost, g.overhead, g.perItem, grain.TargetEfficiency)
	if g.cost < 20*time.Microsecond || !ok || g.chunk != want || g.verdict != fmt.Sprintf("batch ≥ %d per task", want) && g.chunk != 1 {
		t.Errorf("grain(row): cost %v, overhead %v, chunk %d (the model's: %d), verdict %s", g.cost, g.overhead, g.chunk, want, g.verdict)
	}
	if b := g.Show(); !strings.Contains(b["text/html"].(string), "<table") || !strings.Contains(b["text/plain"].(string), "chunk for 90%") {
		t.Errorf("Show: %v", b)
	}
	v, _ = s.Exec(t.Context(), "grain(basics.add, 1, 2, runs=10)", r)
	t.Logf("%s\n%s", v, v.(*Grain).table().Plain())
	if v.(*Grain).runs != 10 {
		t.Errorf("runs=10: %d runs", v.(*Grain).runs)
	}
	// Bad input: a trap, an endless loop (stopped at the limit), wrong arguments.
	start := time.Now()
	for code, want := range map[string]string{
		"grain(basics.trap_div, 0)":          "integer divide by zero",
		"grain(basics.spin, limit=0.3)":      "ran past the 300 ms limit",
		"grain(basics.add, 1)":               "takes 2 arguments, got 1",
		"grain(len)":                         "first argument must be a Wasm function",
		"grain(basics.add, 1, 2, runs=5000)": "runs must be 1…1000",
		"%grain":                             "usage: %grain",
		"%grain basics.add 1 2 nope=3":       "unknown option",
	} {
		_, err := s.Exec(t.Context(), code, &recorder{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
	}
	t.Logf("bad inputs took %v", time.Since(start))
	if got := pmapRun(t, s, "basics.add(40, 2)"); got != "42" {
		t.Errorf("after a stopped loop: %s", got)
	}
}

func TestGrainVerdict(t *testing.T) {
	for _, tt := range []struct {
		cost, over, per time.Duration
		want            string
	}{
		{time.Millisecond, 50 * time.Microsecond, 0, "ship as is"},
		{10 * time.Microsecond, 100 * time.Microsecond, 0, "batch ≥ 90 per task"},
		{10 * time.Microsecond, 100 * time.Microsecond, 100 * time.Nanosecond, "batch ≥ 99 per task"},
		{50 * time.Nanosecond, 100 * time.Microsecond, 10 * time.Nanosecond, "keep local"},
	} {
		g := &Grain{cost: tt.cost, overhead: tt.over, perItem: tt.per}
		g.judge()
		if g.verdict != tt.want {
			t.Errorf("cost %v, overhead %v, per call %v: %q, want %q", tt.cost, tt.over, tt.per, g.verdict, tt.want)
		}
	}
	if got, err := translateGrain("m.f 1, 2 runs=5", ""); err != nil || got != "__rain_grain(m.f, 1, 2, runs=5)" {
		t.Errorf("translateGrain: %q, %v", got, err)
	}
}

// pmap with no chunk sizes its chunks from measured cost: large for add, small for row.
func TestPmapAutoGrain(t *testing.T) {
	s := online(t, 2)
	got := pmapRun(t, s, `
r = pmap(basics.add, [(i, 1) for i in range(20000)])
q = pmap(mandelbrot.row, [448 + i % 128 for i in range(256)])
[r[19999], r.chunks[0], r.chunk > 1000, q.chunk <= 128, r.chunk_reason.startswith("auto: ")]`)
	if got != "[20000, 1, True, True, True]" {
		t.Errorf("auto-grain: %s", got)
	}
	t.Log(pmapRun(t, s, "r.chunk_reason"))
	t.Log(pmapRun(t, s, "q.chunk_reason"))
}

func TestSweep(t *testing.T) {
	s := online(t, 2)
	got := pmapRun(t, s, `
w = sweep(mandelbrot.row, range(0, 1024, 4), chunks=[None, 8])
[w.nodes, w.chunks, len(w.rows), w.speedup[0], w.efficiency[2], w.speedup[1] > 0, w.throughput[0] > 0]`)
	if got != "[[1, 2, 1, 2], [None, None, 8, 8], 4, 1.0, 1.0, True, True]" {
		t.Errorf("sweep: %s", got)
	}
	v, _ := s.Exec(t.Context(), "w", &recorder{})
	t.Logf("\n%s", v.(*Sweep).table().Plain())
	for code, want := range map[string]string{
		"sweep(basics.add, [(1, 2)], nodes=[3])":  "sweep: nodes=3, but 2 nodes ready",
		"sweep(basics.add, [(1, 2)], chunks=[0])": "chunks must hold positive ints, got 0",
		"sweep(basics.add, [(1, 2)], nodes=[])":   "nodes is empty",
	} {
		_, err := s.Exec(t.Context(), code, &recorder{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
	}
}
