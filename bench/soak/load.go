//go:build linux

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rain-wasm/rain/cluster"
)

// tally is what the sessions' maps add up to; its methods are safe for concurrent use.
type tally struct {
	mu         sync.Mutex
	calls      int // tasks whose right result came back once
	maps       int
	reruns     int // MapResult.Retried, summed
	lost       int // tasks with no result, an error, or a wrong value
	duplicated int // results reported more than once
	failures   []string
}

func (t *tally) snapshot() tally {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tally{calls: t.calls, maps: t.maps, reruns: t.reruns, lost: t.lost, duplicated: t.duplicated,
		failures: append([]string(nil), t.failures...)}
}

// workload is one kind of map a session runs: an export of examples/basics.wasm, the
// arguments of map k of session s, and the answer computed here.
type workload struct {
	fn   string
	args func(s, k, n int) [][]uint64
	want func(args []uint64) uint64
}

var fibs = func() []uint64 {
	f := make([]uint64, 31)
	f[1] = 1
	for i := 2; i < len(f); i++ {
		f[i] = f[i-1] + f[i-2]
	}
	return f
}()

var workloads = []workload{
	{ // i32 adds that wrap: cheap calls, where messaging sets the pace
		fn: "add",
		args: func(s, k, n int) [][]uint64 {
			base := uint32(s)<<30 + uint32(k)*7919
			a := make([][]uint64, n)
			for i := range a {
				a[i] = []uint64{uint64(base + uint32(i)*2654435761), uint64(uint32(k) ^ uint32(i))}
			}
			return a
		},
		want: func(a []uint64) uint64 { return uint64(uint32(a[0]) + uint32(a[1])) },
	},
	{ // fib(n) by recursion, n from 5 to 22: calls of uneven cost
		fn: "fib",
		args: func(s, k, n int) [][]uint64 {
			a := make([][]uint64, n/20)
			for i := range a {
				a[i] = []uint64{uint64(5 + (i*7+k+s)%18)}
			}
			return a
		},
		want: func(a []uint64) uint64 { return fibs[a[0]] },
	},
}

// session runs maps back to back on one client until ctx ends, checking every answer, and
// adds them to t. Map k of the session runs workload k mod len(workloads).
func session(ctx context.Context, c *cluster.Client, module string, s, size int, mapTimeout time.Duration, t *tally) {
	for k := 0; ctx.Err() == nil; k++ {
		w := workloads[k%len(workloads)]
		args := w.args(s, k, size)
		seen := make([]uint8, len(args))
		mctx, cancel := context.WithTimeout(context.Background(), mapTimeout) // a map that began ends
		r, err := c.Map(mctx, cluster.MapSpec{Export: cluster.Export{Module: module, Func: w.fn}, Args: args},
			func(p cluster.MapProgress) {
				if seen[p.Index] < 255 {
					seen[p.Index]++
				}
			})
		cancel()
		var good, lost, dup int
		var first string
		for i, a := range args {
			want := w.want(a)
			if seen[i] > 1 {
				dup += int(seen[i]) - 1
			}
			var task cluster.Result
			if r != nil && i < len(r.Tasks) {
				task = r.Tasks[i]
			}
			switch {
			case seen[i] == 0 || task.Err != nil || len(task.Values) != 1:
				lost++
				if first == "" {
					first = fmt.Sprintf("%s%v: no result (reported %d times, error %v)", w.fn, a, seen[i], task.Err)
				}
			case uint32(task.Values[0]) != uint32(want): // i32 results
				lost++
				if first == "" {
					first = fmt.Sprintf("%s%v = %d on %s, want %d", w.fn, a, task.Values[0], task.Node, want)
				}
			default:
				good++
			}
		}
		t.mu.Lock()
		t.maps++
		t.calls += good
		t.lost += lost
		t.duplicated += dup
		if r != nil {
			t.reruns += r.Retried
		}
		if err != nil || lost > 0 || dup > 0 {
			t.failures = append(t.failures, fmt.Sprintf("session %d, map %d (%s × %d): error %v, %d lost, %d duplicated; %s",
				s, k, w.fn, len(args), err, lost, dup, first))
		}
		t.mu.Unlock()
	}
}
