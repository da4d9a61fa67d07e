package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// mandelbrotCells are the Mandelbrot row of examples/mandelbrot.c written in each language a
// cell can hold, with malloc and free as each magic's help shows them.
var mandelbrotCells = []struct {
	lang *language
	file string
}{
	{langC, "mandelbrot.c"},
	{langGo, "mandelbrot.go"},
	{langRust, "mandelbrot.rs"},
	{langTS, "mandelbrot.ts"},
}

// cellSource is a cell of testdata/cells.
func cellSource(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cells", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// needTools skips a test whose language's tools are not installed.
func needTools(t testing.TB, lang *language) {
	t.Helper()
	for _, tl := range lang.tools {
		if _, err := tl.find(); err != nil {
			t.Skipf("%v (scripts/install-deps installs it)", err)
		}
	}
}

// buildTimeout is long enough for a first Go build, which compiles Go's runtime for wasip1.
const buildTimeout = 5 * time.Minute

// wazeroModule instantiates bin on a runtime of its own, with WASI (a Go reactor imports it),
// running _initialize where the module has one.
func wazeroModule(t testing.TB, bin []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	m, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wcall(t testing.TB, m api.Module, fn string, args ...uint64) uint64 {
	t.Helper()
	f := m.ExportedFunction(fn)
	if f == nil {
		t.Fatalf("no export %s", fn)
	}
	res, err := f.Call(context.Background(), args...)
	if err != nil {
		t.Fatalf("%s%v: %v", fn, args, err)
	}
	if len(res) == 0 {
		return 0
	}
	return res[0]
}

// rowPixels fills a row through the module's allocator, as Rain passes an output array:
// malloc, write, row_pixels(y, p), read back, free. The 64 bytes past the row must stay as
// they were written.
func rowPixels(t testing.TB, m api.Module, y int) []byte {
	t.Helper()
	const n, guard = 1024, 64
	p := uint32(wcall(t, m, "malloc", n+guard))
	if !m.Memory().Write(p, bytes.Repeat([]byte{0xA5}, n+guard)) {
		t.Fatalf("malloc(%d) = %#x: not writable", n+guard, p)
	}
	wcall(t, m, "row_pixels", api.EncodeI32(int32(y)), uint64(p))
	b, ok := m.Memory().Read(p, n+guard)
	if !ok {
		t.Fatalf("reading the row at %#x", p)
	}
	b = bytes.Clone(b)
	if !bytes.Equal(b[n:], bytes.Repeat([]byte{0xA5}, guard)) {
		t.Errorf("row_pixels(%d) wrote past its row", y)
	}
	wcall(t, m, "free", uint64(p))
	return b[:n]
}

// Each language's Mandelbrot cell, built as its magic builds it and run on wazero directly,
// takes an output array through its own malloc and fills it as the C example does.
func TestCellLanguagesFillArrays(t *testing.T) {
	c := newCompiler(t.TempDir())
	t.Cleanup(c.close)
	ref, err := os.ReadFile(filepath.Join("..", "examples", "mandelbrot.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	cm := wazeroModule(t, ref)
	for _, cell := range mandelbrotCells {
		t.Run(cell.lang.magic, func(t *testing.T) {
			needTools(t, cell.lang)
			ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
			defer cancel()
			bin, err := c.build(ctx, cell.lang, cellSource(t, cell.file), nil)
			if err != nil {
				t.Fatalf("build: %v\n%s", err, strings.Join(cellError(err).Traceback, "\n"))
			}
			m := wazeroModule(t, bin)
			for _, y := range []int{0, 200, 512, 777, 1023} {
				arg := api.EncodeI32(int32(y))
				if got, want := api.DecodeI32(wcall(t, m, "row", arg)), api.DecodeI32(wcall(t, cm, "row", arg)); got != want {
					t.Errorf("row(%d) = %d, C's is %d", y, got, want)
				}
				if got, want := rowPixels(t, m, y), rowPixels(t, cm, y); !bytes.Equal(got, want) {
					t.Errorf("row_pixels(%d) differs from C's", y)
				}
			}
		})
	}
}

// buildRun runs a cell that builds a module (given buildTimeout) and must succeed, and
// returns its value's repr.
func buildRun(t *testing.T, s *Session, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	v, err := s.Exec(ctx, code, &recorder{})
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.SplitN(code, "\n", 2)[0], err, strings.Join(cellError(err).Traceback, "\n"))
	}
	if v == nil {
		return "None"
	}
	return v.String()
}

// A cell in each language is built, bound to its name and called on the nodes; an unchanged
// cell run again is not built again.
func TestCellMagics(t *testing.T) {
	s := online(t, 1)
	for _, cell := range mandelbrotCells {
		t.Run(cell.lang.magic, func(t *testing.T) {
			needTools(t, cell.lang)
			code := "%%" + cell.lang.magic + " mb_" + cell.lang.magic + "\n" + cellSource(t, cell.file)
			buildRun(t, s, code)
			builds := s.compiler.builds
			buildRun(t, s, code)
			if s.compiler.builds != builds {
				t.Errorf("an unchanged cell was built again")
			}
			if got := buildRun(t, s, "[mb_"+cell.lang.magic+".row(y) == mandelbrot.row(y) for y in (0, 512, 900)]"); got != "[True, True, True]" {
				t.Errorf("row: %s, want C's", got)
			}
		})
	}
}

// A cell that does not build fails with one error block: the compiler's messages at the
// cell's lines, no temporary path; the session keeps its state.
func TestCellErrors(t *testing.T) {
	s := online(t, 1)
	tests := []struct {
		lang       *language
		code       string
		kind, want string // the error's kind and a piece of its line
		trace      string // a piece of its traceback
	}{
		{langC, "%%c bad\nint f(void) {\n  return nope;\n}", "CompileError", "clang: cell:3:10: error: use of undeclared identifier 'nope'", ""},
		{langGo, "%%go bad\n//go:wasmexport f\nfunc f() int32 {\n\treturn nope\n}", "CompileError", "go: cell:4:9: undefined: nope", ""},
		{langGo, "%%go bad\n//go:wasmexport f\nfunc f(s string, n int) {}", "CompileError", "go: cell:3:", "unsupported parameter type"},
		{langGo, "%%go bad\nfunc f() int32 { return 1 }", "UsageError", "the %%go cell exports no function: mark a function //go:wasmexport NAME", ""},
		{langGo, "%%go bad\nimport \"example.com/nothere\"\n//go:wasmexport f\nfunc f() {}", "CompileError", "go: cell:2:8:", ""},
		{langRust, "%%rust bad\n#[no_mangle]\npub extern \"C\" fn f() -> i32 {\n    nope\n}", "CompileError", "rustc: error[E0425]: cannot find value `nope` in this scope", "--> cell:4:5"},
		{langRust, "%%rust bad\n#[no_mangle]\npub extern \"C\" fn f(s: String) -> i32 { s.len() as i32 }", "CompileError", "which is not FFI-safe", "--> cell:3:24"},
		{langRust, "%%rust bad\nfn f() -> i32 { 1 }", "UsageError", "exports no function", ""},
		{langTS, "%%ts bad\nexport function f(x: i32): i32 {\n  return x + nope;\n}", "CompileError", "asc: ERROR TS2304: Cannot find name 'nope'.", "in cell(3,14)"},
		{langTS, "%%ts bad\nexport function f(: i32 {}", "CompileError", "asc: ERROR TS1003: Identifier expected.", "in cell(2,18)"},
		{langRust, "%%rust pmap\n", "UsageError", "pmap is a builtin: give the %%rust cell another name", ""},
		{langRust, "%%rust mandelbrot\n", "UsageError", "mandelbrot is a module loaded from a file: give the %%rust cell another name, or set mandelbrot = None first", ""},
		{langRust, "%%rust\n", "UsageError", "usage: %%rust NAME [FLAGS...]", ""},
	}
	for _, tt := range tests {
		t.Run(strings.SplitN(tt.code, "\n", 2)[0]+" "+tt.want, func(t *testing.T) {
			needTools(t, tt.lang)
			ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
			defer cancel()
			_, err := s.Exec(ctx, tt.code, &recorder{})
			e := cellError(err)
			if err == nil || e.Name != tt.kind || !strings.Contains(e.Value, tt.want) {
				t.Fatalf("error %v, want %s: …%s…", err, tt.kind, tt.want)
			}
			trace := strings.Join(e.Traceback, "\n")
			if !strings.Contains(trace, tt.trace) {
				t.Errorf("traceback\n%s\nwants …%s…", trace, tt.trace)
			}
			if strings.Contains(e.Value+trace, os.TempDir()) || strings.Contains(e.Value+trace, "rain-cell-") {
				t.Errorf("a temporary path shows:\n%s\n%s", e.Value, trace)
			}
		})
	}
	if got := pmapRun(t, s, "mandelbrot.row(512)"); got == "" || strings.Contains(got, "Error") {
		t.Errorf("after the errors, mandelbrot.row(512) = %s", got)
	}
}

// A tool that is not installed is one line naming the package to install.
func TestToolMissing(t *testing.T) {
	for _, tl := range []tool{
		debian("no-such-compiler", "no-such-package"),
		{cmd: "asc", project: "scripts/no-such-dir/asc", install: "the npm package assemblyscript into scripts/asc: run scripts/install-deps"},
	} {
		_, err := tl.find()
		e := cellError(err)
		if err == nil || e.Name != "CompileError" || strings.Contains(e.Value, "\n") || !strings.Contains(e.Value, tl.cmd+" is not installed: install "+tl.install) {
			t.Errorf("%s: %v", tl.cmd, err)
		}
	}
}

// A toolchain that cannot build cells says, in one line, what to install: a rustc without
// Rust's wasm32 library, a Go older than //go:wasmexport.
func TestToolchainTooOld(t *testing.T) {
	fake := func(name, out string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+out+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		version func(context.Context, string) (string, error)
		path    string
		want    string
	}{
		{rustVersion, fake("rustc", t.TempDir()), "has no standard library for wasm32: install Debian's libstd-rust-dev-wasm32 (apt-get install libstd-rust-dev-wasm32)"},
		{goVersion, fake("go", "go1.19.8"), "is go1.19.8: Go 1.24 or newer builds //go:wasmexport"},
	} {
		_, err := tt.version(t.Context(), tt.path)
		if e := cellError(err); err == nil || e.Name != "UsageError" || !strings.Contains(e.Value, tt.want) || strings.Contains(e.Value, "\n") {
			t.Errorf("%s: %v, want …%s…", filepath.Base(tt.path), err, tt.want)
		}
	}
}

// BenchmarkCellBuild is the time a small cell takes to build in each language, %%c beside
// the others; the goals are 1 s for Rust and TypeScript and 3 s for Go. Every build is of a
// cell not built before (a comment changes), so the cache of built cells does not answer; Go's
// own build cache keeps what does not change, as it does for a user.
//
//	go test ./session -run '^$' -bench CellBuild -benchtime 5x
func BenchmarkCellBuild(b *testing.B) {
	c := newCompiler("")
	b.Cleanup(c.close)
	cells := []struct {
		lang    *language
		src     string
		comment string
	}{
		{langC, "int add(int a, int b) { return a + b; }\n", "//"},
		{langGo, "//go:wasmexport add\nfunc add(a, b int32) int32 { return a + b }\n", "//"},
		{langRust, "#[no_mangle]\npub extern \"C\" fn add(a: i32, b: i32) -> i32 { a + b }\n", "//"},
		{langTS, "export function add(a: i32, b: i32): i32 { return a + b; }\n", "//"},
	}
	for _, cell := range cells {
		b.Run(cell.lang.magic, func(b *testing.B) {
			needTools(b, cell.lang)
			// A first build outside the timing: Go compiles its runtime for wasip1 once, the
			// TypeScript compiler starts.
			if _, err := c.build(context.Background(), cell.lang, cell.src, nil); err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				n++
				src := cell.src + cell.comment + " build " + time.Now().Format(time.RFC3339Nano) + "\n"
				if _, err := c.build(context.Background(), cell.lang, src, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The malloc and free that each magic's help shows build as they are and allocate memory that
// can be written and freed, as Rain uses them for arrays.
func TestHelpAllocators(t *testing.T) {
	s := offline(t)
	t.Cleanup(s.compiler.close)
	exports := map[*language]string{
		langC:    "int first(unsigned char *p) { return *p; }\n",
		langGo:   "//go:wasmexport first\nfunc first(p *byte) int32 { return int32(*p) }\n",
		langRust: "#[no_mangle]\npub unsafe extern \"C\" fn first(p: *const u8) -> i32 { *p as i32 }\n",
		langTS:   "export function first(p: usize): i32 { return load<u8>(p); }\n",
	}
	for _, lang := range []*language{langC, langGo, langRust, langTS} {
		t.Run(lang.magic, func(t *testing.T) {
			needTools(t, lang)
			doc := s.magics[lang.magic].doc
			var example []string
			for _, l := range strings.Split(doc, "\n") {
				if strings.HasPrefix(l, "    ") {
					example = append(example, strings.TrimPrefix(l, "    "))
				}
			}
			if src := strings.Join(example, "\n"); !strings.Contains(src, "malloc") || !strings.Contains(src, "free") {
				t.Fatalf("%%help %s shows no malloc and free:\n%s", lang.magic, doc)
			}
			ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
			defer cancel()
			bin, err := s.compiler.build(ctx, lang, strings.Join(example, "\n")+"\n"+exports[lang], nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, strings.Join(cellError(err).Traceback, "\n"))
			}
			m := wazeroModule(t, bin)
			var ps []uint32
			for i := range 4 {
				p := uint32(wcall(t, m, "malloc", 1000))
				if !m.Memory().WriteByte(p, byte(40+i)) || !m.Memory().WriteByte(p+999, 1) {
					t.Fatalf("malloc(1000) = %#x: not writable", p)
				}
				ps = append(ps, p)
			}
			// A buffer larger than the memory the module starts with: it grows.
			big := uint32(wcall(t, m, "malloc", 4<<20))
			if !m.Memory().WriteByte(big+4<<20-1, 1) {
				t.Fatalf("malloc(4 MiB) = %#x: its end is not writable (memory %d bytes)", big, m.Memory().Size())
			}
			wcall(t, m, "free", uint64(big))
			for i, p := range ps {
				if got := api.DecodeI32(wcall(t, m, "first", uint64(p))); got != int32(40+i) {
					t.Errorf("buffer %d holds %d, want %d: buffers overlap", i, got, 40+i)
				}
				wcall(t, m, "free", uint64(p))
			}
		})
	}
}

// The cache of built cells keeps the modules used last within its limit.
func TestCachePrune(t *testing.T) {
	c := newCompiler(t.TempDir())
	for i, key := range []string{"a", "b", "c", "d"} {
		c.keep(key, make([]byte, 100))
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(filepath.Join(c.cacheDir, key+".wasm"), old, old)
	}
	if _, ok := c.cached("a"); !ok { // a is used now: the newest
		t.Fatal("a is not cached")
	}
	c.prune(250)
	for key, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true} {
		if _, err := os.Stat(filepath.Join(c.cacheDir, key+".wasm")); (err == nil) != want {
			t.Errorf("%s kept: %v, want %v", key, err == nil, want)
		}
	}
}
