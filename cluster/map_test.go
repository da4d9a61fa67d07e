//go:build unix

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/wasm"
)

func addArgs(n int) [][]uint64 {
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(i)), api.EncodeI32(1)}
	}
	return args
}

func checkAdd(t *testing.T, r *MapResult) {
	t.Helper()
	for i, task := range r.Tasks {
		if task.Err != nil || len(task.Values) != 1 || api.DecodeI32(task.Values[0]) != int32(i)+1 {
			t.Fatalf("task %d: %v %v, want %d", i, task.Values, task.Err, i+1)
		}
	}
}

func TestMapInOrder(t *testing.T) {
	tc := startCluster(t, 3)
	sha := tc.load(t, basics)
	for _, chunk := range []int{0, 1, 50} {
		var calls atomic.Int32
		last := MapProgress{}
		r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: addArgs(2000), Chunk: chunk},
			func(p MapProgress) { calls.Add(1); last = p })
		if err != nil {
			t.Fatal(err)
		}
		checkAdd(t, r)
		if last.Done != 2000 || last.Total != 2000 || calls.Load() != 2000 {
			t.Errorf("chunk %d: last progress %+v after %d reports", chunk, last, calls.Load())
		}
		if len(r.PerNode()) < 2 || r.Retried != 0 {
			t.Errorf("chunk %d: per node %v, retried %d", chunk, r.PerNode(), r.Retried)
		}
		t.Logf("chunk %d (%s): %v, %.0f calls/s, per node %v", chunk, r.ChunkReason, r.Elapsed,
			2000/r.Elapsed.Seconds(), r.PerNode())
	}
}

func TestMapTrap(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	args := make([][]uint64, 100)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(1)}
	}
	args[42] = []uint64{0}
	for _, retries := range []int{0, 2} {
		r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "trap_div"}, Args: args, Retries: retries}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var trap *wasm.Trap
		for i, task := range r.Tasks {
			if (i == 42) != (task.Err != nil) {
				t.Errorf("task %d: error %v", i, task.Err)
			}
		}
		if !errors.As(r.Tasks[42].Err, &trap) || r.Failed != 1 || r.Tasks[42].Retries != retries || r.Retried != retries {
			t.Errorf("retries %d: task 42 %+v, failed %d, retried %d", retries, r.Tasks[42], r.Failed, r.Retried)
		}
	}
}

func TestMapCancel(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	r, err := tc.client.Map(ctx, MapSpec{Export: Export{Module: sha, Func: "spin"}, Args: make([][]uint64, 20)}, nil)
	t.Logf("map returned %v after the cancel", time.Since(deadline(ctx)))
	if !errors.Is(err, ErrInterrupted) || r == nil {
		t.Fatalf("cancelled map: %v, want ErrInterrupted", err)
	}
	// The nodes are usable again.
	r, err = tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: addArgs(100)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAdd(t, r)
}

// TestMapThroughput measures a 20,000-task map of add on 2 nodes, with chunk 1 and a large
// chunk: RAIN_MAP_THROUGHPUT=1 go test ./cluster/ -run MapThroughput -v
func TestMapThroughput(t *testing.T) {
	if os.Getenv("RAIN_MAP_THROUGHPUT") == "" {
		t.Skip("set RAIN_MAP_THROUGHPUT=1 to measure")
	}
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	args := addArgs(20000)
	for _, chunk := range []int{1, 0, 1000, 10000} {
		r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: args, Chunk: chunk}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkAdd(t, r)
		t.Logf("20,000 × add, chunk %d: %v, %.0f calls/s, per node %v", r.Chunk, r.Elapsed.Round(time.Millisecond),
			20000/r.Elapsed.Seconds(), r.PerNode())
	}
}

// A map restricted to some nodes runs only there; an unknown node is an error.
func TestMapNodes(t *testing.T) {
	tc := startCluster(t, 3)
	sha := tc.load(t, basics)
	nodes := tc.client.Nodes()
	only := []string{nodes[0].ID, nodes[2].ID}
	r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: addArgs(300), Chunk: 5, Nodes: only}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAdd(t, r)
	for id := range r.PerNode() {
		if id != only[0] && id != only[1] {
			t.Errorf("task ran on %s, not one of %v", id, only)
		}
	}
	_, err = tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: addArgs(3), Nodes: []string{"nope"}}, nil)
	if !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: %v, want ErrUnknownNode", err)
	}
}

