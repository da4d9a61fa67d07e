package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero/api"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// offline is a session with no cluster: enough for the language, not for Wasm calls.
func offline(t *testing.T) *Session {
	t.Helper()
	s := &Session{opts: options{workDir: "testdata"}, modules: map[string]*Module{}, insp: newInspector(), compiler: newCompiler(t.TempDir())}
	s.magics = s.newMagics()
	s.builtin = s.newBuiltins()
	s.globals = starlark.StringDict{}
	for k, v := range s.builtin {
		s.globals[k] = v
	}
	return s
}

// bindExample binds name, in an offline session, to a module of examples/ decoded and
// described the way Session.load does it, and returns it.
func bindExample(t *testing.T, s *Session, name, file string) *Module {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("..", "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := wasm.Decode(bin)
	if err != nil {
		t.Fatal(err)
	}
	info, err := mod.Describe()
	if err != nil {
		t.Fatal(err)
	}
	m := s.newModule(name, mod, info)
	s.globals[name] = m
	return m
}

// recorder is an Output that keeps what a cell printed.
type recorder struct {
	mu       sync.Mutex
	stdout   strings.Builder
	displays []display.Bundle
	input    string
}

func (r *recorder) Stream(name, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "stdout" {
		r.stdout.WriteString(text)
	}
}
func (r *recorder) Display(b display.Bundle, id string, update bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.displays = append(r.displays, b)
}
func (r *recorder) Clear(bool) {}
func (r *recorder) Input(prompt string, password bool) (string, error) {
	if r.input == "" {
		return "", ErrNoStdin
	}
	return r.input, nil
}

func TestExecStarlark(t *testing.T) {
	tests := []struct {
		name, setup, code, want, stdout string
	}{
		{"expression", "", "1 + 2", "3", ""},
		{"last expression of many", "", "x = 20\ny = 22\nx + y", "42", ""},
		{"statement only", "", "z = 1", "", ""},
		{"None is not shown", "", "None", "", ""},
		{"def and call", "", "def f(n):\n    return n * 2\nf(21)", "42", ""},
		{"comprehension", "", "[i * i for i in range(4)]", "[0, 1, 4, 9]", ""},
		{"while loop", "", "i = 0\nwhile i < 5:\n    i += 1\ni", "5", ""},
		{"print", "", "print('hi')", "", "hi\n"},
		{"time magic gives the value", "", "%time 6 * 7", "42", "Wall time:"},
		{"magic on the right of =", "", "v = %time 2 + 2\nv", "4", "Wall time:"},
		{"an assignment timed", "", "%time w = 3 * 3\nw", "9", "Wall time:"},
		{"assignments timed", "", "%time a, b = 1, 2 == 2\n[a, b]", "[1, True]", "Wall time:"},
		{"a comparison timed", "", "%time 1 == 1", "True", "Wall time:"},
		{"magic inside a loop", "", "for i in range(2):\n    %time i", "", "Wall time:"},
		{"timeit", "", "%timeit -n 2 -r 3 1 + 1", "", "per loop (mean ± std. dev. of 3 runs, 2 loops each)"},
		{"who", "alpha = 1\nbeta = 2", "%who", "", "alpha\tbeta"},
		{"help index", "", "%help", "magic", ""},
		{"help on a magic", "", "%help load", "%load PATH [as NAME]", ""},
		{"question mark", "", "%load?", "%load PATH [as NAME]", ""},
		{"input", "", "input('name? ')", `"Ada"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := offline(t)
			out := &recorder{input: "Ada"}
			if _, err := s.Exec(context.Background(), tt.setup, out); err != nil {
				t.Fatalf("setup: %v", err)
			}
			v, err := s.Exec(context.Background(), tt.code, out)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			got := ""
			if v != nil {
				got = display.Of(v).Text()
			}
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("value %q, want %q", got, tt.want)
			}
			if !strings.Contains(out.stdout.String(), tt.stdout) {
				t.Errorf("stdout %q, want %q", out.stdout.String(), tt.stdout)
			}
		})
	}
}

func TestExecKeepsStateAfterError(t *testing.T) {
	s := offline(t)
	ctx := context.Background()
	if _, err := s.Exec(ctx, "kept = 7", &recorder{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "kept = kept + undefined_name", &recorder{}); err == nil {
		t.Fatal("want an error")
	}
	v, err := s.Exec(ctx, "kept", &recorder{})
	if err != nil || v.String() != "7" {
		t.Fatalf("kept = %v, %v", v, err)
	}
}

func TestExecInterruptsStarlarkLoop(t *testing.T) {
	s := offline(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := s.Exec(ctx, "while True:\n    pass", &recorder{})
		done <- err
	}()
	cancel()
	err := <-done
	var e *Error
	if !errors.As(err, &e) || e.Name != "Interrupted" {
		t.Fatalf("want Interrupted, got %v", err)
	}
}

func TestIsComplete(t *testing.T) {
	tests := []struct{ code, status, indent string }{
		{"1 + 2", "complete", ""},
		{"", "complete", ""},
		{"def f(x):", "incomplete", "    "},
		{"def f(x):\n    return x", "incomplete", "    "},
		{"def f(x):\n    return x\n", "complete", ""},
		{"for i in range(3):\n    if i:", "incomplete", "        "},
		{"x = (1,\n", "incomplete", ""},
		{"[1, 2", "incomplete", ""},
		{"%%wat m", "incomplete", ""},
		{"%%wat m\n(module)", "incomplete", ""},
		{"%%wat m\n(module)\n", "complete", ""},
		{"%load examples/basics.wasm", "complete", ""},
		{"x = = 1", "invalid", ""},
		{"%nosuchmagic", "invalid", ""},
	}
	s := offline(t)
	for _, tt := range tests {
		status, indent := s.IsComplete(tt.code)
		if status != tt.status || indent != tt.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", tt.code, status, indent, tt.status, tt.indent)
		}
	}
}

func TestComplete(t *testing.T) {
	s := offline(t)
	if _, err := s.Exec(context.Background(), "alpha = 1\nalphabet = 2", &recorder{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		code       string
		want       string
		start, end int
	}{
		{"alp", "alphabet", 0, 3},
		{"x = alp", "alpha", 4, 7},
		{"%ti", "%timeit", 0, 3},
		{"%%w", "%%wat", 0, 3},
		{"%load mod", "modules/", 6, 9},
		{"%load modules/ti", "modules/tiny.wasm", 6, 16},
		{"prin", "print", 0, 4},
		{"wh", "while", 0, 2},
	}
	for _, tt := range tests {
		matches, start, end := s.Complete(tt.code, len(tt.code))
		found := false
		for _, m := range matches {
			found = found || m == tt.want
		}
		if !found || start != tt.start || end != tt.end {
			t.Errorf("Complete(%q) = %v [%d:%d]; want %q in [%d:%d]", tt.code, matches, start, end, tt.want, tt.start, tt.end)
		}
	}
}

func TestSplitCells(t *testing.T) {
	src := "a = 1\n# %%\n%%wat m\n(module)\n# %% second\nb = 2\n"
	cells := SplitCells(src)
	if len(cells) != 3 {
		t.Fatalf("got %d cells: %q", len(cells), cells)
	}
	if cells[1] != "\n\n%%wat m\n(module)" {
		t.Errorf("cell 2 = %q: want the %%%%wat line padded to its line number", cells[1])
	}
	if !strings.HasPrefix(cells[2], "\n\n\n\n\nb = 2") {
		t.Errorf("cell 3 = %q", cells[2])
	}
}

// Results from a node are decoded by the function's signature; an answer with too few values
// (a malformed message) gives None instead of crashing the session.
func TestDecodeResults(t *testing.T) {
	i32, f64 := api.ValueTypeI32, api.ValueTypeF64
	for _, tt := range []struct {
		types []api.ValueType
		raw   []uint64
		want  string
	}{
		{nil, nil, "None"},
		{[]api.ValueType{i32}, []uint64{api.EncodeI32(-3)}, "-3"},
		{[]api.ValueType{i32, f64}, []uint64{7, api.EncodeF64(0.5)}, "(7, 0.5)"},
		{[]api.ValueType{i32}, nil, "None"},
		{[]api.ValueType{i32, f64}, []uint64{7}, "None"},
	} {
		if got := decodeResults(tt.types, tt.raw).String(); got != tt.want {
			t.Errorf("decodeResults(%v, %v) = %s, want %s", tt.types, tt.raw, got, tt.want)
		}
	}
}
