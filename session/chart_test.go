package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

func TestChartBuiltins(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s := withAdd(t)
	f, _ := s.globals["m"].(*Module).Attr("add")
	began := time.Now()
	at := func(ms int) time.Time { return began.Add(time.Duration(ms) * time.Millisecond) }
	r := &cluster.MapResult{Began: began, Elapsed: 10 * time.Millisecond, Chunk: 1, Tasks: []cluster.Result{
		{Values: []uint64{3}, Node: "a", Started: at(1), Finished: at(5), Tier: wasm.EngineInterpreter},
		{Node: "b", Err: errors.New("boom"), Retries: 1, Started: at(1), Finished: at(2), Tier: wasm.EngineCompiler},
		{Values: []uint64{7}, Node: "b", Started: at(2), Finished: at(8), Tier: wasm.EngineCompiler},
	}}
	s.globals["r"] = newMapResult(f.(*Function), r, nil)
	bindExample(t, s, "b", "basics.wasm")

	tests := []struct{ code, svg, term, err string }{
		{code: "r.timeline()", svg: "pmap(m.add): 3 tasks", term: "a ▕"},
		{code: "r.timeline(title='mine')", svg: ">mine<", term: "1 retried · 1 failed"},
		{code: "speedup_plot(nodes=[1, 2], times=[2.0, 1.1])", svg: "Amdahl fit", term: "speedup  "},
		{code: "sizes(b, top=3)", svg: "b: function sizes (largest 3 of", term: "more function"},
		{code: "r.timeline(by='tier')", svg: ">interpreter<", term: "a ▕"},
		{code: "r.timeline(title=1)", err: "title must be a string"},
		{code: "r.timeline(by='colour')", err: `by must be "map" or "tier"`},
		{code: "speedup_plot(nodes=[1, 2], times=[2.0])", err: "speedup_plot: display: speedup: 2 node counts but 1 times"},
		{code: "speedup_plot(nodes=[1], times=['x'])", err: "times[0] must be seconds"},
		{code: "sizes(1)", err: "sizes wants a module"},
		{code: "sizes(b, top=0)", err: "top must be 1 or more"},
	}
	for _, tt := range tests {
		v, err := s.Exec(context.Background(), tt.code, &recorder{})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.code, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.code, err)
			continue
		}
		c, ok := v.(starlark.Value).(chartValue)
		if !ok {
			t.Errorf("%s: a %T, not a chart", tt.code, v)
			continue
		}
		if svg := display.Of(c)["image/svg+xml"].(string); !strings.Contains(svg, tt.svg) {
			t.Errorf("%s: SVG lacks %q", tt.code, tt.svg)
		}
		term := display.Terminal(c, false)
		if !strings.Contains(term, tt.term) {
			t.Errorf("%s: terminal form lacks %q:\n%s", tt.code, tt.term, term)
		}
		_, path, _ := strings.Cut(term, "\nchart: ")
		if data, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(data), "<svg") || filepath.Dir(path) != chartDir() {
			t.Errorf("%s: chart file %q: %v", tt.code, path, err)
		}
	}
	if v, err := s.Exec(context.Background(), "r.tasks[0]['tier']", &recorder{}); err != nil || v.String() != `"interpreter"` {
		t.Errorf("a task's tier: %v, %v", v, err)
	}
}

// TestProgressBundle: the bar is shown with an id, then updated in place, with a text/html
// bar, and replaced by the summary when done.
func TestProgressBundle(t *testing.T) {
	rec := &displays{}
	b := newProgressBar(rec)
	b.last = time.Time{}
	b.update(cluster.MapProgress{Done: 1, Total: 4, Nodes: 1, Elapsed: time.Second})
	b.last = time.Time{}
	b.update(cluster.MapProgress{Done: 2, Total: 4, Nodes: 2, Elapsed: time.Second})
	b.update(cluster.MapProgress{Done: 4, Total: 4, Nodes: 2, Elapsed: time.Second})
	b.finish(&cluster.MapResult{Tasks: make([]cluster.Result, 4), Elapsed: time.Second})
	if len(rec.got) != 3 {
		t.Fatalf("%d displays, want 3: %v", len(rec.got), rec.got)
	}
	for i, d := range rec.got {
		if d.id != b.id || d.update != (i > 0) {
			t.Errorf("display %d: id %q update %v", i, d.id, d.update)
		}
		if h, _ := d.b["text/html"].(string); !strings.Contains(h, "rain-progress") {
			t.Errorf("display %d has no HTML bar: %v", i, d.b)
		}
	}
	if h := rec.got[1].b["text/html"].(string); !strings.Contains(h, "width:50.0%") {
		t.Errorf("half way: %s", h)
	}
	if last := rec.got[2].b; !strings.Contains(last.Text(), "4 tasks on") || !strings.Contains(last["text/html"].(string), "width:100.0%") {
		t.Errorf("done: %v", last)
	}
}

type shownDisplay struct {
	b      display.Bundle
	id     string
	update bool
}

// displays records Display calls.
type displays struct {
	recorder
	got []shownDisplay
}

func (d *displays) Display(b display.Bundle, id string, update bool) {
	d.got = append(d.got, shownDisplay{b, id, update})
}
