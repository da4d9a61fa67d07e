package wasm

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	objdumpFunc  = regexp.MustCompile(`^[0-9a-f]+ func\[(\d+)\]`)
	objdumpInstr = regexp.MustCompile(`^ [0-9a-f]+: [0-9a-f ]*\|\s*\S`) // not a continuation of long immediates
)

// objdumpInstrs lists the mnemonics wasm-objdump -d gives for each defined function.
func objdumpInstrs(t *testing.T, path string) map[int][]string {
	t.Helper()
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wasm-objdump not found: CI must install wabt (scripts/install-deps)")
		}
		t.Skip("wasm-objdump not found: install wabt to compare instruction counts with it")
	}
	out, err := exec.Command(objdump, "-d", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int][]string{}
	cur := -1
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if sub := objdumpFunc.FindStringSubmatch(line); sub != nil {
			cur, _ = strconv.Atoi(sub[1])
			counts[cur] = []string{}
		} else if cur >= 0 && objdumpInstr.MatchString(line) && !strings.Contains(line, "| local[") {
			_, text, _ := strings.Cut(line, "|")
			counts[cur] = append(counts[cur], strings.Fields(text)[0])
		}
	}
	return counts
}

// TestMetricsMatchObjdump checks instruction counts against wasm-objdump -d on every example
// and on clang output with SIMD (testdata/simd.wasm), and that every body is walked to its end.
func TestMetricsMatchObjdump(t *testing.T) {
	paths := []string{filepath.Join("testdata", "simd.wasm")}
	for _, name := range examples {
		paths = append(paths, filepath.Join("..", "examples", name+".wasm"))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if strings.Contains(path, "gowasm") && testing.Short() {
				t.Skip("-short: objdump -d of gowasm takes seconds")
			}
			bin, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(bin)
			if err != nil {
				t.Fatal(err)
			}
			a := Analyze(m)
			want := objdumpInstrs(t, path)
			bad := 0
			for i, fm := range a.Funcs {
				if fm.Err != nil {
					t.Errorf("func[%d] %s: %v", i, m.Funcs[i].Name, fm.Err)
				}
				if fm.Imported {
					continue
				}
				if fm.Bytes != m.Funcs[i].Size {
					t.Errorf("func[%d]: %d bytes, the body has %d", i, fm.Bytes, m.Funcs[i].Size)
				}
				if w, ok := want[i]; !ok || len(w) != fm.Instrs {
					if bad++; bad <= 10 {
						t.Errorf("func[%d] %s: %d instructions, objdump -d lists %d", i, m.Funcs[i].Name, fm.Instrs, len(w))
					}
				} else if len(bin) < 1<<20 { // and the same mnemonics, where that is quick
					ins, _ := m.Disassemble(uint32(i), 0)
					for k, in := range ins {
						if op := strings.Fields(in.Text)[0]; op != w[k] {
							t.Errorf("func[%d] instruction %d: %s, objdump -d says %s", i, k, op, w[k])
							break
						}
					}
				}
			}
			if bad > 10 {
				t.Errorf("… %d functions differ", bad)
			}
			if len(want) == 0 {
				t.Error("objdump -d lists no function")
			}
		})
	}
}

