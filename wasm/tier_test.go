package wasm

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// stateModule is testdata/state.wasm: state in memory (which grows) and in mutable globals it
// does not export.
func stateModule(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "state.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// script is a sequence of calls whose results must not depend on the tier.
type script struct {
	name  string
	bin   func(testing.TB) []byte
	calls []struct {
		fn   string
		args []uint64
	}
}

func call(fn string, args ...uint64) struct {
	fn   string
	args []uint64
} {
	return struct {
		fn   string
		args []uint64
	}{fn, args}
}

var tierScripts = []script{
	{"state", stateModule, nil},
	{"basics", func(t testing.TB) []byte { return example(t, "basics") }, nil},
	{"gowasm", func(t testing.TB) []byte { return example(t, "gowasm") }, nil},
	{"no memory", func(t testing.TB) []byte { return testdataModule(t, "nomem.wasm") }, nil},
}

func testdataModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func init() {
	for k := 1; k <= 24; k++ {
		tierScripts[0].calls = append(tierScripts[0].calls, call("step", uint64(k*k+3)), call("state"))
		tierScripts[1].calls = append(tierScripts[1].calls, call("bump"), call("peek"))
		tierScripts[2].calls = append(tierScripts[2].calls, call("collatz", api.EncodeI32(int32(k*7))), call("calls"))
		tierScripts[3].calls = append(tierScripts[3].calls, call("area", uint64(k), 7))
	}
}

// run makes the calls, returning their results and the tier of each.
func (s script) run(t *testing.T, inst *Instance, from, to int) (res [][]uint64, tiers []string) {
	t.Helper()
	for _, c := range s.calls[from:to] {
		r, err := inst.Call(context.Background(), c.fn, c.args, nil, nil)
		if err != nil {
			t.Fatalf("%s%v: %v", c.fn, c.args, err)
		}
		res = append(res, r)
		tiers = append(tiers, inst.Tier())
	}
	return res, tiers
}

// TestTierSwitch calls each module on the interpreter, lets the compiler finish, and calls it
// on: the results and the state they reveal match a compiler-only run call for call.
func TestTierSwitch(t *testing.T) {
	if !compilerSupported() {
		t.Skip("no compiler on this platform: nothing to switch to")
	}
	for _, s := range tierScripts {
		t.Run(s.name, func(t *testing.T) {
			bin := s.bin(t)
			ref := load(t, newRuntime(t, WithTier(TierCompiler)), bin)
			want, _ := s.run(t, ref, 0, len(s.calls))

			rt := newRuntime(t, WithTier(TierAuto), WithTierMinSize(0))
			rt.hold = make(chan struct{})
			inst := load(t, rt, bin)
			if st := inst.TierState(); st.State != StateCompiling || st.Tier != EngineInterpreter || st.CacheHit {
				t.Fatalf("after Load: %+v, want compiling on the interpreter", st)
			}
			half := len(s.calls) / 2
			got, tiers := s.run(t, inst, 0, half) // during the interpreter tier
			for k, tier := range tiers {
				if tier != EngineInterpreter {
					t.Fatalf("call %d ran on %q before the compiler was done", k, tier)
				}
			}
			close(rt.hold)
			if err := inst.WaitCompiled(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := inst.TierState(); st.State != StateCompiled || st.Compiled <= 0 || st.Ready <= 0 {
				t.Fatalf("once compiled: %+v", st)
			}
			more, tiers := s.run(t, inst, half, len(s.calls))
			for k, tier := range tiers {
				if tier != EngineCompiler {
					t.Fatalf("call %d after compilation ran on %q", half+k, tier)
				}
			}
			got = append(got, more...)
			for k := range want {
				if len(got[k]) != len(want[k]) || (len(want[k]) > 0 && got[k][0] != want[k][0]) {
					t.Errorf("call %d %s%v: tiered %v, compiler-only %v", k, s.calls[k].fn, s.calls[k].args, got[k], want[k])
				}
			}
			if st := rt.Tiers(); len(st) != 1 || st[0].Tier != EngineCompiler || st[0].SHA256 != inst.Info().SHA256 {
				t.Errorf("Runtime.Tiers: %+v", st)
			}
		})
	}
}

// TestTierCacheHit: a second runtime on a warm cache directory skips the interpreter.
func TestTierCacheHit(t *testing.T) {
	if !compilerSupported() {
		t.Skip("no compiler on this platform")
	}
	dir := t.TempDir()
	bin := stateModule(t)
	rt := newRuntime(t, WithCacheDir(dir), WithTierMinSize(0))
	inst := load(t, rt, bin)
	if st := inst.TierState(); st.CacheHit || st.State != StateCompiling {
		t.Fatalf("cold cache: %+v", st)
	}
	if err := inst.WaitCompiled(t.Context()); err != nil {
		t.Fatal(err)
	}
	rt.Close(context.Background())

	warm := load(t, newRuntime(t, WithCacheDir(dir), WithTierMinSize(0)), bin)
	if st := warm.TierState(); !st.CacheHit || st.State != StateCompiled || st.Tier != EngineCompiler {
		t.Fatalf("warm cache: %+v, want compiled from the cache", st)
	}
	if _, err := warm.Call(t.Context(), "step", []uint64{1}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if warm.Tier() != EngineCompiler {
		t.Errorf("first call on a warm cache ran on %q", warm.Tier())
	}
}

// TestTierSmallModule: by default a small module skips the interpreter, cache or not.
func TestTierSmallModule(t *testing.T) {
	if !compilerSupported() {
		t.Skip("no compiler on this platform")
	}
	inst := load(t, newRuntime(t), stateModule(t))
	if st := inst.TierState(); st.State != StateCompiled || st.CacheHit {
		t.Errorf("%+v, want compiled at once", st)
	}
}

// TestTierOnly: the single-tier modes never switch.
func TestTierOnly(t *testing.T) {
	for _, tier := range []Tier{TierInterpreter, TierCompiler} {
		t.Run(tier.String(), func(t *testing.T) {
			rt := newRuntime(t, WithTier(tier))
			inst := load(t, rt, stateModule(t))
			for range 3 {
				if _, err := inst.Call(t.Context(), "step", []uint64{2}, nil, nil); err != nil {
					t.Fatal(err)
				}
				if inst.Tier() != tier.Engine() {
					t.Fatalf("ran on %q", inst.Tier())
				}
			}
			if st := inst.TierState(); st.State != map[Tier]string{TierInterpreter: StateInterpreter, TierCompiler: StateCompiled}[tier] {
				t.Errorf("%+v", st)
			}
		})
	}
	if _, err := NewRuntime(t.Context(), WithTier(Tier(3))); err == nil {
		t.Error("WithTier(Tier(3)): no error")
	}
}

// TestExportMutableGlobals: the rewrite adds an export per mutable numeric global, with or
// without an export section, and the result still validates.
func TestExportMutableGlobals(t *testing.T) {
	noExports := []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
		6, 11, 2, // global section: 2 globals
		0x7f, 1, 0x41, 5, 0x0b, // (mut i32) (i32.const 5)
		0x7e, 0, 0x42, 1, 0x0b, // i64 (i64.const 1): immutable
	}
	for _, tt := range []struct {
		name string
		bin  []byte
		want []string
	}{
		{"state", stateModule(t), []string{"__rain_global_0", "__rain_global_1", "__rain_global_2"}},
		{"basics", example(t, "basics"), []string{"__rain_global_0"}},
		{"no export section", noExports, []string{"__rain_global_0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, names, err := exportMutableGlobals(tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != len(tt.want) {
				t.Fatalf("added %v, want %v", names, tt.want)
			}
			m, err := Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			exported := map[string]bool{}
			for _, e := range m.Exports {
				exported[e.Name] = e.Kind == "global"
			}
			for _, n := range tt.want {
				if !exported[n] {
					t.Errorf("%s not exported as a global: %v", n, m.Exports)
				}
			}
			rt := newRuntime(t, WithTier(TierInterpreter))
			if _, err := rt.rt.CompileModule(t.Context(), out); err != nil {
				t.Errorf("wazero rejects the rewritten module: %v", err)
			}
		})
	}
}

// TestTimeToFirstResult logs the time from Load to the first result of gowasm.wasm (2.6 MB, Go
// wasip1) with tiering, with the compiler alone, and with the compiled code in the cache.
// Run it alone to read the figures: go test ./wasm/ -run TimeToFirstResult -v
func TestTimeToFirstResult(t *testing.T) {
	if !compilerSupported() {
		t.Skip("no compiler on this platform")
	}
	bin := example(t, "gowasm")
	first := func(opts ...Option) time.Duration {
		rt, err := NewRuntime(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(context.Background())
		start := time.Now()
		inst, err := rt.Load(t.Context(), bin, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inst.Call(t.Context(), "collatz", []uint64{27}, nil, nil); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if err := inst.WaitCompiled(t.Context()); err != nil { // warms the cache
			t.Fatal(err)
		}
		return d
	}
	dir := t.TempDir()
	compiler := first(WithTier(TierCompiler))
	auto := first(WithTier(TierAuto), WithCacheDir(dir))
	warm := first(WithTier(TierAuto), WithCacheDir(dir))
	t.Logf("gowasm.wasm (%.1f MB) Load → first result: auto %v, compiler-only %v (%.1f× sooner with auto), warm cache %v",
		float64(len(bin))/1e6, auto.Round(time.Millisecond), compiler.Round(time.Millisecond),
		float64(compiler)/float64(auto), warm.Round(time.Millisecond))
	if auto*2 > compiler {
		t.Errorf("auto tiering gave the first result in %v, compiler-only in %v: not 2× sooner", auto, compiler)
	}
}
