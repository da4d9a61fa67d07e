//go:build unix

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// testCluster is a hub, a client and n local nodes, all stopped when the test ends.
type testCluster struct {
	hub    *Hub
	client *Client
	nodes  []*launch.LocalNodes
	logDir string
}

func startCluster(t testing.TB, n int, opts ...ClientOption) *testCluster {
	t.Helper()
	return startClusterWith(t, n, node.DefaultSettings(), opts...)
}

// startClusterWith is startCluster with nodes started with settings s (in the cache directory
// the test nodes share).
func startClusterWith(t testing.TB, n int, s node.Settings, opts ...ClientOption) *testCluster {
	t.Helper()
	return startClusterOn(t, startHub(t), n, s, opts...)
}

// startHub starts a hub with opts, shut down when the test ends.
func startHub(t testing.TB, opts ...HubOption) *Hub {
	t.Helper()
	hub, err := StartHub(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	return hub
}

// startClusterOn is startClusterWith on hub.
func startClusterOn(t testing.TB, hub *Hub, n int, s node.Settings, opts ...ClientOption) *testCluster {
	t.Helper()
	ctx := t.Context()
	client, err := Connect(ctx, hub.URL(), hub.Token(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	tc := &testCluster{hub: hub, client: client, logDir: t.TempDir()}
	tc.addNodes(t, n, s)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(tc.logDir, "*", "*.log"))
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	return tc
}

// addNodes starts n more nodes with settings s (in the cache directory the test nodes share),
// and waits until all are ready.
func (tc *testCluster) addNodes(t testing.TB, n int, s node.Settings) {
	t.Helper()
	dir := filepath.Join(tc.logDir, string(rune('a'+len(tc.nodes))))
	s.CacheDir = testCache
	l, err := launch.Local(t.Context(), os.Args[0], n, tc.hub.URL(), tc.hub.Token(), s, launch.WithLogDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	tc.nodes = append(tc.nodes, l)
	total := 0
	for _, l := range tc.nodes {
		total += len(l.PIDs())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tc.client.WaitNodes(ctx, total); err != nil {
		t.Fatal(err)
	}
}

func (tc *testCluster) load(t testing.TB, path string) string {
	t.Helper()
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sha, err := tc.client.Load(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func (tc *testCluster) call(t *testing.T, c Call) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := tc.client.Call(ctx, c)
	if err != nil {
		t.Fatalf("%s: %v", c.Func, err)
	}
	return res
}

// spin starts a call of stream.wasm's tick_then_spin (module sha), on node (or any node if
// ""), which prints "tick\n" and never returns: its output, whose first is closed at the tick,
// and its end.
func (tc *testCluster) spin(ctx context.Context, sha, node string) (*syncWriter, <-chan error) {
	out := newSyncWriter()
	errc := make(chan error, 1)
	go func() {
		_, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "tick_then_spin"}, Node: node, Stdout: out})
		errc <- err
	}()
	return out, errc
}

func (tc *testCluster) node(t *testing.T, id string) NodeInfo {
	t.Helper()
	for _, n := range tc.client.Nodes() {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("node %s not listed", id)
	return NodeInfo{}
}

const basics = "../examples/basics.wasm"

func TestNodesJoin(t *testing.T) {
	tc := startCluster(t, 2)
	nodes := tc.client.Nodes()
	if len(nodes) != 2 {
		t.Fatalf("%d nodes listed, want 2: %+v", len(nodes), nodes)
	}
	for _, n := range nodes {
		if n.ID == "" || n.Host == "" || n.OS == "" || n.Arch == "" || n.Cores < 1 || n.Engine == "" || !n.Ready || n.PID == 0 {
			t.Errorf("incomplete node info: %+v", n)
		}
	}
	if nodes[0].ID == nodes[1].ID {
		t.Errorf("two nodes with ID %s", nodes[0].ID)
	}
}

func TestLoadAndCall(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	for _, n := range tc.client.Nodes() {
		res := tc.call(t, Call{Export: Export{Module: sha, Func: "fib"}, Args: []uint64{api.EncodeI32(20)}, Node: n.ID})
		if len(res.Values) != 1 || api.DecodeI32(res.Values[0]) != 6765 {
			t.Errorf("fib(20) on %s = %v, want 6765", n.ID, res.Values)
		}
		if res.Node != n.ID {
			t.Errorf("ran on %s, asked for %s", res.Node, n.ID)
		}
		if !(!res.Submitted.After(res.Received) && !res.Started.After(res.Finished) && !res.Started.IsZero()) {
			t.Errorf("timestamps out of order: %+v", res)
		}
	}
	// Least-loaded scheduling spreads concurrent calls over both nodes.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			res := tc.call(t, Call{Export: Export{Module: sha, Func: "add"}, Args: []uint64{api.EncodeI32(int32(i)), 1}})
			if got := api.DecodeI32(res.Values[0]); got != int32(i)+1 {
				t.Errorf("add(%d, 1) = %d", i, got)
			}
			mu.Lock()
			seen[res.Node]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 2 {
		t.Errorf("20 calls ran on %v, want both nodes", seen)
	}

	// Round-trip latency of a tiny call.
	const rounds = 500
	node := tc.client.Nodes()[0].ID
	start := time.Now()
	for range rounds {
		tc.call(t, Call{Export: Export{Module: sha, Func: "add"}, Args: []uint64{1, 2}, Node: node})
	}
	t.Logf("round trip of a tiny call: %v (mean of %d)", time.Since(start)/rounds, rounds)

	// Errors that are not traps.
	_, err := tc.client.Call(t.Context(), Call{Export: Export{Module: sha, Func: "nope"}})
	if !errors.Is(err, wasm.ErrNoExport) {
		t.Errorf("call of a missing export: %v, want wasm.ErrNoExport", err)
	}
	if _, err := tc.client.Call(t.Context(), Call{Export: Export{Module: strings.Repeat("0", 64), Func: "f"}}); !errors.Is(err, ErrUnknownModule) {
		t.Errorf("call of an unknown module: %v, want ErrUnknownModule", err)
	}
	if _, err := tc.client.Call(t.Context(), Call{Export: Export{Module: sha, Func: "fib"}, Node: "nobody"}); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("call on an unknown node: %v, want ErrUnknownNode", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tc := startCluster(t, 1)
	if _, err := tc.client.Load(t.Context(), []byte("not wasm")); !errors.Is(err, wasm.ErrNotWasm) {
		t.Errorf("load of junk: %v, want wasm.ErrNotWasm", err)
	}
	bin, _ := os.ReadFile("testdata/missing.wasm")
	if _, err := tc.client.Load(t.Context(), bin); !errors.Is(err, wasm.ErrImport) {
		t.Errorf("load of a module with a missing import: %v, want wasm.ErrImport", err)
	}
}

// A module bigger than one chunk arrives whole.
func TestChunks(t *testing.T) {
	tc := startCluster(t, 1, WithChunkSize(100))
	sha := tc.load(t, "../examples/mandelbrot.wasm")
	if n := tc.client.Nodes()[0]; len(n.Modules) != 1 || n.Modules[0] != sha {
		t.Errorf("node lists modules %v, want [%s]", n.Modules, sha)
	}
	info, err := mustDecode(t, "../examples/mandelbrot.wasm").Describe()
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Exports) == 0 {
		t.Fatal("mandelbrot exports nothing")
	}
	// Two clients send the same module at once, in interleaved chunks.
	other, err := Connect(t.Context(), tc.hub.URL(), tc.hub.Token(), WithChunkSize(100))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.WaitNodes(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	bin := mustRead(t, basics)
	errc := make(chan error, 2)
	for _, c := range []*Client{tc.client, other} {
		go func() { _, err := c.Load(t.Context(), bin); errc <- err }()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	sha2 := tc.load(t, basics)
	res := tc.call(t, Call{Export: Export{Module: sha2, Func: "fib"}, Args: []uint64{10}})
	if res.Values[0] != 55 {
		t.Errorf("fib(10) = %d", res.Values[0])
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustDecode reads and decodes a module, as StartLoad takes it.
func mustDecode(t *testing.T, path string) *wasm.Module {
	t.Helper()
	m, err := wasm.Decode(mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrap(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	_, err := tc.client.Call(t.Context(), Call{Export: Export{Module: sha, Func: "trap_div"}, Args: []uint64{0}})
	var re *RemoteError
	var trap *wasm.Trap
	if !errors.As(err, &re) || !errors.As(err, &trap) {
		t.Fatalf("trap_div(0): %v (%T), want a *RemoteError holding a *wasm.Trap", err, err)
	}
	if re.Node == "" || re.Func != "trap_div" || trap.Func != "trap_div" || !strings.Contains(trap.Reason, "divide by zero") {
		t.Errorf("RemoteError %+v, Trap %+v", re, trap)
	}
}

// syncWriter is a buffer that tells when its first write arrives.
type syncWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func newSyncWriter() *syncWriter { return &syncWriter{first: make(chan struct{})} }

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.first) })
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Output arrives while the call runs; cancelling it restarts the worker; the next call on the
// node runs on a fresh instance.
func TestOutputWhileRunning(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	node := tc.client.Nodes()[0].ID
	ctx, cancel := context.WithCancel(t.Context())
	out, errc := tc.spin(ctx, sha, "")
	select {
	case <-out.first:
	case err := <-errc:
		t.Fatalf("call ended before its output: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no output while the call runs")
	}
	cancel()
	cancelled := time.Now()
	if err := <-errc; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("cancelled call: %v, want ErrInterrupted", err)
	}
	t.Logf("cancel took %v", time.Since(cancelled))
	if got := out.String(); got != "tick\n" {
		t.Errorf("stdout %q", got)
	}
	out2 := newSyncWriter()
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{3}, Node: node, Stdout: out2})
	if res.Values[0] != 3 || out2.String() != "tick\ntick\ntick\n" {
		t.Errorf("ticks(3) = %v with stdout %q", res.Values, out2.String())
	}
}

// Cancelling a call that never returns (a loop, or deep recursion with no loop) returns
// ErrInterrupted at once, and the node comes back with its modules.
func TestInterrupt(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	node := tc.client.Nodes()[0].ID
	for _, tt := range []struct {
		name string
		fn   string
		args []uint64
	}{
		{"loop", "spin", nil},
		{"recursion", "recurse", []uint64{60}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}, Node: node})
			tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}, Node: node})
			restarts := tc.node(t, node).Restarts
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: tt.fn}, Args: tt.args, Node: node})
			late := time.Since(deadline(ctx))
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("%s: %v, want ErrInterrupted", tt.fn, err)
			}
			t.Logf("%s returned %v after the cancel", tt.fn, late) // how soon is the pty REPL test's and the benchmarks' to say: this machine may be busy
			// The next call runs on a new worker: the instance is fresh.
			if got := tc.call(t, Call{Export: Export{Module: sha, Func: "bump"}, Node: node}).Values[0]; got != 1 {
				t.Errorf("bump after the interrupt = %d, want 1 (a fresh instance)", got)
			}
			waitFor(t, func() bool { return tc.node(t, node).Restarts > restarts })
		})
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// waitFor waits for cond, checking each time the client learns something of a node.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-timeout:
			t.Fatal("condition not met within 5 s")
		}
	}
}