// Auto-grain: a cheap function's chunks grow far above 1 and stay few, a costly one's stay
// small and shrink toward the tail.
func TestMapAutoGrain(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: addArgs(20000)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAdd(t, r)
	t.Logf("add: %.0f calls/s; %s", 20000/r.Elapsed.Seconds(), r.ChunkReason)
	// The tail stops shrinking where a chunk's work nears its overhead: no long run of tiny
	// chunks at the end (guided shares alone took about 70 chunks here).
	if r.Chunk < 1000 || r.Chunks[0] != 1 || len(r.Chunks) > 40 {
		t.Errorf("add: chunks %v, want 1 first, growing above 1000, at most 40 in all", r.Chunks)
	}
	total := 0
	for _, k := range r.Chunks {
		total += k
	}
	if total != 20000 {
		t.Errorf("chunks sum to %d, want 20000", total)
	}

	msha := tc.load(t, "../examples/mandelbrot.wasm")
	args := make([][]uint64, 256)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(448 + i%128))} // rows through the set: costly
	}
	r, err = tc.client.Map(t.Context(), MapSpec{Export: Export{Module: msha, Func: "row"}, Args: args}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("row: %v; %s", r.Elapsed, r.ChunkReason)
	if r.Chunk > 128 || r.Chunks[len(r.Chunks)-1] > 2 {
		t.Errorf("row: chunks %v, want small ones, down to 1 or 2 at the end", r.Chunks)
	}
}

// fibOf is fib as examples/basics.wat computes it.
func fibOf(n int) int32 {
	a, b := int32(0), int32(1)
	for range n {
		a, b = b, a+b
	}
	return a
}

// parentPID reads a process's parent from /proc (Linux); 0 if it cannot.
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
	s := string(b)
	var state string
	var ppid int
	if i := strings.LastIndexByte(s, ')'); i < 0 {
		return 0
	} else if _, err := fmt.Sscan(s[i+1:], &state, &ppid); err != nil {
		return 0
	}
	return ppid
}

// A whole node (supervisor and worker) killed with SIGKILL during a 10,000-task map on 3
// nodes: every result arrives once, correct and in input order; the lost tasks ran again on
// the other nodes once the node was declared lost.
func TestMapNodeKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the supervisor through /proc")
	}
	tc := startCluster(t, 3)
	sha := tc.load(t, basics)
	const n = 10000
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(14 + i%8))}
	}
	victim := tc.client.Nodes()[0]
	super := parentPID(victim.PID)
	if !slices.Contains(tc.nodes[0].PIDs(), super) {
		t.Fatalf("worker %d of node %s: parent %d is none of the supervisors %v", victim.PID, victim.ID, super, tc.nodes[0].PIDs())
	}
	var killed atomic.Int64 // when, in UnixNano
	seen := make([]int, n)
	r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "fib"}, Args: args, Chunk: 20}, func(p MapProgress) {
		seen[p.Index]++
		// Once a quarter is done, at a result of the victim's: it has done work, and has more out.
		if p.Done >= n/4 && p.Task.Node == victim.ID && killed.Load() == 0 {
			for _, pid := range []int{super, victim.PID} {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Error(err)
				}
			}
			killed.Store(time.Now().UnixNano())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if killed.Load() == 0 {
		t.Fatal("the map ended before the kill")
	}
	after := time.Since(time.Unix(0, killed.Load()))
	retried := 0
	for i, task := range r.Tasks {
		if task.Err != nil || len(task.Values) != 1 || api.DecodeI32(task.Values[0]) != fibOf(14+i%8) {
			t.Fatalf("task %d: %v %v, want %d", i, task.Values, task.Err, fibOf(14+i%8))
		}
		if seen[i] != 1 {
			t.Errorf("task %d reported %d times", i, seen[i])
		}
		if task.Retries > 0 {
			retried++
			if task.Node == victim.ID {
				t.Errorf("task %d retried on the killed node %s", i, victim.ID)
			}
		}
	}
	per := r.PerNode()
	if r.Retried == 0 || retried == 0 || len(per) != 3 || r.Failed != 0 {
		t.Errorf("retried %d (%d tasks), failed %d, per node %v", r.Retried, retried, r.Failed, per)
	}
	t.Logf("%v in all, %v after the kill; retried %d; per node %v", r.Elapsed.Round(time.Millisecond),
		after.Round(time.Millisecond), r.Retried, per)
}

// throttle pins every thread of process pid to CPU cpu, at nice, with taskset(1) and
// setpriority(2) (Linux nices threads, not processes).
func throttle(t *testing.T, pid, cpu, nice int) {
	t.Helper()
	if out, err := exec.Command("taskset", "-a", "-p", "-c", fmt.Sprint(cpu), fmt.Sprint(pid)).CombinedOutput(); err != nil {
		t.Skipf("taskset: %v: %s", err, out)
	}
	tids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range tids {
		var tid int
		fmt.Sscan(d.Name(), &tid)
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
			t.Fatalf("setpriority %d: %v", tid, err)
		}
	}
}