// assemble turns WebAssembly text into a binary with wat2wasm (all features enabled).
func assemble(t testing.TB, wat string) []byte {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wat2wasm not found: CI must install wabt (scripts/install-deps)")
		}
		t.Skip("wat2wasm not found: install wabt")
	}
	dir := t.TempDir()
	src, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(src, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(tool, "--enable-all", "--debug-names", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// metricsModule is a module whose every function has figures known by hand.
const metricsModule = `(module
  (import "env" "log" (func $log (param i32)))
  (type $pair (func (result i32 i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $in_table)
  ;; local.get, i32.const, i32.add, end
  (func $leaf (export "leaf") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add)
  ;; loop, block, loop, br 1, end, end, end, end; two loops nested
  (func $loops (export "loops") (local i32 i64 i64)
    (loop (block (loop (br 1)))))
  ;; 3 direct calls to 2 callees, 1 indirect
  (func $caller (export "caller")
    (call $leaf (i32.const 1)) drop
    (call $leaf (i32.const 2)) drop
    (call $log (i32.const 3))
    (call_indirect (param i32) (i32.const 4) (i32.const 0)))
  ;; mutual recursion: $even and $odd; $start_here calls into it without being on the cycle
  (func $even (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
      (else (call $odd (i32.sub (local.get 0) (i32.const 1))))))
  (func $odd (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (call $even (i32.sub (local.get 0) (i32.const 1))))))
  (func $self (param i32) (result i32) (return_call $self (local.get 0)))
  (func $start_here (export "parity") (param i32) (result i32)
    (drop (call $self (local.get 0)))
    (call $even (local.get 0)))
  ;; memory: 2 loads (i32.load, v128.load), 3 stores (i64.store, v128.store, an atomic store)
  ;; and memory.copy, v128.const, i8x16.shuffle, a lane, a saturating truncation, sign extension
  (func $memory (export "memory") (param i32)
    (drop (i32.load offset=4 (local.get 0)))
    (i64.store (local.get 0) (i64.const -1))
    (memory.copy (i32.const 0) (i32.const 8) (i32.const 8))
    (v128.store (local.get 0)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        (v128.load (local.get 0)) (v128.const i32x4 1 2 3 4)))
    (drop (i32x4.extract_lane 3 (v128.const i64x2 0 0)))
    (drop (i32.trunc_sat_f32_s (f32.const 1.5)))
    (drop (i64.extend32_s (i64.const 7)))
    (i32.atomic.store (local.get 0) (i32.const 1)))
  ;; a multi-value block with a type index, and a typed select
  (func $multi (export "multi") (result i32)
    (block (type $pair) (result i32 i32) (i32.const 1) (i32.const 2)) i32.add
    (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)) i32.add)
  (func $in_table (param i32))
  (func $dead (call $dead_callee))
  (func $dead_callee)
)`

func TestAnalyze(t *testing.T) {
	bin := assemble(t, metricsModule)
	m, err := Decode(bin)
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(m)
	path := filepath.Join(t.TempDir(), "m.wasm")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, ops := range objdumpInstrs(t, path) {
		if a.Funcs[i].Instrs != len(ops) {
			t.Errorf("func[%d] %s: %d instructions, objdump -d lists %d", i, m.Funcs[i].Name, a.Funcs[i].Instrs, len(ops))
			continue
		}
		ins, _ := m.Disassemble(uint32(i), 0)
		for k, in := range ins {
			if op := strings.Fields(in.Text)[0]; op != ops[k] {
				t.Errorf("func[%d] instruction %d: %s, objdump -d says %s", i, k, op, ops[k])
			}
		}
	}
	byName := map[string]*FuncMetrics{}
	for i := range a.Funcs {
		if a.Funcs[i].Err != nil {
			t.Errorf("%s: %v", m.Funcs[i].Name, a.Funcs[i].Err)
		}
		byName[m.Funcs[i].Name] = &a.Funcs[i]
	}
	tests := []struct {
		name                            string
		instrs, locals, loops, depth    int
		direct, indirect, loads, stores int
		leaf, recursive, reachable      bool
		callees                         []string
	}{
		{name: "log", leaf: false, reachable: true},
		{name: "leaf", instrs: 4, leaf: true, reachable: true},
		{name: "loops", instrs: 8, locals: 3, loops: 2, depth: 2, leaf: true, reachable: true},
		{name: "caller", instrs: 12, direct: 3, indirect: 1, reachable: true, callees: []string{"leaf", "log"}},
		{name: "even", instrs: 11, direct: 1, recursive: true, reachable: true, callees: []string{"odd"}},
		{name: "odd", instrs: 11, direct: 1, recursive: true, reachable: true, callees: []string{"even"}},
		{name: "self", instrs: 3, direct: 1, recursive: true, reachable: true, callees: []string{"self"}},
		{name: "start_here", instrs: 6, direct: 2, reachable: true, callees: []string{"self", "even"}},
		{name: "memory", instrs: 29, loads: 2, stores: 3, leaf: true, reachable: true},
		{name: "multi", instrs: 11, leaf: true, reachable: true},
		{name: "in_table", instrs: 1, leaf: true, reachable: true},
		{name: "dead", instrs: 2, direct: 1, callees: []string{"dead_callee"}},
		{name: "dead_callee", instrs: 1, leaf: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := byName[tt.name]
			if fm == nil {
				t.Fatalf("no function %s", tt.name)
			}
			if tt.name == "log" {
				if !fm.Imported || fm.Instrs != 0 || fm.Bytes != 0 {
					t.Errorf("imported: %+v", fm)
				}
				return
			}
			got := []int{fm.Instrs, fm.Locals, fm.Loops, fm.LoopDepth, fm.DirectCalls, fm.IndirectCalls, fm.Loads, fm.Stores}
			want := []int{tt.instrs, tt.locals, tt.loops, tt.depth, tt.direct, tt.indirect, tt.loads, tt.stores}
			if !slices.Equal(got, want) {
				t.Errorf("instrs, locals, loops, depth, direct, indirect, loads, stores = %v, want %v", got, want)
			}
			if fm.Leaf != tt.leaf || fm.Recursive != tt.recursive || fm.Reachable != tt.reachable {
				t.Errorf("leaf %v recursive %v reachable %v, want %v %v %v", fm.Leaf, fm.Recursive, fm.Reachable, tt.leaf, tt.recursive, tt.reachable)
			}
			var callees []string
			for _, c := range fm.Callees {
				callees = append(callees, m.Funcs[c].Name)
			}
			if !slices.Equal(callees, tt.callees) {
				t.Errorf("callees %v, want %v", callees, tt.callees)
			}
			if fm.Bytes != m.Funcs[fm.Index].Size {
				t.Errorf("bytes %d, body %d", fm.Bytes, m.Funcs[fm.Index].Size)
			}
		})
	}
	// Retained sizes: parity dominates self (only it calls self); even and odd are reachable
	// only through parity too, each through the other: parity retains all four.
	size := func(n string) int { return byName[n].Bytes }
	if got, want := byName["start_here"].Retained, size("start_here")+size("self")+size("even")+size("odd"); got != want {
		t.Errorf("parity retains %d bytes, want %d", got, want)
	}
	if got, want := byName["even"].Retained, size("even")+size("odd"); got != want {
		t.Errorf("even retains %d bytes, want %d (odd is only reached through it)", got, want)
	}
	if got, want := byName["caller"].Retained, size("caller"); got != want {
		t.Errorf("caller retains %d, want %d: leaf is exported, so not only caller's", got, want)
	}
	if got := byName["dead"].Retained; got != size("dead") {
		t.Errorf("an unreachable function retains %d, want its own %d", got, size("dead"))
	}
	if cs := a.Callers[byName["even"].Index]; len(cs) != 2 {
		t.Errorf("even has callers %v, want odd and parity", cs)
	}
}

func TestDisassemble(t *testing.T) {
	m, err := Decode(example(t, "basics"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := m.Disassemble(0, 0) // fib
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, in := range ins {
		texts = append(texts, strings.Repeat("  ", in.Depth)+in.Text)
	}
	want := []string{"local.get 0", "i32.const 2", "i32.lt_s", "if i32", "  local.get 0", "else",
		"  local.get 0", "  i32.const 1", "  i32.sub", "  call 0 <fib>", "  local.get 0", "  i32.const 2",
		"  i32.sub", "  call 0 <fib>", "  i32.add", "end", "end"}
	if !slices.Equal(texts, want) {
		t.Errorf("fib disassembles as\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if ins[0].Offset != 0xe8 {
		t.Errorf("first instruction at 0x%x, objdump says 0xe8", ins[0].Offset)
	}
	if ins, _ := m.Disassemble(0, 3); len(ins) != 3 {
		t.Errorf("Disassemble(0, 3) gives %d instructions", len(ins))
	}
	if _, err := m.Disassemble(uint32(len(m.Funcs)), 0); err == nil {
		t.Error("no error for a function out of range")
	}
}

// BenchmarkAnalyzeGowasm decodes and analyses the 2.6 MB Go-built example.
func BenchmarkAnalyzeGowasm(b *testing.B) {
	bin := example(b, "gowasm")
	b.SetBytes(int64(len(bin)))
	for b.Loop() {
		m, err := Decode(bin)
		if err != nil {
			b.Fatal(err)
		}
		Analyze(m)
	}
}

// FuzzMetrics analyses and disassembles whatever decodes: nothing may panic, and the figures
// stay within what the bodies allow.
func FuzzMetrics(f *testing.F) {
	f.Fuzz(func(t *testing.T, bin []byte) {
		m, err := Decode(bin)
		if err != nil {
			return
		}
		a := Analyze(m)
		for i, fm := range a.Funcs {
			fn := &m.Funcs[i]
			if fm.Instrs > len(fn.Code) || fm.Retained < fm.Bytes || fm.LoopDepth > fm.Loops {
				t.Fatalf("func[%d]: %+v for %d bytes of code", i, fm, len(fn.Code))
			}
			if !fn.Imported() {
				m.Disassemble(uint32(i), 20)
			}
		}
		if len(a.Funcs) <= 64 {
			checkRetained(t, a)
		}
	})
}

// bruteRetained is the retained size by definition: the bytes of v and of everything that is
// no longer reachable from the roots once v is taken away.
func bruteRetained(a *Metrics, v uint32) int {
	reach := func(skip int) []bool {
		seen := make([]bool, len(a.Funcs))
		var stack []uint32
		for _, r := range a.Roots {
			if int(r) != skip && !seen[r] {
				seen[r] = true
				stack = append(stack, r)
			}
		}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, list := range [][]uint32{a.Funcs[u].Callees, a.Funcs[u].Refs} {
				for _, w := range list {
					if int(w) != skip && !seen[w] {
						seen[w] = true
						stack = append(stack, w)
					}
				}
			}
		}
		return seen
	}
	all, without := reach(-1), reach(int(v))
	if !all[v] {
		return a.Funcs[v].Bytes
	}
	sum := 0
	for i := range a.Funcs {
		if all[i] && !without[i] {
			sum += a.Funcs[i].Bytes
		}
	}
	return sum
}

func checkRetained(t *testing.T, a *Metrics) {
	t.Helper()
	for i := range a.Funcs {
		if want := bruteRetained(a, uint32(i)); a.Funcs[i].Retained != want {
			t.Fatalf("func[%d] retains %d bytes, by definition %d", i, a.Funcs[i].Retained, want)
		}
	}
}

func TestRetainedByDefinition(t *testing.T) {
	for _, name := range []string{"basics", "mandelbrot", "primes", "hello"} {
		t.Run(name, func(t *testing.T) {
			m, err := Decode(example(t, name))
			if err != nil {
				t.Fatal(err)
			}
			checkRetained(t, Analyze(m))
		})
	}
	t.Run("metrics module", func(t *testing.T) {
		m, err := Decode(assemble(t, metricsModule))
		if err != nil {
			t.Fatal(err)
		}
		checkRetained(t, Analyze(m))
	})
}