// A worker killed during a call: the call fails with ErrNodeLost, and the node comes back.
func TestWorkerKilled(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	info := tc.client.Nodes()[0]
	out, errc := tc.spin(t.Context(), sha, "")
	<-out.first
	if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	err := <-errc
	var re *RemoteError
	if !errors.As(err, &re) || !errors.Is(err, ErrNodeLost) || re.Node != info.ID {
		t.Fatalf("call on a killed worker: %v, want a *RemoteError with ErrNodeLost", err)
	}
	t.Logf("%v after %v", err, time.Since(killed))
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{1}})
	if res.Values[0] != 1 {
		t.Errorf("ticks(1) = %v", res.Values)
	}
}

func TestWrongToken(t *testing.T) {
	hub, err := StartHub(WithHubToken("right"))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	if _, err := Connect(t.Context(), hub.URL(), "wrong"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("client with a wrong token: %v, want ErrUnauthorized", err)
	}
	if _, err := Connect(t.Context(), hub.URL(), ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("client with no token: %v, want ErrUnauthorized", err)
	}
	err = node.Run(t.Context(), node.WithJoin(hub.URL()), node.WithToken("wrong"), inCache(t.TempDir()), node.WithLog(&bytes.Buffer{}))
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("node with a wrong token: %v, want ErrUnauthorized", err)
	}
}