// Pull scheduling with one node slowed down: its worker shares CPU 1, at nice 19, with a
// busy loop, while the other node's worker has CPU 0. The faster node takes more tasks.
func TestMapHeterogeneous(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.NumCPU() < 2 {
		t.Skip("needs Linux and 2 CPUs")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("needs taskset")
	}
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	nodes := tc.client.Nodes()
	slow, fast := nodes[0], nodes[1]
	hog := exec.Command("taskset", "-c", "1", "sh", "-c", "while :; do :; done")
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hog.Process.Kill(); hog.Wait() })
	throttle(t, slow.PID, 1, 19)
	throttle(t, fast.PID, 0, 0)

	const n = 400
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(25)}
	}
	r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "fib"}, Args: args, Chunk: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, task := range r.Tasks {
		if task.Err != nil || api.DecodeI32(task.Values[0]) != fibOf(25) {
			t.Fatalf("task %d: %v %v", i, task.Values, task.Err)
		}
	}
	per := r.PerNode()
	t.Logf("%v; fast %s: %+v; slow %s: %+v", r.Elapsed.Round(time.Millisecond), fast.ID, per[fast.ID], slow.ID, per[slow.ID])
	// How much slower the throttled node was depends on what else the machine runs (other
	// tests beside this one share CPU 0 too): each node's speed is what it showed, its busy
	// time per task, and the faster one must have taken more tasks.
	f, s := per[fast.ID], per[slow.ID]
	if f.Tasks == 0 || s.Tasks == 0 {
		t.Fatalf("a node took no task: fast %+v, slow %+v", f, s)
	}
	fc, sc := f.Busy/time.Duration(f.Tasks), s.Busy/time.Duration(s.Tasks)
	if 5*sc < 6*fc {
		t.Skipf("the machine's other load left the nodes within 20%% of each other (%v and %v a task)", fc, sc)
	}
	if f.Tasks <= s.Tasks {
		t.Errorf("the fast node (%v a task) took %d tasks, the slow one (%v a task) %d", fc, f.Tasks, sc, s.Tasks)
	}
}

// BenchmarkMap measures the throughput of a map of a tiny function (add) over 500,000 inputs
// in large chunks on 2 local nodes, the regime where the per-call costs (encoding, the Wasm
// call, the results) weigh and not the round trips; with a progress callback per task, as a
// session's pmap has, and without:
//
//	go test ./cluster -run '^$' -bench 'BenchmarkMap$' -benchtime 5x
func BenchmarkMap(b *testing.B) {
	tc := startCluster(b, 2)
	sha := tc.load(b, basics)
	const calls = 500_000
	args := make([][]uint64, calls)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(i)), api.EncodeI32(1)}
	}
	var last MapProgress
	for _, bench := range []struct {
		name     string
		chunk    int
		progress func(MapProgress)
	}{
		{"chunk=10000", 10_000, nil},
		{"chunk=10000/progress", 10_000, func(p MapProgress) { last = p }},
	} {
		b.Run(bench.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				r, err := tc.client.Map(b.Context(), MapSpec{Export: Export{Module: sha, Func: "add"}, Args: args, Chunk: bench.chunk}, bench.progress)
				total += time.Since(t0)
				if err != nil || r.Failed > 0 || bench.progress != nil && last.Done != calls {
					b.Fatal(err, r.Failed, last.Done)
				}
			}
			b.ReportMetric(float64(calls*b.N)/total.Seconds(), "calls/s")
		})
	}
}

// A node whose worker is busy (a call that never returns, known to run from its output) holds
// two chunks of a map in its queue. Once the other node has run every other chunk, it steals
// the one queued last — no task runs twice, none counts as a retry, no worker is killed — and
// the map ends when the busy node, set free, runs the chunk it kept.
func TestMapStealsQueuedChunk(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	stream := tc.load(t, "testdata/stream.wasm")
	nodes := tc.client.Nodes()
	busy, idle := nodes[0], nodes[1]
	spinCtx, stop := context.WithCancel(t.Context())
	defer stop()
	out, spun := tc.spin(spinCtx, stream, busy.ID)
	<-out.first

	const n, chunk = 400, 20 // chunks of 20 or more: 2 per node, one kept and one stolen
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(10 + i%6))}
	}
	var freed atomic.Bool
	r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "fib"}, Args: args, Chunk: chunk}, func(p MapProgress) {
		// Every task but those of the chunk the busy node kept: set it free.
		if p.Done == n-chunk && freed.CompareAndSwap(false, true) {
			stop()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !freed.Load() {
		t.Fatal("the map ended with the busy node's chunks still queued")
	}
	if err := <-spun; !errors.Is(err, ErrInterrupted) {
		t.Errorf("the spinning call ended with %v, want ErrInterrupted", err)
	}
	for i, task := range r.Tasks {
		if task.Err != nil || api.DecodeI32(task.Values[0]) != fibOf(10+i%6) {
			t.Fatalf("task %d: %v %v", i, task.Values, task.Err)
		}
	}
	per := r.PerNode()
	if r.Stolen != chunk || r.Retried != 0 || per[busy.ID].Tasks != chunk || per[idle.ID].Tasks != n-chunk {
		t.Errorf("stolen %d, retried %d, per node %v: want %d stolen, 0 retried, %d tasks on %s", r.Stolen, r.Retried, per, chunk, chunk, busy.ID)
	}
	if got := tc.node(t, idle.ID); got.Restarts != 0 || got.PID != idle.PID {
		t.Errorf("the idle node's worker restarted: %+v", got)
	}
}
