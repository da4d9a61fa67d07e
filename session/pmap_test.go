package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// withAdd is an offline session with a module m exporting add(i32, i32) (i32): enough to check
// pmap's arguments, not to run it.
func withAdd(t *testing.T) *Session {
	s := offline(t)
	m := s.newModule("m", nil, &wasm.Info{SHA256: strings.Repeat("0", 64), Exports: []wasm.Func{
		{Name: "add", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, Results: []api.ValueType{api.ValueTypeI32}},
	}})
	s.globals["m"] = m
	return s
}

func TestPmapArguments(t *testing.T) {
	tests := []struct{ code, value string }{
		{"pmap(1, [1])", "pmap: first argument must be a Wasm function, got int"},
		{"pmap(m.add)", "pmap: missing argument for inputs"},
		{"pmap(m.add, 3)", "pmap: inputs must be iterable, got int"},
		{"pmap(m.add, [(1, 2), 3])", "pmap: input 1: m.add(i32, i32) -> i32 takes 2 arguments, got 1"},
		{"pmap(m.add, [(1, 'x')])", "pmap: input 0: m.add"},
		{"pmap(m.add, [], chunk=0)", "pmap: chunk must be a positive int or None, got 0"},
		{"pmap(m.add, [], retries=-1)", "pmap: retries must be 0 or more, got -1"},
		{"pmap(m.add, [], nope=1)", "pmap: unexpected keyword argument \"nope\""},
		{"pmap(m.add, [(1, 2)])", "pmap: no cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s := withAdd(t)
			_, err := s.Exec(context.Background(), tt.code, &recorder{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			if !strings.Contains(e.Value, tt.value) || strings.Contains(e.Value, "\n") {
				t.Errorf("got %q, want …%s… on one line", e.Value, tt.value)
			}
		})
	}
}

func TestMapResultValue(t *testing.T) {
	s := withAdd(t)
	f, _ := s.globals["m"].(*Module).Attr("add")
	began := time.Now()
	at := func(ms int) time.Time { return began.Add(time.Duration(ms) * time.Millisecond) }
	r := &cluster.MapResult{Began: began, Elapsed: 10 * time.Millisecond, Chunk: 1, Retried: 1, Failed: 1, Tasks: []cluster.Result{
		{Values: []uint64{3}, Node: "a", Submitted: at(0), Started: at(1), Finished: at(5), Received: at(6)},
		{Node: "b", Err: errors.New("boom"), Retries: 1},
		{Values: []uint64{7}, Node: "b", Submitted: at(0), Started: at(2), Finished: at(8), Received: at(9)},
	}}
	s.globals["r"] = newMapResult(f.(*Function), r, nil)
	for code, want := range map[string]string{
		"list(r)":                  "[3, None, 7]",
		"len(r)":                   "3",
		"r[2]":                     "7",
		"r.retried":                "1",
		"r.chunk":                  "1",
		"r.errors":                 `{1: "boom"}`,
		"r.tasks[0]['node']":       `"a"`,
		"r.tasks[0]['started']":    "0.001",
		"r.tasks[1]['retries']":    "1",
		"r.per_node['b']['tasks']": "2",
		"int(r.busy * 10)":         "10",
	} {
		v, err := s.Exec(context.Background(), code, &recorder{})
		if err != nil {
			t.Errorf("%s: %v", code, err)
			continue
		}
		if got := v.(starlark.Value).String(); got != want {
			t.Errorf("%s = %s, want %s", code, got, want)
		}
	}
	b := s.globals["r"].(*MapResult).Show()
	if !strings.Contains(b["text/plain"].(string), "3 tasks on 2 nodes") || !strings.Contains(b["text/html"].(string), "<table") {
		t.Errorf("Show() = %v", b)
	}
}

func TestBarLine(t *testing.T) {
	got := barLine(cluster.MapProgress{Done: 512, Total: 1024, Nodes: 2, Elapsed: 400 * time.Millisecond})
	want := "━━━━━━━━━━────────── 512/1024 · 2 nodes · 1.3k calls/s · ETA"
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "· 0 retried") {
		t.Errorf("bar %q, want %q…", got, want)
	}
}

// A map whose progress bar ended with its summary, shown as its cell's value, leaves the summary
// out below the bar; assigned, and shown by a later cell, it has it.
func TestMapResultBelowBar(t *testing.T) {
	s := withAdd(t)
	f, _ := s.globals["m"].(*Module).Attr("add")
	s.globals["mapped"] = starlark.NewBuiltin("mapped", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		r := &cluster.MapResult{Chunk: 1, Elapsed: time.Millisecond, Tasks: []cluster.Result{{Values: []uint64{3}, Node: "a"}}}
		m := newMapResult(f.(*Function), r, nil)
		if args[0] == starlark.True { // its progress bar ended with its summary
			m.summedIn = thread
		}
		return m, nil
	})
	for _, tc := range []struct {
		cells   []string // the last one's value is shown
		summary bool
	}{
		{[]string{"mapped(True)"}, false},
		{[]string{"mapped(False)"}, true},
		{[]string{"r = mapped(True)", "r"}, true},
		{[]string{"[mapped(True)][0]"}, false},
	} {
		var v starlark.Value
		for _, code := range tc.cells {
			var err error
			if v, err = s.Exec(context.Background(), code, &recorder{}); err != nil {
				t.Fatal(err)
			}
		}
		text := v.(interface{ Show() display.Bundle }).Show()["text/plain"].(string)
		if got := strings.Contains(text, "1 tasks on") || strings.Contains(text, "1 task on"); got != tc.summary || !strings.HasSuffix(text, "[3]") {
			t.Errorf("%v: shown as %q: summary %v, want %v", tc.cells, text, got, tc.summary)
		}
	}
}
