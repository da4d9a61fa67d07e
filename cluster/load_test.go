//go:build unix

package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// StartLoad returns before the nodes have the module; calls and maps made at once wait for a
// node that has it, or fail with the nodes' error when none could instantiate it; Progress
// follows every node to its end state.
func TestStartLoad(t *testing.T) {
	tc := startCluster(t, 2)
	for _, tt := range []struct {
		path, fn string
		args     []uint64 // f(args) = 1
		state    string   // every node's state once the load has settled
		err      string   // what a call of the module fails with; "" for success
	}{
		{basics, "add", []uint64{0, 1}, LoadCompiled, ""},
		{"testdata/badstart.wasm", "f", nil, LoadFailed, "data"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			l, err := tc.client.StartLoad(mustDecode(t, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			res, err := tc.client.Call(ctx, Call{Export: Export{Module: l.SHA256, Func: tt.fn}, Args: tt.args})
			args := make([][]uint64, 10)
			for i := range args {
				args[i] = tt.args
			}
			mres, merr := tc.client.Map(ctx, MapSpec{Export: Export{Module: l.SHA256, Func: tt.fn}, Args: args}, nil)
			if tt.err == "" {
				if err != nil || merr != nil {
					t.Fatalf("call right after StartLoad: %v; map: %v", err, merr)
				}
				if res.Values[0] != 1 || len(mres.Tasks) != 10 || mres.Tasks[9].Values[0] != 1 {
					t.Errorf("f() = %v; map: %+v", res.Values, mres.Tasks[9])
				}
			} else {
				var re *RemoteError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("call of a module no node could instantiate: %v, want a RemoteError about %q", err, tt.err)
				}
				if merr == nil || !strings.Contains(merr.Error(), tt.err) {
					t.Errorf("map of a module no node could instantiate: %v, want an error about %q", merr, tt.err)
				}
			}
			if err := l.Wait(ctx); (err == nil) != (tt.err == "") {
				t.Errorf("Wait: %v", err)
			}
			waitFor(t, func() bool { _, settled := l.Progress(); return settled })
			nodes, _ := l.Progress()
			if len(nodes) != 2 {
				t.Fatalf("progress of %d nodes, want 2", len(nodes))
			}
			for _, n := range nodes {
				if n.State != tt.state || (n.Sent != l.Size && !n.Cached) || (tt.err == "") != (n.Ready > 0 && n.Compiled >= n.Ready) {
					t.Errorf("node %s: %+v, want state %s with every byte sent or cached", n.Node, n, tt.state)
				}
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		l, err := tc.client.StartLoad(mustDecode(t, "testdata/stream.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		l.Cancel()
		if _, err := tc.client.Call(t.Context(), Call{Export: Export{Module: l.SHA256, Func: "tick_then_spin"}}); !errors.Is(err, ErrUnknownModule) {
			t.Errorf("call of a cancelled load: %v, want ErrUnknownModule", err)
		}
	})
}
