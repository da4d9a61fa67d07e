package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rain-wasm/rain/cluster"
)

// startHub runs `rain hub` on a free loopback port with token, until the test ends, and
// returns the URL from the join line it prints.
func startHub(t *testing.T, env []string, token string) string {
	t.Helper()
	url, _ := startHubDashboard(t, env, token)
	return url
}

// TestSharedHub: a standalone `rain hub`, one `rain node` joined to it, and two sessions that
// %cluster connect to it and map at the same time: both complete, on the shared node.
func TestSharedHub(t *testing.T) {
	env := testEnv(t)
	url := startHub(t, env, "workshop")

	node := exec.Command(rainBin, "node", "--join", url, "--token", "workshop", "--cache-dir", t.TempDir())
	node.Env = env
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Process.Kill(); node.Wait() })

	script := filepath.Join(t.TempDir(), "shared.star")
	os.WriteFile(script, []byte(fmt.Sprintf(`%%cluster connect %s workshop
%%load examples/primes.wasm as p
r = pmap(p.count_primes, [20000 + i for i in range(200)], chunk=10)
if len(r) != 200 or r.retried != 0: fail("map: %%d results" %% len(r))
print("results", len(r), "nodes", len(r.per_node))
`, url)), 0o644)

	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(rainBin, "run", "--nodes", "0", script)
			cmd.Dir = repoRoot(t)
			cmd.Env = env
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			errs[i] = cmd.Run()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the two sessions did not finish")
	}
	for i := range 2 {
		if errs[i] != nil || !strings.Contains(outs[i].String(), "results 200 nodes 1") {
			t.Errorf("session %d: %v\n%s", i, errs[i], outs[i].String())
		}
	}
}

// freePort is a loopback TCP port nothing listens on, for a hub that must come back on the
// same port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hubProcess is a `rain hub` on a fixed loopback port, which a test kills and starts again.
type hubProcess struct {
	t          *testing.T
	env        []string
	port       int
	token, url string
	cmd        *exec.Cmd
}

func newHubProcess(t *testing.T, env []string, token string) *hubProcess {
	h := &hubProcess{t: t, env: env, port: freePort(t), token: token}
	h.start()
	t.Cleanup(h.kill)
	return h
}

// start runs the hub and returns once it has printed its join line.
func (h *hubProcess) start() {
	h.t.Helper()
	cmd := exec.Command(rainBin, "hub", "--host", "127.0.0.1", "--port", fmt.Sprint(h.port), "--token", h.token)
	cmd.Env = h.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.cmd = cmd
	lines := bufio.NewScanner(out)
	joinLine := regexp.MustCompile(`rain node --join (\S+) --token ` + regexp.QuoteMeta(h.token))
	for lines.Scan() {
		if m := joinLine.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep the pipe drained
				for lines.Scan() {
				}
			}()
			h.url = m[1]
			return
		}
	}
	h.t.Fatal("rain hub printed no join line")
}

// kill ends the hub with SIGKILL and waits until it has exited.
func (h *hubProcess) kill() {
	if h.cmd != nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
		h.cmd = nil
	}
}

// natsProcess is a NATS server in this process on a fixed loopback port, which a test stops
// and starts again.
type natsProcess struct {
	t     *testing.T
	port  int
	token string
	srv   *server.Server
}

func newNATSProcess(t *testing.T, token string) *natsProcess {
	n := &natsProcess{t: t, port: freePort(t), token: token}
	n.start()
	t.Cleanup(n.kill)
	return n
}

func (n *natsProcess) start() {
	n.t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, Authorization: n.token, NoLog: true, NoSigs: true})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("NATS server not ready")
	}
	n.srv = srv
}

