package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// A worker killed mid-map, while a task is known to run: the task runs again (a retry), and
// every result arrives once. The task is testdata/gate.wasm's hold, which says it started (a
// file) and waits to be let through (another file).
func TestMapWorkerKilled(t *testing.T) {
	gate := t.TempDir()
	s := node.DefaultSettings()
	s.Grants = []wasm.Grant{{Host: gate, Guest: gate}}
	tc := startClusterWith(t, 2, s)
	sha := tc.load(t, "testdata/gate.wasm")
	started := watchCreate(t, gate, "started")
	const n = 40
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(i))}
	}
	nodes := tc.client.Nodes()
	type result struct {
		r   *MapResult
		err error
	}
	done := make(chan result, 1)
	seen := make([]atomic.Int32, n)
	go func() {
		r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "hold"}, Args: args, Chunk: 1}, func(p MapProgress) {
			seen[p.Index].Add(1)
		})
		done <- result{r, err}
	}()
	<-started // a task runs, and waits: kill every worker
	for _, nd := range nodes {
		if err := syscall.Kill(nd.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range nodes {
		waitFor(t, func() bool { return tc.node(t, nd.ID).Restarts > nd.Restarts })
	}
	if err := os.WriteFile(filepath.Join(gate, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	for i, task := range r.Tasks {
		if task.Err != nil || api.DecodeI32(task.Values[0]) != int32(i) || seen[i].Load() != 1 {
			t.Fatalf("task %d: %v %v, reported %d times", i, task.Values, task.Err, seen[i].Load())
		}
	}
	if r.Retried == 0 {
		t.Errorf("retried 0 after the workers were killed; per node %v", r.PerNode())
	}
	t.Logf("retried %d, %v, per node %v", r.Retried, r.Elapsed, r.PerNode())
}

// watchCreate returns a channel closed once a file called name is created in dir.
func watchCreate(t *testing.T, dir, name string) <-chan struct{} {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	created := make(chan struct{})
	go func() {
		defer syscall.Close(fd)
		buf := make([]byte, 4096)
		for {
			k, err := syscall.Read(fd, buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= k; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				raw := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				if strings.TrimRight(string(raw), "\x00") == name {
					close(created)
					return
				}
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}()
	return created
}

// startVictim is a cluster of two nodes, the second of which (its ID, its supervisor's PID) a
// test kills.
func startVictim(t *testing.T) (tc *testCluster, victim string, pid int) {
	tc = startCluster(t, 1)
	first := tc.client.Nodes()[0].ID
	tc.addNodes(t, 1, node.DefaultSettings())
	for _, n := range tc.client.Nodes() {
		if n.ID != first {
			victim = n.ID
		}
	}
	return tc, victim, tc.nodes[1].PIDs()[0]
}

// stop stops process pid (SIGSTOP), and returns once the kernel says it is stopped.
func stop(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "T" {
			return
		}
		runtime.Gosched()
	}
}

// A node killed during a map over scattered data loses its parts: they are sent again from the
// client's copy to the other node, their tasks run there, and the map ends with every result,
// equal to those of the parts. The node is stopped before the map (so that it surely has tasks
// to lose) and killed once the other node has answered. The client's copy is one ScatterCopy
// made: the caller's bytes are cleared after the scatter.
func TestMapOverDataNodeKilled(t *testing.T) {
	tc, victim, pid := startVictim(t)
	sha := tc.load(t, stats)
	data := testData(1 << 20)
	parts := cut(data, 8)
	want, orig := sums(parts), bytes.Clone(data)
	placed, err := tc.client.ScatterCopy(t.Context(), parts, 8)
	if err != nil {
		t.Fatal(err)
	}
	clear(data)
	lost := 0
	for _, p := range placed {
		if p.Node == victim {
			lost++
		}
	}
	if lost == 0 || lost == len(parts) {
		t.Fatalf("parts on %v: want some on each node", placed)
	}
	stop(t, pid)
	killed := false
	r, err := tc.client.Map(t.Context(), sumSpec(sha, placed), func(p MapProgress) {
		if !killed {
			killed = true
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, r, want)
	for i, task := range r.Tasks {
		if task.Node == victim {
			t.Errorf("task %d ran on the node killed: %+v", i, task)
		}
	}
	shas := make([]string, len(placed))
	for i, p := range placed {
		shas[i] = p.Hash
	}
	for i, p := range tc.client.DataParts(shas) {
		if p.Node == victim || p.Node == "" {
			t.Errorf("part %d is on %q after the map", i, p.Node)
		}
	}
	back, err := tc.client.Gather(t.Context(), shas)
	if err != nil || !bytes.Equal(bytes.Join(back, nil), orig) {
		t.Fatalf("gathered after the loss: %v", err)
	}
	t.Logf("%d parts lost with the node; retried %d, %v", lost, r.Retried, r.Elapsed)
}

// A map's outputs kept on a node that is then killed are computed again, from their inputs
// sent again, when a next map needs them.
func TestKeptLostComputedAgain(t *testing.T) {
	tc, victim, pid := startVictim(t)
	sha := tc.load(t, stats)
	data := testData(1 << 18)
	parts := cut(data, 4)
	placed, err := tc.client.Scatter(t.Context(), parts, 8)
	if err != nil {
		t.Fatal(err)
	}
	r := scaleKept(t, tc, sha, placed, 3)
	var kept []DataPart
	var want [][]byte
	for i, task := range r.Tasks {
		if task.Err != nil {
			t.Fatal(task.Err)
		}
		kept = append(kept, *task.Kept)
		xs := make([]float64, len(parts[i])/8)
		for k := range xs {
			xs[k] = 3 * math.Float64frombits(binary.LittleEndian.Uint64(parts[i][8*k:]))
		}
		want = append(want, f64s(xs))
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, tc.client, func(nodes []NodeInfo) bool {
		for _, n := range nodes {
			if n.ID == victim {
				return !n.Ready
			}
		}
		return true
	})
	r2, err := tc.client.Map(t.Context(), sumSpec(sha, kept), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, r2, sums(want))
	shas := make([]string, len(kept))
	for i, k := range kept {
		shas[i] = k.Hash
	}
	back, err := tc.client.Gather(t.Context(), shas)
	if err != nil || !bytes.Equal(bytes.Join(back, nil), bytes.Join(want, nil)) {
		t.Fatalf("gathered after the loss: %v", err)
	}
}

// A node killed, or stopped, while a part is on its way to it over its data link: the part is
// placed on the other node, and comes back whole.
func TestScatterNodeLostOnLink(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		t.Run(sig.String(), func(t *testing.T) {
			tc, victim, pid := startVictim(t)
			hit := false
			tc.client.damage = func(id string, off int, data []byte) []byte {
				if id == victim && !hit {
					hit = true
					if sig == syscall.SIGSTOP {
						stop(t, pid)
					} else {
						syscall.Kill(pid, sig)
					}
				}
				return data
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			data := testData(32 << 20 / 8)
			placed, err := tc.client.Scatter(t.Context(), cut(data, 2), 8)
			if err != nil {
				t.Fatal(err)
			}
			if !hit {
				t.Fatalf("no part went to node %s: %v", victim, placed)
			}
			for i, p := range placed {
				if p.Node == victim || p.Node == "" {
					t.Errorf("part %d is on %q", i, p.Node)
				}
			}
			back, err := tc.client.Gather(t.Context(), []string{placed[0].Hash, placed[1].Hash})
			if err != nil || !bytes.Equal(Joined(back), data) {
				t.Fatalf("gathered after the loss: %v", err)
			}
		})
	}
}