// A node that joins after Load gets the module.
func TestLateNode(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, basics)
	first := tc.client.Nodes()[0].ID
	tc.addNodes(t, 1, node.DefaultSettings())
	var late string
	for _, n := range tc.client.Nodes() {
		if n.ID != first {
			late = n.ID
		}
	}
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "fib"}, Args: []uint64{12}, Node: late})
	if res.Values[0] != 144 || res.Node != late {
		t.Errorf("fib(12) on the late node: %+v", res)
	}
	waitFor(t, func() bool { m := tc.node(t, late).Modules; return len(m) == 1 && m[0] == sha })
}

// A node whose supervisor is killed during a call: its worker dies with it, and the client
// fails the call with ErrNodeLost once the heartbeats stop.
func TestSupervisorKilled(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	info := tc.client.Nodes()[0]
	out, errc := tc.spin(t.Context(), sha, "")
	<-out.first
	if err := syscall.Kill(tc.nodes[0].PIDs()[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := <-errc; !errors.Is(err, ErrNodeLost) {
		t.Fatalf("call on a node whose supervisor died: %v, want ErrNodeLost", err)
	}
	t.Logf("loss reported after %v", time.Since(killed))
	if runtime.GOOS == "linux" {
		waitFor(t, func() bool { return !alive(info.PID) })
	}
	if n := tc.node(t, info.ID); n.Ready {
		t.Errorf("lost node still ready: %+v", n)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// A node whose hub goes away for good stops.
func TestHubLost(t *testing.T) {
	hub, err := StartHub()
	if err != nil {
		t.Fatal(err)
	}
	client, err := Connect(t.Context(), hub.URL(), hub.Token())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- node.Run(t.Context(), node.WithJoin(hub.URL()), node.WithToken(hub.Token()), inCache(t.TempDir()),
			node.WithLog(io.Discard), node.WithReconnectWindow(500*time.Millisecond))
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := client.WaitNodes(ctx, 1); err != nil {
		t.Fatal(err)
	}
	hub.Shutdown()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrHubLost) {
			t.Errorf("RunNode: %v, want ErrHubLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node still running 10 s after its hub went away")
	}
}

// A client whose hub goes away: the call out fails at once (its answer may be lost with the
// connection), a call made while the hub is away waits for it and fails with a *HubError after
// the hub timeout, as WatchHub's context ends; once the hub is back on its port, the node and
// the client find it again, the call that was out is cancelled on the node, and calls run.
func TestHubTimeout(t *testing.T) {
	tc := startCluster(t, 1, WithHubTimeout(500*time.Millisecond))
	sha := tc.load(t, "testdata/stream.wasm")
	url, token := tc.hub.URL(), tc.hub.Token()
	port := tc.hub.srv.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, spun := tc.spin(ctx, sha, "")
	<-out.first // the call runs on the node
	watched, unwatch := tc.client.WatchHub(ctx)
	defer unwatch()

	tc.hub.Shutdown()
	if err := <-spun; !errors.Is(err, ErrNodeLost) || !strings.Contains(err.Error(), "the connection to the hub dropped during the call") {
		t.Errorf("the call out when the hub went away: %v, want ErrNodeLost saying the connection dropped", err)
	}
	_, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{1}})
	var hubErr *HubError
	if !errors.As(err, &hubErr) || !errors.Is(err, ErrHubLost) || hubErr.URL != url ||
		err.Error() != "cluster: the hub at "+url+" has been unreachable for 500 ms" {
		t.Errorf("a call while the hub is away: %v, want a *HubError", err)
	}
	<-watched.Done()
	if cause := context.Cause(watched); !errors.As(cause, &hubErr) {
		t.Errorf("WatchHub's context ended with %v, want a *HubError", cause)
	}
	if late, stop := tc.client.WatchHub(ctx); !errors.As(context.Cause(late), &hubErr) {
		t.Errorf("WatchHub while the hub is away: cause %v, want a *HubError at once", context.Cause(late))
	} else {
		stop()
	}

	hub, err := StartHub(WithHubPort(port), WithHubToken(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	if err := tc.client.WaitNodes(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The node runs one call at a time: this one runs only if the spinning one was cancelled.
	res, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{3}})
	if err != nil || res.Values[0] != 3 {
		t.Fatalf("a call once the hub is back: %v, %v", res, err)
	}
}

// BenchmarkCall measures the round trip of a tiny call (add) on one local node, and reports
// its median and 99th percentile besides the mean:
//
//	go test ./cluster -run '^$' -bench 'BenchmarkCall$' -benchtime 3000x
func BenchmarkCall(b *testing.B) {
	tc := startCluster(b, 1)
	client, sha := tc.client, tc.load(b, basics)
	call := Call{Export: Export{Module: sha, Func: "add"}, Args: []uint64{1, 2}}
	for range 200 { // warm up: the node's first calls map code and grow stacks
		if _, err := client.Call(b.Context(), call); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := client.Call(b.Context(), call); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
}

// reportLatency reports the median and 99th percentile of lat, in µs.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// A worker command that is not a rain worker makes RunNode fail with a clear error.
func TestNotAWorker(t *testing.T) {
	hub, err := StartHub()
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tt := range []struct {
		name string
		argv []string
		want string
	}{
		{"talks", []string{sh, "-c", "echo hello there; sleep 5"}, "not a rain worker"},
		{"config", []string{sh, "-c", "exit 6"}, "cannot start"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := node.Run(t.Context(), node.WithJoin(hub.URL()), node.WithToken(hub.Token()), inCache(t.TempDir()),
				node.WithLog(io.Discard), node.WithWorkerCommand(tt.argv...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RunNode with %q: %v, want %q", tt.argv, err, tt.want)
			}
		})
	}
}

// Cancelling a call still queued behind another drops it without restarting the worker.
func TestCancelQueued(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	node := tc.client.Nodes()[0]
	ctx1, cancel1 := context.WithCancel(t.Context())
	out, errc := tc.spin(ctx1, sha, "")
	<-out.first
	ctx2, cancel2 := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel2()
	out2 := newSyncWriter()
	if _, err := tc.client.Call(ctx2, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{1}, Node: node.ID, Stdout: out2}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("queued call: %v, want ErrInterrupted", err)
	}
	if n := tc.node(t, node.ID); n.PID != node.PID || n.Restarts != node.Restarts {
		t.Errorf("worker restarted for a queued call: %+v, was %+v", n, node)
	}
	cancel1()
	if err := <-errc; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("running call: %v, want ErrInterrupted", err)
	}
	// The dropped call never ran: its output never came, and the next call runs alone.
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{2}, Node: node.ID})
	if res.Values[0] != 2 || out2.String() != "" {
		t.Errorf("ticks(2) = %v; the dropped call wrote %q", res.Values, out2.String())
	}
}

