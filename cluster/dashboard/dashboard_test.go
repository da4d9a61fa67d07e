package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/internal/nodetest"
)

// The test binary is also the node binary (see nodetest.Main).
func TestMain(m *testing.M) {
	nodetest.Main()
	os.Exit(m.Run())
}

// testCluster is a hub in this process, its dashboard, n local nodes and a client.
type testCluster struct {
	hub    *cluster.Hub
	dash   *Server
	client *cluster.Client
	basics string // the SHA-256 of examples/basics.wasm, loaded
}

func startCluster(t *testing.T, nodes int, opts ...Option) *testCluster {
	t.Helper()
	hub, err := cluster.StartHub()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	dash, err := Watch(hub, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dash.Close() })
	tc := &testCluster{hub: hub, dash: dash}
	if nodes == 0 {
		return tc
	}
	s := node.DefaultSettings()
	s.CacheDir = t.TempDir()
	l, err := launch.Local(t.Context(), os.Args[0], nodes, hub.URL(), hub.Token(), s, launch.WithLogDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	tc.client = tc.connect(t, "test session")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := tc.client.WaitNodes(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join("..", "..", "examples", "basics.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if tc.basics, err = tc.client.Load(ctx, bin); err != nil {
		t.Fatal(err)
	}
	tc.client.NameModule(tc.basics, "basics")
	return tc
}

func (tc *testCluster) connect(t *testing.T, name string) *cluster.Client {
	t.Helper()
	c, err := cluster.Connect(t.Context(), tc.hub.URL(), tc.hub.Token(), cluster.WithName(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// update is one server-sent event of the page, decoded.
type update struct {
	Seq   uint64     `json:"seq"`
	Reset bool       `json:"reset"`
	State view       `json:"state"`
	Spans []spanJSON `json:"spans"`
	at    time.Time
	size  int
}

// openPage reads the page's event stream as a browser would, until ctx ends, sending each
// update on the channel.
func openPage(ctx context.Context, t *testing.T, dash *Server) <-chan update {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.Replace(dash.URL(), "/?", "/events?", 1), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	ch := make(chan update, 1000)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		r := bufio.NewReaderSize(resp.Body, 1<<20)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
			if !ok {
				continue
			}
			var u update
			if err := json.Unmarshal([]byte(data), &u); err != nil {
				t.Errorf("an update that is not JSON: %v: %.200s", err, data)
				return
			}
			u.at, u.size = time.Now(), len(data)
			select {
			case ch <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// The page needs the token: without it, or with a wrong one, every address answers 403 with
// one line; with it in the URL the page loads and sets a cookie that lets the page's own
// requests in; the data endpoint takes it as a bearer token too.
func TestToken(t *testing.T) {
	tc := startCluster(t, 0)
	base := "http://" + tc.dash.Addr()
	if !strings.HasPrefix(tc.dash.URL(), base+"/?token="+tc.hub.Token()) {
		t.Fatalf("URL %q: want %s/?token=<the hub's token>", tc.dash.URL(), base)
	}
	get := func(c *http.Client, url, accept, bearer string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct{ url, accept string }{
		{base + "/", "text/html"},
		{base + "/?token=wrong", "text/html"},
		{base + "/?token=", "text/html"},
		{base + "/events", ""},
		{base + "/api/state?token=" + tc.hub.Token() + "x", ""},
		{base + "/assets/dash.js", ""},
	} {
		code, body := get(http.DefaultClient, tt.url, tt.accept, "")
		if code != 403 || strings.Count(strings.TrimSpace(body), "\n") != 0 || !strings.Contains(body, "needs its token") {
			t.Errorf("%s: %d %q, want 403 and one line", tt.url, code, body)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if code, body := get(browser, tc.dash.URL(), "text/html", ""); code != 200 || !strings.Contains(body, "Task stream") {
		t.Fatalf("the page with its token: %d %.100q", code, body)
	}
	if code, body := get(browser, base+"/assets/dash.js", "", ""); code != 200 || !strings.Contains(body, "EventSource") {
		t.Errorf("the page's script with the cookie: %d %.100q", code, body)
	}
	if code, body := get(http.DefaultClient, base+"/api/state", "", tc.hub.Token()); code != 200 || !json.Valid([]byte(body)) {
		t.Errorf("the data endpoint with a bearer token: %d %.100q", code, body)
	}
}

// A port in use fails with ErrAddrInUse, naming the address; ParseAddr reads a port alone as
// loopback and "off" as no dashboard.
func TestAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hub, err := cluster.StartHub()
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	a, err := ParseAddr(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Watch(hub, WithAddr(a))
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("a port in use: %v", err)
	}
	for _, tt := range []struct{ in, want string }{
		{"off", "off"}, {"8787", "127.0.0.1:8787"}, {":8787", "127.0.0.1:8787"}, {"0.0.0.0:80", "0.0.0.0:80"},
		{"127.0.0.1:0", "127.0.0.1:0"}, {"[::1]:9", "[::1]:9"},
	} {
		if a, err := ParseAddr(tt.in); err != nil || a.String() != tt.want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
	for _, bad := range []string{"", "host:port", "1:2:3", "99999", "localhost:-1"} {
		if _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) succeeded", bad)
		}
	}
}

// Clients say nothing while no page is open, and start at once when one opens. The page gets
// an update 4 times a second, the first with the whole window; the nodes, the session and its
// map are in them, the map's progress reaches 100 %, and the task stream's spans add up to
// the map's calls although the page never receives one message per call. A page that
// reconnects starts afresh from the whole window.
func TestStream(t *testing.T) {
	tc := startCluster(t, 2)
	nc, err := tc.hub.Dial("test watcher")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var activity atomic.Int32
	heard := make(chan struct{}) // closed by the first activity message
	nc.Subscribe(wire.SubjActivity, func(*nats.Msg) {
		if activity.Add(1) == 1 {
			close(heard)
		}
	})
	add := cluster.Export{Module: tc.basics, Func: "add"}
	for i := range 200 { // calls with no page open
		if _, err := tc.client.Call(t.Context(), cluster.Call{Export: add, Args: []uint64{uint64(i), 1}}); err != nil {
			t.Fatal(err)
		}
	}
	// With no page open, the dashboard tells the clients nothing (so they publish nothing: see
	// cluster's TestActivity).
	if tc.dash.watched() {
		t.Fatal("the dashboard watches with no page open")
	}
	if n := activity.Load(); n != 0 {
		t.Fatalf("%d activity messages with no page open", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	pageCtx, closePage := context.WithCancel(ctx)
	page := openPage(pageCtx, t, tc.dash)
	first := <-page
	if !first.Reset {
		t.Errorf("the first update does not reset the page")
	}
	if len(first.State.Nodes) != 2 {
		t.Errorf("first update: %d nodes, want 2", len(first.State.Nodes))
	}
	// 20,000 calls of fib(20), tens of microseconds each: the map lasts a second or more on two
	// nodes, so the page, updated 4 times a second, sees it running, and its rate.
	const calls = 20000
	fib := cluster.Export{Module: tc.basics, Func: "fib"}
	args := make([][]uint64, calls)
	for i := range args {
		args[i] = []uint64{20}
	}
	done := make(chan error, 1)
	go func() {
		// The session has heard the page's watch once it tells the dashboard its activity.
		select {
		case <-heard:
		case <-ctx.Done():
		}
		r, err := tc.client.Map(ctx, cluster.MapSpec{Export: fib, Args: args, Chunk: 1}, nil)
		if err == nil && r.Failed > 0 {
			err = fmt.Errorf("%d calls failed", r.Failed)
		}
		done <- err
	}()
	var updates []update
	tasks := map[string]int{} // per node, in the task stream
	var sawRunning, sawDone bool
	var mapErr error
	mapDone := false
	for u := range page {
		updates = append(updates, u)
		for _, sp := range u.Spans {
			tasks[sp.Node] += sp.N
		}
		for _, m := range u.State.Maps {
			if m.Func != "basics.fib" || m.Total != calls {
				continue
			}
			if m.Name != "test session" {
				t.Errorf("the map's session is %q", m.Name)
			}
			sawRunning = sawRunning || m.State == wire.MapRunning && m.Done > 0 && m.Done < calls && m.Rate > 0
			sawDone = sawDone || m.State == wire.MapDone && m.Done == calls
		}
		select {
		case mapErr = <-done:
			mapDone = true
		default:
		}
		if mapDone && sawDone {
			break
		}
	}
	if mapErr != nil {
		t.Fatal(mapErr)
	}
	if !sawRunning || !sawDone {
		t.Errorf("the page saw the map running: %v, and done at 100 %%: %v", sawRunning, sawDone)
	}
	total := 0
	for _, n := range tasks {
		total += n
	}
	if len(tasks) != 2 || total < calls || total > calls+200 {
		t.Errorf("task stream: %v calls per node, %d in all; want both nodes and the map's %d calls", tasks, total, calls)
	}
	elapsed := updates[len(updates)-1].at.Sub(updates[0].at)
	perSecond := float64(len(updates)-1) / elapsed.Seconds()
	most := 0
	for _, u := range updates {
		most = max(most, len(u.Spans))
	}
	t.Logf("%d updates in %v (%.1f/s), %d spans for %d calls, at most %d in one update", len(updates), elapsed.Round(time.Millisecond), perSecond, func() int {
		n := 0
		for _, u := range updates {
			n += len(u.Spans)
		}
		return n
	}(), total, most)
	if perSecond < 3 || perSecond > 5 {
		t.Errorf("%.1f updates per second, want about 4", perSecond)
	}
	if most > spansPerTic {
		t.Errorf("an update with %d spans, more than %d", most, spansPerTic)
	}
	sessions := 0
	for _, s := range updates[len(updates)-1].State.Sessions {
		if s.Name == "test session" {
			sessions++
		}
	}
	if sessions != 1 {
		t.Errorf("the last update lists the session %d times", sessions)
	}

	// The page reconnects: its first update is the whole window again.
	closePage()
	page = openPage(ctx, t, tc.dash)
	u := <-page
	again := 0
	for _, sp := range u.Spans {
		again += sp.N
	}
	if !u.Reset || again < calls {
		t.Errorf("after reconnecting: reset %v, %d calls in the task stream, want the window's %d", u.Reset, again, total)
	}
	if len(u.State.Modules) != 1 || u.State.Modules[0].Name != "basics" || len(u.State.Modules[0].Nodes) != 2 {
		t.Errorf("modules: %+v, want basics on 2 nodes", u.State.Modules)
	}
}

// Thousands of calls per second on hundreds of nodes: a tick's spans are merged and bounded,
// per node and in all, and no call is lost from the count.
func TestMerge(t *testing.T) {
	var in []span
	calls := 0
	for n := range 300 {
		for k := range 200 {
			// Two sessions whose calls alternate on the node, 100 µs apart.
			s := int64(1e12) + int64(k)*100_000
			in = append(in, span{Span: wire.Span{Node: fmt.Sprintf("node-%03d", n), Module: "m", Func: "f", Start: s, End: s + 50_000, N: 3},
				session: fmt.Sprint(k % 2)})
			calls += 3
		}
	}
	out, dropped := merge(in, spanGap, spansPerRow, spansPerTic)
	got := 0
	rows := map[string]int{}
	for _, sp := range out {
		got += sp.N
		rows[sp.Node]++
	}
	if len(out) > spansPerTic || got+dropped != calls || dropped != 0 {
		t.Errorf("%d spans (at most %d), %d calls + %d dropped, want %d", len(out), spansPerTic, got, dropped, calls)
	}
	for id, n := range rows {
		if n > spansPerRow {
			t.Errorf("node %s: %d spans", id, n)
		}
	}
	// One session's back-to-back calls on one node merge into one span.
	one := []span{{Span: wire.Span{Node: "a", Func: "f", Start: 0, End: 10, N: 1}}, {Span: wire.Span{Node: "a", Func: "f", Start: 1000, End: 1010, N: 1}}}
	if out, _ := merge(one, spanGap, spansPerRow, spansPerTic); len(out) != 1 || out[0].N != 2 || out[0].End != 1010 {
		t.Errorf("merge of two neighbours: %+v", out)
	}
}

// A node that goes silent is lost, then back, then restarted, each an event; a node's rates come
// from its status (calls and busy time over the last seconds).
func TestNodeEvents(t *testing.T) {
	s := newState("test")
	t0 := time.Now()
	st := wire.Status{V: wire.Version, ID: "a", Incarnation: "1", Host: "h", OS: "linux", Arch: "amd64", Cores: 4}
	s.status(st, t0)
	st.Done, st.BusyNs = 1000, int64(500*time.Millisecond)
	s.status(st, t0.Add(time.Second))
	if n := s.nodes["a"]; n.rate != 1000 || n.share != 0.5 {
		t.Errorf("rate %v, share %v; want 1000 calls/s, 0.5", n.rate, n.share)
	}
	s.tick(t0.Add(time.Second+lostAfter+time.Millisecond), 1, true)
	s.status(st, t0.Add(5*time.Second))
	st.Incarnation = "2"
	s.status(st, t0.Add(6*time.Second))
	var kinds []string
	for _, e := range s.events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "joined lost back restarted" {
		t.Errorf("events %q", got)
	}
}

// Hundreds of nodes and tens of thousands of calls a tick: what a page receives per tick stays
// bounded, and so does the whole window a page gets when it opens.
func TestBusyHub(t *testing.T) {
	s := newState("test")
	now := time.Now()
	for n := range 300 {
		s.status(wire.Status{V: wire.Version, ID: fmt.Sprintf("node-%03d", n), Incarnation: "1", Modules: []string{"m"}}, now)
	}
	for k := range 240 { // a minute of ticks
		at := now.Add(time.Duration(k) * wire.ActivityEvery)
		a := wire.Activity{V: wire.Version, Client: "c", Name: "s", Seq: uint64(k + 1)}
		for n := range 300 {
			for c := range 10 { // 10 spans of 10 calls per node per tick: 48,000 calls/s
				st := at.UnixNano() + int64(c)*int64(20*time.Millisecond)
				a.Spans = append(a.Spans, wire.Span{Node: fmt.Sprintf("node-%03d", n), Module: "m", Func: fmt.Sprint("f", c%3), Start: st, End: st + int64(5*time.Millisecond), N: 10})
			}
		}
		s.activity(a, at)
		s.tick(at, 1, true)
	}
	last := s.log[len(s.log)-1]
	if len(last.spans) > spansPerTic {
		t.Errorf("a tick of %d spans", len(last.spans))
	}
	b, _ := s.since(0)
	view, _, _ := s.current(false)
	t.Logf("a tick: %d spans, %d KiB of JSON; the view %d KiB; the window %d KiB", len(last.spans), len(last.json)>>10, len(view)>>10, len(b)>>10)
	if len(b) > 4<<20 || len(last.json) > 256<<10 {
		t.Errorf("%d bytes for a page that opens, %d bytes a tick", len(b), len(last.json))
	}
}

// The data a session scatters shows on the page under the nodes that hold it, kept for that
// session (by name, once the page has heard of it), and leaves it when freed.
func TestData(t *testing.T) {
	tc := startCluster(t, 2)
	parts := [][]byte{bytes.Repeat([]byte{1}, 3000), bytes.Repeat([]byte{2}, 5000)}
	placed, err := tc.client.Scatter(t.Context(), parts, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	page := openPage(ctx, t, tc.dash)
	held := func(u update) map[string]string { // node/hash → size and whom for, from where they are
		got := map[string]string{}
		for _, n := range u.State.Nodes {
			for _, d := range n.Data {
				got[n.ID+"/"+d.Hash] = fmt.Sprint(d.Size, d.For)
			}
		}
		return got
	}
	want := map[string]string{}
	for u := range page {
		if len(u.State.Sessions) != 1 {
			continue
		}
		for _, p := range placed {
			want[p.Node+"/"+p.Hash] = fmt.Sprint(p.Size, []string{u.State.Sessions[0].Name})
		}
		if reflect.DeepEqual(held(u), want) {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("the page never showed the parts %v", want)
	}
	tc.client.Free(placed[0].Hash, placed[1].Hash)
	for u := range page {
		if len(held(u)) == 0 {
			return
		}
	}
	t.Fatal("the page still shows the parts freed")
}
