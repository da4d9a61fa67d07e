package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

func i32s(vs ...int32) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = api.EncodeI32(v)
	}
	return out
}

func i64s(vs ...int64) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = api.EncodeI64(v)
	}
	return out
}

func f32s(vs ...float32) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = api.EncodeF32(v)
	}
	return out
}

func f64s(vs ...float64) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = api.EncodeF64(v)
	}
	return out
}

func cat64(parts ...[]uint64) []uint64 {
	var out []uint64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// engines are the tiers that use one engine alone: both where wazero has a compiler.
func engines(t *testing.T) []Tier {
	if compilerSupported() {
		return []Tier{TierCompiler, TierInterpreter}
	}
	return []Tier{TierInterpreter}
}

func TestCall(t *testing.T) {
	tests := []struct {
		module, fn string
		args, want []uint64
	}{
		{"basics", "fib", i32s(20), i32s(6765)},
		{"basics", "add", i32s(2, 3), i32s(5)},
		{"basics", "add", []uint64{0xffffffff_00000002, 3}, i32s(5)}, // upper bits ignored
		{"basics", "add", i32s(math.MaxInt32, 1), i32s(math.MinInt32)},
		{"basics", "add", i32s(math.MinInt32, -1), i32s(math.MaxInt32)},
		{"basics", "add", i32s(math.MinInt32, math.MaxInt32), i32s(-1)},
		{"basics", "add64", i64s(math.MaxInt64, 1), i64s(math.MinInt64)},
		{"basics", "add64", i64s(math.MinInt64, math.MaxInt64), i64s(-1)},
		{"basics", "add64", i64s(1<<40, 1<<40), i64s(1 << 41)},
		{"basics", "addf", f32s(1.5, 2.25), f32s(3.75)},
		{"basics", "addf", f32s(math.MaxFloat32, math.MaxFloat32), f32s(float32(math.Inf(1)))},
		{"basics", "addf", f32s(-math.MaxFloat32, math.SmallestNonzeroFloat32), f32s(-math.MaxFloat32)},
		{"basics", "addf", f32s(math.SmallestNonzeroFloat32, 0), f32s(math.SmallestNonzeroFloat32)},
		{"basics", "mul", f64s(1.5, -4), f64s(-6)},
		{"basics", "mul", f64s(math.MaxFloat64, 2), f64s(math.Inf(1))},
		{"basics", "mul", f64s(math.SmallestNonzeroFloat64, 1), f64s(math.SmallestNonzeroFloat64)},
		{"basics", "divmod", i32s(17, 5), i32s(3, 2)},
		{"basics", "divmod", i32s(-17, 5), i32s(-3, -2)},
		{"basics", "divmod", i32s(math.MaxInt32, math.MinInt32), i32s(0, math.MaxInt32)},
		{"basics", "recurse", i32s(10), i32s(1024)},
		{"basics", "trap_div", i32s(7), i32s(14)},
		{"mandelbrot", "escape", cat64(f64s(-0.5, 0), i32s(1000)), i32s(1000)},
		{"mandelbrot", "escape", cat64(f64s(2, 2), i32s(1000)), i32s(1)},
		{"mandelbrot", "escape", cat64(f64s(0, 0), i32s(math.MinInt32)), i32s(0)},
		{"mandelbrot", "width", nil, i32s(1024)},
		{"primes", "is_prime", i32s(97), i32s(1)},
		{"primes", "is_prime", i32s(math.MaxInt32), i32s(1)}, // 2^31-1 is a Mersenne prime
		{"primes", "is_prime", i32s(math.MinInt32), i32s(0)},
		{"primes", "count_primes", i32s(1000), i32s(168)},
		{"primes", "count_range", i32s(100, 200), i32s(21)},
		{"gowasm", "collatz", i32s(27), i32s(111)},
		{"gowasm", "sum", i64s(100), i64s(5050)},
		{"gowasm", "sum", i64s(1 << 20), i64s((1 << 20) * (1<<20 + 1) / 2)},
		{"hello", "greet", i32s(0), i32s(0)},
	}
	ctx := context.Background()
	for _, engine := range engines(t) {
		t.Run(engine.String(), func(t *testing.T) {
			rt := newRuntime(t, WithTier(engine))
			for _, tt := range tests {
				inst := load(t, rt, example(t, tt.module))
				got, err := inst.Call(ctx, tt.fn, tt.args, nil, nil)
				if err != nil {
					t.Errorf("%s.%s%v: %v", tt.module, tt.fn, tt.args, err)
					continue
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s.%s%v = %v, want %v", tt.module, tt.fn, tt.args, got, tt.want)
				}
			}
		})
	}
}

func TestCallErrors(t *testing.T) {
	ctx := context.Background()
	inst := load(t, newRuntime(t), example(t, "basics"))
	if _, err := inst.Call(ctx, "nope", nil, nil, nil); !errors.Is(err, ErrNoExport) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("calling a missing export: %v, want ErrNoExport naming it", err)
	}
	_, err := inst.Call(ctx, "add", i32s(1), nil, nil)
	if want := "wasm: add(i32,i32) i32 takes 2 arguments, got 1"; err == nil || err.Error() != want {
		t.Errorf("wrong argument count: %v, want %q", err, want)
	}
}