// echoSubject is where an echo process (testEchoEnv) answers requests.
const echoSubject = "rain.test.echo"

// runEcho answers every request on echoSubject with its data until ctx is done: the bare NATS
// round trip that BenchmarkNATSRoundTrip measures, for comparison with BenchmarkCall.
func runEcho(ctx context.Context, url string) {
	nc, err := wire.Dial(ctx, url, os.Getenv(TokenEnv), "rain echo", time.Second, time.Second, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := nc.Subscribe(echoSubject, func(m *nats.Msg) { m.Respond(m.Data) }); err == nil {
		err = nc.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	<-ctx.Done()
	os.Exit(0)
}

// BenchmarkNATSRoundTrip measures a bare NATS request and reply between this process (hub and
// requester) and another (the responder), the floor under BenchmarkCall:
//
//	go test ./cluster -run '^$' -bench 'BenchmarkCall$|NATSRoundTrip' -benchtime 3000x
func BenchmarkNATSRoundTrip(b *testing.B) {
	hub, err := StartHub()
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Shutdown()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), testEchoEnv+"="+hub.URL(), TokenEnv+"="+hub.Token())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	nc, err := wire.Dial(b.Context(), hub.URL(), hub.Token(), "rain bench", time.Second, time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	req := []byte(`{"v":1,"task":"abcdef-1","module":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","func":"add","args":[1,2]}`)
	for range 200 {
		if _, err := nc.Request(echoSubject, req, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := nc.Request(echoSubject, req, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
}

// A node of another build of Rain (another wire version) is not used, and the client says so
// when it waits for nodes, rather than wait in silence; once that node speaks this version, it
// is forgotten.
func TestOtherBuild(t *testing.T) {
	tc := startCluster(t, 0)
	old, err := tc.hub.Dial("a node of another build")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	status, _ := json.Marshal(map[string]any{"v": wire.Version - 1, "id": "old-node"})
	if err := old.Publish(wire.SubjStatus, status); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for tc.client.OtherBuilds() == "" {
		select {
		case <-tc.client.Changed():
		case <-timeout:
			t.Fatal("the client did not hear the node of another build within 10 s")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = tc.client.WaitNodes(ctx, 1)
	want := fmt.Sprintf("node old-node speaks wire version %d, this session %d: run the same build of rain", wire.Version-1, wire.Version)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("waiting beside a node of another build: %v, want …%s…", err, want)
	}
	if len(tc.client.Nodes()) != 0 {
		t.Errorf("nodes %+v, want none", tc.client.Nodes())
	}
	// The same node, restarted with this build, is one the client can use.
	status, _ = json.Marshal(wire.Status{V: wire.Version, ID: "old-node", Incarnation: "1"})
	if err := old.Publish(wire.SubjStatus, status); err != nil {
		t.Fatal(err)
	}
	for tc.client.OtherBuilds() != "" {
		select {
		case <-tc.client.Changed():
		case <-timeout:
			t.Fatal("the node, now of this build, is still said to be of another")
		}
	}
}
