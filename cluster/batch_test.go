//go:build unix

package cluster

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rain-wasm/rain/wasm"
)

func TestCallBatch(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	for _, n := range []int{1, 1000, 70_000} { // 70,000 pairs are more than one message
		args := make([][]uint64, n)
		for i := range args {
			args[i] = []uint64{uint64(i), 3}
		}
		res, err := tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "add"}, Args: args})
		if err != nil {
			t.Fatalf("%d adds: %v", n, err)
		}
		if len(res) != n {
			t.Fatalf("%d adds: %d results", n, len(res))
		}
		for i, r := range res {
			if r.Err != nil || len(r.Values) != 1 || r.Values[0] != uint64(i+3) {
				t.Fatalf("add(%d, 3) = %v, %v", i, r.Values, r.Err)
			}
			if r.Started.IsZero() || r.Finished.Before(r.Started) || r.Received.Before(r.Submitted) || r.Node == "" {
				t.Fatalf("add(%d, 3): times %+v", i, r)
			}
			if i > 0 && r.Started.Before(res[i-1].Finished) && r.Submitted == res[i-1].Submitted {
				t.Fatalf("call %d started before call %d finished", i, i-1)
			}
		}
	}

	// A trap fails its call alone; the instance carries on.
	res, err := tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "trap_div"}, Args: [][]uint64{{5}, {0}, {20}}})
	if err != nil {
		t.Fatal(err)
	}
	var trap *wasm.Trap
	if res[0].Values[0] != 20 || res[2].Values[0] != 5 || res[0].Err != nil || res[2].Err != nil {
		t.Errorf("trap_div 5, 20 = %+v, %+v", res[0], res[2])
	}
	if !errors.As(res[1].Err, &trap) || !strings.Contains(trap.Reason, "divide by zero") || res[1].Values != nil {
		t.Errorf("trap_div(0) = %+v, want a trap", res[1])
	}

	// Multi-value results.
	res, err = tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "divmod"}, Args: [][]uint64{{7, 2}, {9, 3}}})
	if err != nil || res[0].Values[0] != 3 || res[0].Values[1] != 1 || res[1].Values[0] != 3 || res[1].Values[1] != 0 {
		t.Errorf("divmod: %+v, %v", res, err)
	}

	// Empty batches cost nothing.
	if res, err := tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "add"}}); res != nil || err != nil {
		t.Errorf("empty batch: %v, %v", res, err)
	}
}

func TestCallBatchErrors(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		b    BatchCall
		want error
	}{
		{"unknown module", BatchCall{Export: Export{Module: "feed", Func: "add"}, Args: [][]uint64{{1, 2}}}, ErrUnknownModule},
		{"unknown node", BatchCall{Export: Export{Module: sha, Func: "add"}, Args: [][]uint64{{1, 2}}, Node: "nope"}, ErrUnknownNode},
		{"no export", BatchCall{Export: Export{Module: sha, Func: "nope"}, Args: [][]uint64{{1, 2}}}, wasm.ErrNoExport},
		{"arity", BatchCall{Export: Export{Module: sha, Func: "add"}, Args: [][]uint64{{1}}}, nil},
		{"ragged", BatchCall{Export: Export{Module: sha, Func: "add"}, Args: [][]uint64{{1, 2}, {1}}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tc.client.CallBatch(ctx, tt.b)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("%v, want %v", err, tt.want)
			}
		})
	}
}

// Cancelling a running batch restarts the node's worker, as for a call; a queued message of
// the same batch is dropped.
func TestCallBatchInterrupt(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	node := tc.client.Nodes()[0].ID
	tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}, Node: node})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	res, err := tc.client.CallBatch(ctx, BatchCall{Export: Export{Module: sha, Func: "spin"}, Args: make([][]uint64, 3), Node: node})
	late := time.Since(deadline(ctx))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("spin batch: %v, want ErrInterrupted", err)
	}
	t.Logf("returned %v after the cancel", late)
	if len(res) != 3 || !errors.Is(res[2].Err, ErrInterrupted) {
		t.Errorf("results %+v", res)
	}
	if got := tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}, Node: node}).Values[0]; got != 1 {
		t.Errorf("bump after the interrupt = %d, want 1 (a fresh instance)", got)
	}
}

// BenchmarkCallBatch runs 20,000 adds on 2 local nodes in batches of 1 (256 batches in flight)
// and of 2,000, and reports calls/s:
//
//	go test ./cluster/ -run '^$' -bench CallBatch -benchtime 5x
func BenchmarkCallBatch(b *testing.B) {
	tc := startCluster(b, 2)
	client, sha := tc.client, tc.load(b, basics)
	const calls = 20_000
	args := make([][]uint64, calls)
	for i := range args {
		args[i] = []uint64{uint64(i), 1}
	}
	for _, size := range []int{1, 2000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			inflight := max(2, min(256, calls/size))
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				next := 0
				for range inflight {
					wg.Go(func() {
						for {
							mu.Lock()
							lo := next
							next += size
							mu.Unlock()
							if lo >= calls {
								return
							}
							res, err := client.CallBatch(b.Context(), BatchCall{Export: Export{Module: sha, Func: "add"}, Args: args[lo:min(lo+size, calls)]})
							if err != nil || res[0].Values[0] != uint64(lo+1) {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				total += time.Since(t0)
			}
			b.ReportMetric(float64(calls*b.N)/total.Seconds(), "calls/s")
		})
	}
}