func (n *natsProcess) kill() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func (n *natsProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// fibs are the Fibonacci numbers basics.fib computes.
func fibs(n int) []uint64 {
	f := make([]uint64, n)
	f[1] = 1
	for i := 2; i < n; i++ {
		f[i] = f[i-1] + f[i-2]
	}
	return f
}

// TestHubRestart: a hub that goes away while a map runs and comes back on the same port (a
// `rain hub` killed with SIGKILL and started again, or an external NATS server stopped and
// started again) lets the map finish with every result right, some of them rerun, and the next
// map runs. The session and its two `rain node` processes find the hub again by themselves.
func TestHubRestart(t *testing.T) {
	const token = "restart"
	for _, tt := range []struct {
		name  string
		start func(t *testing.T) (url string, kill, restart func())
	}{
		{"rain hub", func(t *testing.T) (string, func(), func()) {
			h := newHubProcess(t, testEnv(t), token)
			return h.url, h.kill, h.start
		}},
		{"external NATS server", func(t *testing.T) (string, func(), func()) {
			n := newNATSProcess(t, token)
			return n.url(), n.kill, n.start
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, kill, restart := tt.start(t)
			startNodes(t, testEnv(t), 2, url, token)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			c, err := cluster.Connect(ctx, url, token)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.WaitNodes(ctx, 2); err != nil {
				t.Fatal(err)
			}
			bin, err := os.ReadFile(filepath.Join(repoRoot(t), "examples/basics.wasm"))
			if err != nil {
				t.Fatal(err)
			}
			basics, err := c.Load(ctx, bin)
			if err != nil {
				t.Fatal(err)
			}

			// A map of a few seconds; the hub goes away once some of its tasks are done.
			fib := fibs(27)
			args := make([][]uint64, 10000)
			for i := range args {
				args[i] = []uint64{uint64(18 + i%9)}
			}
			someDone := make(chan struct{})
			var done atomic.Int64
			type outcome struct {
				r   *cluster.MapResult
				err error
			}
			ended := make(chan outcome, 1)
			go func() {
				r, err := c.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: basics, Func: "fib"}, Args: args, Chunk: 5}, func(p cluster.MapProgress) {
					if p.Done == 30 {
						close(someDone)
					}
					done.Store(int64(p.Done))
				})
				ended <- outcome{r, err}
			}()
			select {
			case <-someDone:
			case <-ctx.Done():
				t.Fatal("the map made no progress")
			}
			kill()
			if d := done.Load(); d == int64(len(args)) {
				t.Fatalf("the map ended before the hub went away: make it longer")
			}
			t.Logf("the hub went away with %d of %d tasks done", done.Load(), len(args))
			restart()
			var o outcome
			select {
			case o = <-ended:
			case <-ctx.Done():
				t.Fatal("the map did not end after the hub came back")
			}
			if o.err != nil {
				t.Fatalf("map: %v", o.err)
			}
			wrong := 0
			for i, task := range o.r.Tasks {
				if task.Err != nil || len(task.Values) != 1 || uint32(task.Values[0]) != uint32(fib[args[i][0]]) {
					if wrong++; wrong < 5 {
						t.Errorf("task %d: fib(%d) = %v, %v; want %d", i, args[i][0], task.Values, task.Err, fib[args[i][0]])
					}
				}
			}
			if wrong > 0 || o.r.Failed > 0 {
				t.Fatalf("%d of %d results wrong or missing, %d failed", wrong, len(args), o.r.Failed)
			}
			t.Logf("%d tasks, %d rerun", len(args), o.r.Retried)

			// The next map runs.
			adds := make([][]uint64, 500)
			for i := range adds {
				adds[i] = []uint64{uint64(i), 1000}
			}
			r, err := c.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: basics, Func: "add"}, Args: adds, Chunk: 10}, nil)
			if err != nil {
				t.Fatalf("the map after the restart: %v", err)
			}
			for i, task := range r.Tasks {
				if task.Err != nil || len(task.Values) != 1 || task.Values[0] != uint64(i+1000) {
					t.Fatalf("the map after the restart: task %d: %v, %v", i, task.Values, task.Err)
				}
			}
		})
	}
}

// TestHubStaysAway: the REPL's hub (a `rain hub` given with --join) dies during a map and does
// not come back. With --hub-timeout 2s the cell fails after 2 s with one line saying so, a
// cell while the hub is still away fails at once the same way, and once the hub is back on
// its port (its two nodes waited for it) a cell runs again in the same REPL.
func TestHubStaysAway(t *testing.T) {
	const token = "away"
	env := testEnv(t)
	hub := newHubProcess(t, env, token)
	startNodes(t, env, 2, hub.url, token)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	watcher, err := cluster.Connect(ctx, hub.url, token) // sees when the nodes are there
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	if err := watcher.WaitNodes(ctx, 2); err != nil {
		t.Fatal(err)
	}

	tm := startREPL(t, env, "--no-history", "--join", hub.url, "--token", token, "--nodes", "0", "--hub-timeout", "2s")
	tm.expect(`\[1\] `, 20*time.Second)
	tm.send("%load examples/basics.wasm as b\r")
	tm.expect(`b: 14 exports · .* ready on 2 nodes`, 20*time.Second)
	tm.send("r = pmap(b.fib, [24] * 50000, chunk=10)\r")
	tm.expect(` [1-9]\d*/50000 · `, 30*time.Second) // the map's progress bar: some tasks done
	killed := time.Now()
	hub.kill()
	// One line, then the next prompt (readline may draw the old one again first).
	unreachable := regexp.QuoteMeta("HubLost: the hub at "+hub.url+" has been unreachable for 2 s") + `\n(?:\[\d+\] *\x08*)*`
	tm.expect(unreachable+`\[3\] `, 20*time.Second)
	if d := time.Since(killed); d < 2*time.Second {
		t.Errorf("the cell failed %s after the hub went away, before the 2 s of --hub-timeout", d)
	}
	tm.send("b.fib(20)\r") // the hub is still away: at once, the same line
	tm.expect(`b\.fib\(20\)\n`+unreachable+`\[4\] `, 5*time.Second)

	hub.start()
	if err := watcher.WaitNodes(ctx, 2); err != nil {
		t.Fatalf("the nodes did not come back with the hub: %v", err)
	}
	// The REPL's client tries the hub again every 250 ms: until it has, a cell fails at once,
	// and the next is sent when its answer has come.
	for again := time.Now().Add(20 * time.Second); ; {
		tm.send("b.fib(20)\r")
		if got := tm.expect(`\n(6765|HubLost: [^\n]*)\n`, 20*time.Second); strings.Contains(got, "6765") {
			break
		}
		if time.Now().After(again) {
			t.Fatal("no cell ran within 20 s of the hub coming back")
		}
	}
	tm.expect(`\[\d+\] `, 5*time.Second)
	tm.atPrompt()
	tm.send("\x04")
	exited := make(chan error, 1)
	go func() { exited <- tm.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the REPL exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the REPL did not exit on Ctrl-D")
	}
}
