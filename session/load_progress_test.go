package session

import (
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
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

func TestLoadProgress(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nodes := func(have ...bool) []cluster.NodeInfo {
		var ns []cluster.NodeInfo
		for i, h := range have {
			n := cluster.NodeInfo{ID: []string{"n1", "n2", "n3"}[i], Modules: []string{"other"}}
			if h {
				n.Modules = append(n.Modules, "abc")
			}
			ns = append(ns, n)
		}
		return ns
	}

	t.Run("quick load: the summary alone", func(t *testing.T) {
		out := &displays{}
		p := newLoadProgress(out, "abc", 3000, t0)
		p.finish("m: 1 export · ready on 2 nodes", t0.Add(5*time.Millisecond))
		got := texts(out)
		if len(got) != 1 || got[0] != (shown{"m: 1 export · ready on 2 nodes", "", false}) {
			t.Errorf("displays %+v", got)
		}
	})

	t.Run("slow load: one display updated in place, then the summary", func(t *testing.T) {
		out := &displays{}
		p := newLoadProgress(out, "abc", 2<<20, t0)
		p.show(nodes(false, false), t0.Add(100*time.Millisecond))
		p.show(nodes(true, false), t0.Add(350*time.Millisecond))
		p.finish("m: 1 export · ready on 2 nodes", t0.Add(1200*time.Millisecond))
		got := texts(out)
		want := []shown{
			{"shipping 2.0 MiB to 2 nodes · 0/2 ready (n1 …, n2 …) · 100 ms", p.id, false},
			{"shipping 2.0 MiB to 2 nodes · 1/2 ready (n1 ✓, n2 …) · 350 ms", p.id, true},
			{"m: 1 export · ready on 2 nodes\nshipped 2.0 MiB to 2 nodes in 1.2 s", p.id, true},
		}
		if !strings.HasPrefix(p.id, "load-") || len(got) != len(want) {
			t.Fatalf("displays %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("display %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("failed load replaces a shown display", func(t *testing.T) {
		out := &displays{}
		p := newLoadProgress(out, "abc", 2048, t0)
		p.fail(t0)
		if len(out.got) != 0 {
			t.Errorf("a failure before the display showed: %+v", out.got)
		}
		p.show(nodes(true), t0.Add(100*time.Millisecond))
		p.fail(t0.Add(time.Second))
		got := texts(out)
		if len(got) != 2 || !got[1].update || !strings.Contains(got[1].text, "shipping 2.0 KiB to 1 node · failed after") {
			t.Errorf("displays %+v", out.got)
		}
	})
}

// TestLoadShowsProgress loads a module on 2 real nodes with the display due at once: it
// shows, and the summary replaces it.
func TestLoadShowsProgress(t *testing.T) {
	s := online(t, 2)
	s.loadShowAfter = time.Nanosecond
	out := &displays{}
	if _, err := s.Exec(t.Context(), "%load hello.wasm as h", out); err != nil {
		t.Fatal(err)
	}
	got := texts(out)
	if len(got) < 2 {
		t.Fatalf("displays %+v", got)
	}
	first, last := got[0], got[len(got)-1]
	if first.id == "" || first.update || !strings.HasPrefix(first.text, "shipping 32.7 KiB to 2 nodes · ") {
		t.Errorf("first display %+v", first)
	}
	if last.id != first.id || !last.update || !strings.HasPrefix(last.text, "h: ") || !strings.Contains(last.text, "ready on 2 nodes\nshipped 32.7 KiB to 2 nodes in ") {
		t.Errorf("last display %+v", last)
	}
}
