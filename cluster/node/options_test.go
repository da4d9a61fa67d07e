package node

import (
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

func TestWorkerEngine(t *testing.T) {
	for _, tt := range []struct{ engine, tier, want string }{
		{"", "", "auto"},
		{wasm.EngineCompiler, "auto", "auto"},
		{wasm.EngineCompiler, wasm.EngineCompiler, wasm.EngineCompiler},
		{"", wasm.EngineInterpreter, wasm.EngineInterpreter},
		{wasm.EngineInterpreter, "auto", wasm.EngineInterpreter},
	} {
		o, err := config([]Option{WithJoin("nats://x"), WithEngine(tt.engine), WithTier(tt.tier), WithWorkerCommand("x")})
		if err != nil {
			t.Fatal(err)
		}
		want := tt.want
		if wasm.DefaultEngine() != wasm.EngineCompiler && want == "auto" {
			want = wasm.DefaultEngine()
		}
		if got := o.workerEngine(); got != want {
			t.Errorf("engine %q tier %q: worker engine %q, want %q", tt.engine, tt.tier, got, want)
		}
	}
	if _, err := config([]Option{WithJoin("nats://x"), WithTier("jit")}); err == nil {
		t.Error("WithTier(jit): no error")
	}
}

// A node given no limit has DefaultMemoryLimit; WithMemoryLimit(0) has none.
func TestNodeMemoryLimitOption(t *testing.T) {
	for _, tt := range []struct {
		opts []Option
		want wasm.MemoryLimit
	}{
		{nil, DefaultMemoryLimit},
		{[]Option{WithMemoryLimit(0)}, 0},
		{[]Option{WithMemoryLimit(256 << 20)}, 256 << 20},
	} {
		o, err := config(append([]Option{WithJoin("nats://x"), WithWorkerCommand("x")}, tt.opts...))
		if err != nil {
			t.Fatal(err)
		}
		if o.memLimit != tt.want {
			t.Errorf("memory limit %v, want %v", o.memLimit, tt.want)
		}
	}
}
