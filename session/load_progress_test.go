package session

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// shown is a Display call as text.
type shown struct {
	text   string
	id     string
	update bool
}

func texts(d *displays) []shown {
	var out []shown
	for _, g := range d.got {
		out = append(out, shown{g.b.Text(), g.id, g.update})
	}
	return out
}

func TestLoadLine(t *testing.T) {
	ms := time.Millisecond
	v := newLoadView("m", "1 exports · 1 functions · 2.5 MiB", &cluster.Loading{Size: 2621440})
	for _, tt := range []struct {
		name    string
		nodes   []cluster.NodeLoad
		settled bool
		want    string
	}{
		{"quick", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadCompiled, Ready: 5 * ms, Compiled: 5 * ms},
			{Node: "n2", State: cluster.LoadCompiled, Cached: true, Ready: 3 * ms, Compiled: 3 * ms},
		}, true, "m: 1 exports · 1 functions · 2.5 MiB · ready on 2 nodes"},
		{"under way", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadInterpreter, Sent: 2621440, Ready: 150 * ms},
			{Node: "n2", State: cluster.LoadSending, Sent: 1 << 20},
			{Node: "n3", State: cluster.LoadLost},
		}, false, "m: 1 exports · 1 functions · 2.5 MiB · loading on 2 nodes (n1 interpreter 150 ms, n2 sending 1.0 MiB of 2.5 MiB)"},
		{"compiling", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadInterpreter, Ready: 150 * ms},
			{Node: "n2", State: cluster.LoadCompiled, Ready: 140 * ms, Compiled: 900 * ms},
		}, false, "m: 1 exports · 1 functions · 2.5 MiB · ready on 2 nodes, compiling (n1 interpreter 150 ms, n2 compiled 900 ms)"},
		{"tiered", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadCompiled, Ready: 150 * ms, Compiled: 900 * ms},
			{Node: "n2", State: cluster.LoadCompiled, Ready: 170 * ms, Compiled: 1100 * ms},
		}, true, "m: 1 exports · 1 functions · 2.5 MiB · ready on 2 nodes after 170 ms, compiled after 1.1 s"},
		{"failed on one", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadInterpreter, Ready: 20 * ms},
			{Node: "n2", State: cluster.LoadFailed, Err: errors.New("no memory")},
		}, true, "m: 1 exports · 1 functions · 2.5 MiB · ready on 1 node · failed on n2: no memory"},
		{"failed on all", []cluster.NodeLoad{
			{Node: "n1", State: cluster.LoadFailed, Err: errors.New("no memory")},
			{Node: "n2", State: cluster.LoadFailed, Err: errors.New("no memory")},
		}, true, "m: 1 exports · 1 functions · 2.5 MiB · failed on n1, n2: no memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := v.bundle(tt.nodes, tt.settled)
			if got := b.Text(); got != tt.want {
				t.Errorf("line\n got %q\nwant %q", got, tt.want)
			}
			if h, _ := b["text/html"].(string); strings.Count(h, "<tr") != len(tt.nodes)+1 {
				t.Errorf("HTML table without a row per node:\n%s", h)
			}
		})
	}
}

// background records displays, from any goroutine, as a front end that shows them after the
// cell (in place or not) does.
type background struct {
	recorder
	inPlace bool
	mu      sync.Mutex
	got     []shown
	changed chan struct{} // closed, and replaced, by each display
}

func (b *background) Display(d display.Bundle, id string, update bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, shown{d.Text(), id, update})
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
}

// await waits until a display's text satisfies ok, and reports whether one did before ctx
// ended.
func (b *background) await(ctx context.Context, ok func(text string) bool) bool {
	for {
		b.mu.Lock()
		for _, g := range b.got {
			if ok(g.text) {
				b.mu.Unlock()
				return true
			}
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func (b *background) InPlace() bool { return b.inPlace }

func (b *background) shown() []shown {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]shown(nil), b.got...)
}

// TestLoadShowsProgress follows a 2.6 MB module compiled in the background on 2 real nodes
// with fresh caches: its display shows the load under way, and what the front end can show
// after the cell follows it to its end: updates in place (Jupyter), one block at the end (a
// terminal at its prompt), or nothing (a script).
func TestLoadShowsProgress(t *testing.T) {
	bin, err := os.ReadFile("../examples/gowasm.wasm")
	if err != nil {
		t.Skip("examples/gowasm.wasm not built (make examples)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ns := node.DefaultSettings()
	ns.CacheDir = t.TempDir()
	s, err := New(ctx, WithNodes(2), WithRainBinary(os.Args[0]), WithNodeSettings(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitNodes(ctx, 2); err != nil {
		t.Fatal(err)
	}
	s.loadShowAfter = time.Nanosecond
	mod, err := wasm.Decode(bin)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.client.StartLoad(mod)
	if err != nil {
		t.Fatal(err)
	}
	v := newLoadView("go", "2.5 MiB", l)
	cases := []struct {
		name string
		out  Output
		late []bool // the displays after the first: update (in place) or not
	}{
		{"in place", &background{inPlace: true}, []bool{true}},
		{"terminal", &background{}, []bool{false}},
		{"script", &displays{}, nil},
	}
	for _, tt := range cases {
		s.showLoad(ctx, tt.out, v)
	}
	// The displays that follow the load end with it settled: ready, and no longer compiling.
	settled := func(text string) bool {
		return strings.Contains(text, " · ready on ") && !strings.Contains(text, ", compiling")
	}
	for _, tt := range cases {
		if bg, ok := tt.out.(*background); ok && !bg.await(ctx, settled) {
			t.Fatalf("%s: the load did not settle: %+v", tt.name, bg.shown())
		}
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var got []shown
			switch o := tt.out.(type) {
			case *background:
				got = o.shown()
			case *displays:
				got = texts(o)
			}
			if len(got) < 1+len(tt.late) || (tt.late == nil && len(got) != 1) {
				t.Fatalf("displays %+v", got)
			}
			first, last := got[0], got[len(got)-1]
			if first.id == "" || first.update || !strings.Contains(first.text, "go: 2.5 MiB · ") || !strings.Contains(first.text, " on 2 nodes") || strings.Contains(first.text, "after") {
				t.Errorf("first display %+v", first)
			}
			if tt.late == nil {
				return
			}
			in := tt.late[0]
			if last.update != in || (last.id == first.id) != in || !strings.Contains(last.text, "· ready on 2 nodes after ") || !strings.Contains(last.text, "compiled after") {
				t.Errorf("last display %+v", last)
			}
			if !in && len(got) != 2 {
				t.Errorf("a terminal shows the end of the load once: %+v", got)
			}
		})
	}
}
