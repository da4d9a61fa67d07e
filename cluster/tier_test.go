package cluster

import (
	"context"
	"time"

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
		res := tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}})
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

// Batch results say which tier ran them, and the node's status reports each module's tier
// state: compiling (or compiled) at first, then compiled once the compiler is done.
func TestBatchTierAndNodeTiers(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	id := tc.client.Nodes()[0].ID
	deadline := time.Now().Add(20 * time.Second)
	var mt wasm.ModuleTier
	for {
		mt = tc.node(t, id).Tiers[sha]
		if mt.State == wasm.StateCompiled || wasm.DefaultEngine() != wasm.EngineCompiler && mt.State != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node tier state %+v: never compiled", mt)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if mt.SHA256 != sha || mt.Loaded.IsZero() || mt.Ready <= 0 || mt.State == wasm.StateCompiled && mt.Compiled < mt.Ready {
		t.Errorf("node tier state %+v", mt)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "bump"}, Args: make([][]uint64, 10)})
	if err != nil {
		t.Fatal(err)
	}
	want := wasm.DefaultEngine()
	for i, r := range res {
		if r.Err != nil || r.Tier != want {
			t.Fatalf("batch call %d: tier %q, err %v; want tier %q", i, r.Tier, r.Err, want)
		}
	}
	// After the switch, the status says calls run on compiled code.
	for tc.node(t, id).Tiers[sha].Tier != want {
		if time.Now().After(deadline) {
			t.Fatalf("node tier state %+v after a compiled call", tc.node(t, id).Tiers[sha])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