func TestTrap(t *testing.T) {
	tests := []struct {
		fn     string
		args   []uint64
		reason string
		stack  []string
	}{
		{"trap_unreachable", nil, "unreachable", []string{"trap_unreachable"}},
		{"trap_div", i32s(0), "integer divide by zero", []string{"trap_div"}},
		{"divmod", i32s(math.MinInt32, -1), "integer overflow", []string{"divmod"}},
		{"trap_oob", nil, "out of bounds memory access", []string{"trap_oob"}},
		{"trap_nested", nil, "integer divide by zero", []string{"crash", "trap_nested"}},
	}
	ctx := context.Background()
	for _, engine := range engines(t) {
		inst := load(t, newRuntime(t, WithTier(engine)), example(t, "basics"))
		for _, tt := range tests {
			t.Run(engine.String()+"/"+tt.fn, func(t *testing.T) {
				_, err := inst.Call(ctx, tt.fn, tt.args, nil, nil)
				var trap *Trap
				if !errors.As(err, &trap) {
					t.Fatalf("got %v, want a *Trap", err)
				}
				want := &Trap{Func: tt.fn, Reason: tt.reason, Stack: tt.stack}
				if !reflect.DeepEqual(trap, want) {
					t.Errorf("got %#v, want %#v", trap, want)
				}
				if msg := "wasm: trap in " + tt.fn + ": " + tt.reason; err.Error() != msg {
					t.Errorf("Error() = %q, want %q", err, msg)
				}
				// A trap survives a trip over the wire.
				b, err := json.Marshal(trap)
				if err != nil {
					t.Fatal(err)
				}
				var back Trap
				if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, trap) {
					t.Errorf("JSON round trip: %s → %#v (%v)", b, back, err)
				}
			})
		}
		// The instance is still usable after its traps.
		if got, err := inst.Call(ctx, "add", i32s(1, 2), nil, nil); err != nil || got[0] != 3 {
			t.Errorf("add after traps = %v, %v", got, err)
		}
	}
}

