package session

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/wasm"
)

// exampleAnalysis decodes and analyses examples/name.wasm.
func exampleAnalysis(t *testing.T, name string) *analysis {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("..", "examples", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAnalysis(t, bin)
}

// decodeAnalysis decodes and analyses a module.
func decodeAnalysis(t *testing.T, bin []byte) *analysis {
	t.Helper()
	m, err := wasm.Decode(bin)
	if err != nil {
		t.Fatal(err)
	}
	return analyse(m)
}

// noNames is a module without a name section: wat2wasm drops names unless --debug-names.
func noNames(t *testing.T) []byte {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not found: install wabt")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.wat")
	os.WriteFile(src, []byte(`(module
  (import "env" "ext" (func $ext (param i32)))
  (func $helper (param i32) (result i32) (call $ext (local.get 0)) (local.get 0))
  (func (export "run") (param i32) (result i32) (call $helper (local.get 0))))`), 0o644)
	if out, err := exec.Command(tool, src, "-o", filepath.Join(dir, "m.wasm")).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "m.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestInspectTable(t *testing.T) {
	tests := []struct {
		name, module string
		opt          inspectOptions
		rows         int
		first        string // the first row's function column
		note, err    string
	}{
		{name: "small module: every function", module: "basics", opt: inspectOptions{sort: "index", limit: 50}, rows: 15, first: "fib"},
		{name: "sorted by bytes", module: "hello", opt: inspectOptions{sort: "bytes", all: true, limit: 5}, rows: 5, first: "printf_core", note: "rows 1–5 of 89"},
		{name: "big module: exports only", module: "gowasm", opt: inspectOptions{sort: "index", limit: 50}, note: "internal and imported functions hidden (only exports are listed above 40 functions): inspect(m, all=True)"},
		{name: "big module, all, paged", module: "gowasm", opt: inspectOptions{sort: "retained", all: true, limit: 50, start: 50}, rows: 50,
			note: `rows 51–100 of 1788: inspect(m, sort="retained", all=True, start=100) for the next`},
		{name: "unknown sort", module: "basics", opt: inspectOptions{sort: "speed"}, err: `cannot sort by "speed": choose one of index, name, bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := exampleAnalysis(t, tt.module)
			tab, err := a.table("m", tt.opt)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.rows > 0 && len(tab.Rows) != tt.rows {
				t.Errorf("%d rows, want %d", len(tab.Rows), tt.rows)
			}
			if tt.first != "" && (len(tab.Rows) == 0 || tab.Rows[0][1] != tt.first) {
				t.Errorf("first row %v, want %s", tab.Rows[0], tt.first)
			}
			if !strings.Contains(tab.Note, tt.note) {
				t.Errorf("note %q, want it to hold %q", tab.Note, tt.note)
			}
			for _, r := range tab.Rows {
				if len(r) != len(tab.Headers) {
					t.Fatalf("row %v for %d headers", r, len(tab.Headers))
				}
			}
		})
	}
	// Exports only: as many rows as exported functions, each flagged so.
	a := exampleAnalysis(t, "gowasm")
	tab, _ := a.table("gw", inspectOptions{sort: "index", limit: 0})
	if len(tab.Rows) == 0 || len(tab.Rows) >= 40 {
		t.Errorf("gowasm lists %d functions by default", len(tab.Rows))
	}
	for _, r := range tab.Rows {
		if !strings.Contains(r[len(r)-1], "export") {
			t.Errorf("%v: not an export", r)
		}
	}
	// Sorted by retained size, the largest comes first.
	tab, _ = a.table("gw", inspectOptions{sort: "retained", all: true, limit: 3})
	if tab.Rows[0][12] < tab.Rows[1][12] && len(tab.Rows[0][12]) <= len(tab.Rows[1][12]) {
		t.Errorf("not sorted by retained: %v", tab.Rows)
	}
}

func TestInspectFunc(t *testing.T) {
	basics := exampleAnalysis(t, "basics")
	hello := exampleAnalysis(t, "hello")
	plain := decodeAnalysis(t, noNames(t))
	tests := []struct {
		name string
		a    *analysis
		fn   string
		n    int
		want []string // in the text
		err  string
	}{
		{name: "recursive", a: basics, fn: "fib", n: 40, want: []string{"fib (i32) -> i32 · m func[0]", "recursive",
			"callers    fib", "callees    fib", "▶ fib (recursive)", "0000e8: local.get 0", "000102: end"}},
		{name: "first n instructions", a: basics, fn: "fib", n: 3, want: []string{"first 3 of 17 instructions: inspect(m, func=\"fib\", n=17)"}},
		{name: "imported", a: hello, fn: "func[0]", want: []string{"imported", "no body"}},
		{name: "no name section", a: plain, fn: "run", want: []string{"run (i32) -> i32 · m func[2]", "callees    func[1]", "└─ func[0] (import)"}},
		{name: "by index", a: plain, fn: "1", want: []string{"callers    run", "func[1] (i32) -> i32"}},
		{name: "by func[N]", a: plain, fn: "func[0]", want: []string{"imported", "env.ext: no body"}},
		{name: "unknown", a: basics, fn: "nope", err: `module m has no function "nope": %inspect m lists them`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := tt.a.lookup("m", tt.fn)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := tt.a.funcDetail("m", i, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			text := d.plain()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in\n%s", w, text)
				}
			}
			// The call graph: as SVG and PNG, and in the HTML as a <picture> of both (see
			// display.Chart.HTML), which survives a notebook's export.
			b := d.Show()
			svg, _ := b["image/svg+xml"].(string)
			name := tt.a.funcName(i)
			if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, ">"+name[:min(len(name), 12)]) { // long names are cut
				t.Errorf("no call graph of %s in the SVG: %.200s", name, svg)
			}
			if png, _ := b["image/png"].(string); !strings.HasPrefix(png, "iVBORw0KGgo") { // "\x89PNG\r\n\x1a\n"
				t.Errorf("no PNG in the bundle: %.40q", png)
			}
			if h := b["text/html"].(string); !strings.Contains(h, `<picture><source srcset="data:image/svg+xml;base64,`) || !strings.Contains(h, `<img src="data:image/png;base64,`) {
				t.Errorf("no picture of the call graph in the HTML")
			}
		})
	}
}

func TestTranslateInspect(t *testing.T) {
	tests := []struct{ args, lhs, want, err string }{
		{"m", "", `__rain_inspect(m)`, ""},
		{"m sort=bytes all limit=10", "t", `t = __rain_inspect(m, sort="bytes", all=True, limit=10)`, ""},
		{"gw.runtime.main n=5", "", `__rain_inspect(gw, func="runtime.main", n=5)`, ""},
		{"", "", "", "usage"},
		{"m limit=ten", "", "", `limit wants a number`},
		{"m colour=red", "", "", `unknown option "colour=red"`},
		{"1m", "", "", "not a module name"},
	}
	for _, tt := range tests {
		got, err := translateInspect(tt.args, tt.lhs)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
}

// TestInspectCell runs %inspect and inspect() in an offline session on a module loaded the
// way Session.load registers it (no nodes needed to inspect).
func TestInspectCell(t *testing.T) {
	s := offline(t)
	b := bindExample(t, s, "b", "basics.wasm")
	ctx := context.Background()
	s.globals["described"] = s.newModule("described", nil, b.info)
	if _, err := s.Exec(ctx, "%inspect described", &recorder{}); err == nil || !strings.Contains(err.Error(), "load it again") {
		t.Errorf("a module known by its description alone: %v", err)
	}
	tests := []struct{ code, want, err string }{
		{code: "%inspect b sort=bytes", want: "b: 15 functions"},
		{code: "inspect(b, limit=2)", want: "rows 1–2 of 15"},
		{code: "%inspect b.fib n=2", want: "▶ fib (recursive)"},
		{code: "inspect(b.fib)", want: "callees    fib"},
		{code: "%inspect b.nope", err: `module b has no function "nope": %inspect b lists them`},
		{code: "inspect(1)", err: "inspect wants a module"},
	}
	for _, tt := range tests {
		v, err := s.Exec(ctx, tt.code, &recorder{})
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
		if s := v.(starlark.Value).String(); !strings.Contains(s, tt.want) {
			t.Errorf("%s gives\n%s\nwant %q in it", tt.code, s, tt.want)
		}
	}
}
