package wasm

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		module    string
		exports   []string // signatures, in export order
		functions int
		wasi      bool
		reactor   bool
		names     map[uint32]string // some of them
	}{
		{"basics", []string{"fib(i32) i32", "add(i32,i32) i32", "add64(i64,i64) i64", "addf(f32,f32) f32",
			"mul(f64,f64) f64", "divmod(i32,i32) (i32,i32)", "spin()", "recurse(i32) i32", "trap_unreachable()",
			"trap_div(i32) i32", "trap_oob() i32", "trap_nested() i32", "bump() i32", "peek() i32"},
			15, false, false, map[uint32]string{0: "fib", 11: "crash", 14: "peek"}},
		{"mandelbrot", []string{"_initialize()", "escape(f64,f64,i32) i32", "row(i32) i32", "row_pixels(i32,i32)",
			"rows(i32,i32) i32", "width() i32", "height() i32", "malloc(i32) i32", "free(i32)"},
			14, false, true, map[uint32]string{2: "escape", 3: "row", 10: "malloc"}},
		{"primes", []string{"is_prime(i32) i32", "count_primes(i32) i32", "count_range(i32,i32) i32"},
			3, false, false, map[uint32]string{0: "is_prime"}},
		{"hello", []string{"_initialize()", "greet(i32) i32", "read_file() i32"},
			89, true, true, map[uint32]string{13: "greet"}},
		{"gowasm", []string{"_initialize()", "collatz(i32) i32", "hello()", "calls() i32", "sum(i64) i64"},
			1788, true, true, map[uint32]string{1784: "collatz"}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			bin := example(t, tt.module)
			info, err := describe(bin)
			if err != nil {
				t.Fatal(err)
			}
			var sigs []string
			for _, f := range info.Exports {
				sigs = append(sigs, f.String())
			}
			if !reflect.DeepEqual(sigs, tt.exports) {
				t.Errorf("exports %q, want %q", sigs, tt.exports)
			}
			if info.Functions != tt.functions || info.WASI != tt.wasi || info.Reactor != tt.reactor || info.Command {
				t.Errorf("Functions %d, WASI %v, Reactor %v, Command %v; want %d, %v, %v, false",
					info.Functions, info.WASI, info.Reactor, info.Command, tt.functions, tt.wasi, tt.reactor)
			}
			for idx, name := range tt.names {
				if info.FuncNames[idx] != name {
					t.Errorf("FuncNames[%d] = %q, want %q", idx, info.FuncNames[idx], name)
				}
			}
			if info.Size != len(bin) || len(info.SHA256) != 64 {
				t.Errorf("Size %d, SHA256 %q", info.Size, info.SHA256)
			}
			for _, imp := range info.Imports {
				if imp.Module != wasiModule {
					t.Errorf("import %v", imp)
				}
			}
			// Info survives a trip over the wire.
			b, err := json.Marshal(info)
			if err != nil {
				t.Fatal(err)
			}
			var back Info
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, info) {
				t.Errorf("JSON round trip differs (%v)", err)
			}
		})
	}
}

func TestFuncJSON(t *testing.T) {
	f := Func{Name: "divmod", Params: []api.ValueType{api.ValueTypeI32, api.ValueTypeI64}, Results: []api.ValueType{api.ValueTypeF32, api.ValueTypeF64}}
	b, err := json.Marshal(f)
	if want := `{"name":"divmod","params":["i32","i64"],"results":["f32","f64"]}`; err != nil || string(b) != want {
		t.Errorf("got %s (%v), want %s", b, err, want)
	}
	var back Func
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, f) {
		t.Errorf("round trip: %+v (%v)", back, err)
	}
	if err := json.Unmarshal([]byte(`{"params":["i33"]}`), &back); err == nil {
		t.Error("unknown value type: no error")
	}
}