func TestTrapParsing(t *testing.T) {
	// What wazero prints when the module has a name and DWARF gives source lines, and frames
	// of functions that have no name or contain parentheses.
	msg := "wasm error: unreachable\nwasm stack trace:\n" +
		"\tm.runtime.(*mheap).alloc(i32,i64) (i32,i32)\n\t\tmheap.go:12:3\n" +
		"\tm.$7()\n" +
		"\t... maybe followed by omitted frames"
	got := asTrap("f", errors.New(msg))
	want := &Trap{Func: "f", Reason: "unreachable", Stack: []string{"m.runtime.(*mheap).alloc", "m.$7", "..."}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestState(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	inst := load(t, rt, example(t, "basics"))
	for want := int32(1); want <= 3; want++ {
		if got, err := inst.Call(ctx, "bump", nil, nil, nil); err != nil || api.DecodeI32(got[0]) != want {
			t.Fatalf("bump = %v, %v; want %d", got, err, want)
		}
	}
	// Loading the same module again gives the same instance, state and all.
	again := load(t, rt, example(t, "basics"))
	if again != inst {
		t.Error("a second Load made a second instance")
	}
	if got, err := again.Call(ctx, "peek", nil, nil, nil); err != nil || got[0] != 3 {
		t.Errorf("peek = %v, %v; want 3", got, err)
	}
	// After Close, a Load makes a fresh instance.
	if err := inst.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Call(ctx, "peek", nil, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
	fresh := load(t, rt, example(t, "basics"))
	if got, err := fresh.Call(ctx, "bump", nil, nil, nil); err != nil || got[0] != 1 {
		t.Errorf("bump on a fresh instance = %v, %v; want 1", got, err)
	}
}

func TestWASIOutput(t *testing.T) {
	tests := []struct {
		module, fn     string
		args           []uint64
		stdout, stderr string
	}{
		{"hello", "greet", i32s(3), "hello 1 from wasm\nhello 2 from wasm\nhello 3 from wasm\n", "greeted 3 times\n"},
		{"hello", "greet", i32s(1), "hello 1 from wasm\n", "greeted 1 times\n"},
		{"gowasm", "hello", nil, "hello from Go on wasm\n", "hello: written to stderr\n"},
	}
	ctx := context.Background()
	rt := newRuntime(t)
	for _, tt := range tests {
		t.Run(tt.module+"."+tt.fn, func(t *testing.T) {
			inst := load(t, rt, example(t, tt.module))
			var stdout, stderr bytes.Buffer
			if _, err := inst.Call(ctx, tt.fn, tt.args, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
			// Output goes to the writers of the call that writes it, and nowhere else.
			if _, err := inst.Call(ctx, tt.fn, tt.args, nil, nil); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.stdout {
				t.Errorf("a call without writers wrote to an earlier call's: %q", stdout.String())
			}
		})
	}
}

func TestReactor(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	inst := load(t, rt, reactor)
	if !inst.Info().Reactor {
		t.Error("Info().Reactor is false")
	}
	for range 2 {
		if got, err := inst.Call(ctx, "get", nil, nil, nil); err != nil || got[0] != 42 {
			t.Fatalf("get = %v, %v; want 42, set by _initialize", got, err)
		}
	}
	// Go's runtime needs _initialize before any export works.
	if got, err := load(t, rt, example(t, "gowasm")).Call(ctx, "calls", nil, nil, nil); err != nil || got[0] != 0 {
		t.Errorf("gowasm calls = %v, %v", got, err)
	}
}

func TestCommand(t *testing.T) {
	ctx := context.Background()
	inst := load(t, newRuntime(t), command)
	if info := inst.Info(); !info.Command || info.Reactor || !info.WASI {
		t.Errorf("Info: Command %v, Reactor %v, WASI %v", info.Command, info.Reactor, info.WASI)
	}
	if got, err := inst.Call(ctx, "_start", nil, nil, nil); err != nil || len(got) != 0 {
		t.Errorf("_start with proc_exit(0) = %v, %v; want success", got, err)
	}
	_, err := inst.Call(ctx, "exit3", nil, nil, nil)
	if want := (&Trap{Func: "exit3", Reason: "exited with code 3"}); !reflect.DeepEqual(err, error(want)) {
		t.Errorf("exit3: %#v, want %#v", err, want)
	}
	// proc_exit closed the module; the next call instantiates it again.
	if got, err := inst.Call(ctx, "one", nil, nil, nil); err != nil || got[0] != 1 {
		t.Errorf("one after proc_exit = %v, %v", got, err)
	}
}

func TestInterrupt(t *testing.T) {
	// recurse(n) makes 2^(n+1) calls and no loop: wazero cannot stop it, so it runs on as a
	// runaway. n is chosen so that it ends by itself within a second or so.
	deep := map[Tier]int32{TierCompiler: 27, TierInterpreter: 21}
	for _, engine := range engines(t) {
		rt := newRuntime(t, WithTier(engine), WithStoppable(true))
		inst := load(t, rt, example(t, "basics"))
		tests := []struct {
			fn      string
			args    []uint64
			runaway bool
		}{
			{"spin", nil, false},
			{"recurse", i32s(deep[engine]), true},
		}
		for _, tt := range tests {
			t.Run(engine.String()+"/"+tt.fn, func(t *testing.T) {
				if _, err := inst.Call(context.Background(), "bump", nil, nil, nil); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_, err := inst.Call(ctx, tt.fn, tt.args, nil, nil)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v, want context.DeadlineExceeded", err)
				}
				if got, want := rt.Runaways(), map[bool]int{true: 1}[tt.runaway]; got != want {
					t.Errorf("Runaways() = %d, want %d", got, want)
				}
				// The next call runs on a fresh instance.
				if got, err := inst.Call(context.Background(), "peek", nil, nil, nil); err != nil || got[0] != 0 {
					t.Errorf("peek after an interrupt = %v, %v; want 0", got, err)
				}
				// Runaways is a count with no event: check it until the runaway has finished.
				for deadline := time.Now().Add(30 * time.Second); rt.Runaways() > 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the runaway never finished")
					}
				}
			})
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("granted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opts   []Option
		want   int32
		stdout string
		stderr string
	}{
		{"granted", []Option{WithGrant(Grant{dir, "/data"})}, 0, "granted\n", ""},
		{"not granted", nil, -1, "", "/data/hello.txt: Capabilities insufficient\n"}, // no preopened dir
		{"other dir", []Option{WithGrant(Grant{t.TempDir(), "/data"})}, -1, "", "/data/hello.txt: No such file or directory\n"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := load(t, newRuntime(t, tt.opts...), example(t, "hello"))
			var stdout, stderr bytes.Buffer
			got, err := inst.Call(ctx, "read_file", nil, &stdout, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			if api.DecodeI32(got[0]) != tt.want || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("read_file = %d, stdout %q, stderr %q; want %d, %q, %q",
					api.DecodeI32(got[0]), stdout.String(), stderr.String(), tt.want, tt.stdout, tt.stderr)
			}
		})
	}
	if _, err := NewRuntime(ctx, WithGrant(Grant{filepath.Join(dir, "missing"), "/data"})); err == nil {
		t.Error("WithGrant of a missing directory: no error")
	}
}

func TestCacheDir(t *testing.T) {
	if !compilerSupported() {
		t.Skip("the compilation cache keeps compiled code only for the compiler engine")
	}
	dir := t.TempDir()
	ctx := context.Background()
	for i := range 2 {
		inst := load(t, newRuntime(t, WithCacheDir(dir)), example(t, "mandelbrot"))
		if got, err := inst.Call(ctx, "escape", cat64(f64s(-0.5, 0), i32s(100)), nil, nil); err != nil || got[0] != 100 {
			t.Fatalf("runtime %d: escape = %v, %v", i, got, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("runtime %d: cache dir is empty (%v)", i, err)
		}
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	_, err := NewRuntime(ctx, WithTier(Tier(7)))
	if err == nil || !strings.Contains(err.Error(), `unknown tier 7`) {
		t.Errorf("WithTier(Tier(7)): %v", err)
	}
	rt := newRuntime(t, WithTier(TierInterpreter))
	if rt.Engine() != EngineInterpreter {
		t.Errorf("Engine() = %q", rt.Engine())
	}
	if rt := newRuntime(t); rt.Engine() != DefaultEngine() {
		t.Errorf("default Engine() = %q, want %q", rt.Engine(), DefaultEngine())
	}
}
