package cluster

import (
	"testing"

	"github.com/rain-wasm/rain/wasm"
	"github.com/tetratelabs/wazero/api"
)

// Every result says which tier ran it; calls reach compiled code, and the state a module keeps
// (bump's global and memory counter) runs on unbroken across the switch.
func TestResultTier(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	compiled, interpreted := false, 0
	for k := int32(1); k <= 5000 && !compiled; k++ {
		res := tc.call(t, Call{Module: sha, Func: "bump"})
		if got := api.DecodeI32(res.Values[0]); got != k {
			t.Fatalf("bump call %d = %d on tier %s: state lost", k, got, res.Tier)
		}
		switch res.Tier {
		case wasm.EngineCompiler:
			compiled = true
		case wasm.EngineInterpreter:
			interpreted++
		default:
			t.Fatalf("result tier %q", res.Tier)
		}
	}
	t.Logf("%d calls on the interpreter before compiled code", interpreted)
	if !compiled && wasm.DefaultEngine() == wasm.EngineCompiler {
		t.Error("5000 calls and none on compiled code")
	}
}

func TestWorkerEngine(t *testing.T) {
	for _, tt := range []struct{ engine, tier, want string }{
		{"", "", wasm.TierAuto},
		{wasm.EngineCompiler, wasm.TierAuto, wasm.TierAuto},
		{wasm.EngineCompiler, wasm.EngineCompiler, wasm.EngineCompiler},
		{"", wasm.EngineInterpreter, wasm.EngineInterpreter},
		{wasm.EngineInterpreter, wasm.TierAuto, wasm.EngineInterpreter},
	} {
		o, err := nodeConfig([]NodeOption{WithJoin("nats://x"), WithEngine(tt.engine), WithTier(tt.tier), WithWorkerCommand("x")})
		if err != nil {
			t.Fatal(err)
		}
		want := tt.want
		if wasm.DefaultEngine() != wasm.EngineCompiler && want == wasm.TierAuto {
			want = wasm.DefaultEngine()
		}
		if got := o.workerEngine(); got != want {
			t.Errorf("engine %q tier %q: worker engine %q, want %q", tt.engine, tt.tier, got, want)
		}
	}
	if _, err := nodeConfig([]NodeOption{WithJoin("nats://x"), WithTier("jit")}); err == nil {
		t.Error("WithTier(jit): no error")
	}
}