func TestDescribeErrors(t *testing.T) {
	basics := example(t, "basics")
	tests := []struct {
		name string
		bin  []byte
		is   error
		msg  string // the whole message, or a part of it when it ends with "…"
	}{
		{"empty", nil, ErrNotWasm, "wasm: not a WebAssembly module (bad magic)"},
		{"text", []byte("(module)"), ErrNotWasm, "wasm: not a WebAssembly module (bad magic)"},
		{"ELF", []byte("\x7fELF\x02\x01\x01\x00"), ErrNotWasm, "wasm: not a WebAssembly module (bad magic)"},
		{"header only", basics[:6], ErrInvalid, "wasm: invalid module at byte 6: truncated in the header"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), ErrInvalid, "wasm: invalid module at byte 4: unsupported binary version 02 00 00 00"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), ErrInvalid, "wasm: invalid module at byte 4: a WebAssembly component, not a core module"},
		{"truncated", basics[:len(basics)-400], ErrInvalid, "wasm: invalid module at byte 226 (code section): truncated: the section says 183 bytes, 0 remain"},
		{"truncated in the code", basics[:codeSection(t, basics)+20], ErrInvalid, "wasm: invalid module at byte 226 (code section): truncated: the section says 183 bytes, 20 remain"},
		{"body past its section", module(section(1, vec(funcType(nil, nil))), section(3, vec(uleb(0))), section(10, vec(cat(uleb(9), []byte{0, 0x0b})))),
			ErrInvalid, "wasm: invalid module at byte 21 (code section): body of function 0: 9 bytes, past the end of the section"},
		{"unknown section", module([]byte{42, 0}), ErrInvalid, "wasm: invalid module at byte 8: unknown section id 42"},
		{"duplicate section", module(section(1, vec()), section(1, vec())), ErrInvalid, "…(type section): duplicate section"},
		{"out of order", module(section(3, vec()), section(1, vec())), ErrInvalid, "wasm: invalid module at byte 11 (type section): section out of order"},
		{"missing code", module(section(1, vec(funcType(nil, nil))), section(3, vec(uleb(0)))), ErrInvalid, "…(code section): missing: the function section declares 1 functions"},
		{"long LEB", module(section(1, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})), ErrInvalid, "wasm: invalid module at byte 15 (type section): integer representation too long"},
		{"does not validate", invalid, ErrInvalid, "wasm: invalid module: …"},
		{"missing import", importsEnv, ErrImport, "wasm: module imports env.foo, which no node provides"},
		{"missing memory import", module(section(2, vec(cat(str("env"), str("memory"), []byte{0x02, 0x00, 0x01})))),
			ErrImport, "wasm: module imports env.memory (a memory), which no node provides"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := describe(tt.bin)
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			if !matches(err.Error(), tt.msg) {
				t.Errorf("got %q, want %q", err, tt.msg)
			}
			// Load reports the same problem.
			if _, lerr := newRuntime(t, WithTier(TierInterpreter)).Load(t.Context(), tt.bin, nil, nil); !errors.Is(lerr, tt.is) {
				t.Errorf("Load: %v, want %v", lerr, tt.is)
			}
		})
	}
}

// describe decodes bin and describes the module, as a client does when a user loads it.
func describe(bin []byte) (*Info, error) {
	m, err := Decode(bin)
	if err != nil {
		return nil, err
	}
	return m.Describe()
}

// matches reports whether msg is want, or contains the parts of want separated by "…" in order.
func matches(msg, want string) bool {
	if !strings.Contains(want, "…") {
		return msg == want
	}
	for _, part := range strings.Split(want, "…") {
		i := strings.Index(msg, part)
		if i < 0 {
			return false
		}
		msg = msg[i+len(part):]
	}
	return true
}

// codeSection returns the offset of the code section's contents in bin.
func codeSection(t *testing.T, bin []byte) int {
	m, err := Decode(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Sections {
		if s.Name == "code" {
			return s.Offset
		}
	}
	t.Fatal("no code section")
	return 0
}
