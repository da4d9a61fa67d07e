package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/jupytertest"
)

// dashboardReport is what notebooks/browser/dashboard.mjs saw on the page.
type dashboardReport struct {
	Problems []string `json:"problems"`
	Nodes    map[string]struct {
		Up       bool `json:"up"`
		MaxTasks int  `json:"maxTasks"`
	} `json:"nodes"`
	Maps map[string]struct {
		Session         string `json:"session"`
		Total           int    `json:"total"`
		SeenRunning     int    `json:"seenRunning"`
		RunningProgress []int  `json:"runningProgress"`
		Final           *struct {
			State    string `json:"state"`
			Progress int    `json:"progress"`
			Done     int    `json:"done"`
		} `json:"final"`
	} `json:"maps"`
	Stream struct {
		Spans int            `json:"spans"`
		Calls map[string]int `json:"calls"`
	} `json:"stream"`
	Legend map[string]struct {
		Text     string `json:"text"`
		MaxTasks int    `json:"maxTasks"`
	} `json:"legend"`
	Reconnected bool `json:"reconnected"`
}

// dashboardArtifacts is where the test leaves its screenshots: $RAIN_TEST_ARTIFACTS/TEST, or a
// temporary directory.
func dashboardArtifacts(t *testing.T) string {
	dir := os.Getenv("RAIN_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDashboard: `rain hub` serves its dashboard. Two `rain node`s join the hub, Debian's
// headless Chromium opens the page, and two `rain run` sessions map at the same time: the page
// shows both nodes, both sessions' maps while they run and at 100 % when they end, and their
// tasks in the task stream, on both nodes; it reconnects by itself when its connection drops.
// %dashboard in the sessions shows the hub's page. Screenshots (while the maps ran, and at the
// end) are left in the test's artifacts.
func TestDashboard(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		jupytertest.Need(t, "no %s (run scripts/install-deps): %v", chromium, err)
	}
	nodeJS, err := exec.LookPath("node")
	if err != nil {
		jupytertest.Need(t, "no node on PATH: %v", err)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		jupytertest.Need(t, "no npm on PATH: %v", err)
	}
	browser := filepath.Join(repoRoot(t), "notebooks", "browser")
	if out, err := exec.Command(filepath.Join(browser, "install")).CombinedOutput(); err != nil {
		t.Fatalf("notebooks/browser/install: %v\n%s", err, out)
	}
	env := testEnv(t)
	const token = "dash-test"
	url, page := startHubDashboard(t, env, token)

	// Without the token: 403, and one line.
	resp, err := http.Get(strings.Split(page, "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
		t.Errorf("the page without its token: %s %q", resp.Status, body)
	}

	for range 2 {
		n := exec.Command(rainBin, "node", "--join", url, "--token", token, "--cache-dir", t.TempDir())
		n.Env = env
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Process.Kill(); n.Wait() })
	}

	out := dashboardArtifacts(t)
	shot := filepath.Join(out, "dashboard.png")
	driver := exec.Command(nodeJS, filepath.Join(browser, "dashboard.mjs"), page, shot, t.TempDir())
	driver.Env = append(os.Environ(), "RAIN_DASH_MAPS=2", "RAIN_DASH_TIMEOUT_MS=150000", "CHROMIUM="+chromium)
	var driverErr bytes.Buffer
	driver.Stderr = &driverErr
	stdout, err := driver.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { driver.Process.Kill(); driver.Wait() })
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("the browser says %q, not ready\n%s", l, driverErr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the page did not come up\n%s", driverErr.String())
	}

	script := filepath.Join(t.TempDir(), "dash.star")
	os.WriteFile(script, []byte(fmt.Sprintf(`%%cluster connect %s %s
# %%%%
%%dashboard
# %%%%
%%load examples/primes.wasm as p
r = pmap(p.count_primes, [200000 + i for i in range(300)])
print("results", len(r))
`, url, token)), 0o644)
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.Command(rainBin, "run", "--nodes", "0", script)
			cmd.Dir = repoRoot(t)
			cmd.Env = env
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			errs[i] = cmd.Run()
		})
	}
	wg.Wait()
	for i := range 2 {
		o := outs[i].String()
		if errs[i] != nil || !strings.Contains(o, "results 300") {
			t.Errorf("session %d: %v\n%s", i, errs[i], o)
		}
		if !strings.Contains(o, "dashboard: "+page) {
			t.Errorf("session %d: %%dashboard does not show the hub's page %s:\n%s", i, page, o)
		}
	}

	var last string
	for l := range lines {
		last = l
	}
	driver.Wait()
	var r dashboardReport
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		t.Fatalf("the browser's report: %v: %q\n%s", err, last, driverErr.String())
	}
	t.Logf("screenshots: %s, %s", shot, strings.TrimSuffix(shot, ".png")+"-running.png")
	for _, p := range r.Problems {
		t.Errorf("on the page: %s", p)
	}
	up := 0
	for id, n := range r.Nodes {
		if n.Up && n.MaxTasks > 0 {
			up++
		} else {
			t.Errorf("node %s: up %v, %d tasks in the task stream", id, n.Up, n.MaxTasks)
		}
	}
	if up != 2 {
		t.Errorf("%d nodes up with tasks on the page, want 2", up)
	}
	sessions := map[string]bool{}
	for key, m := range r.Maps {
		sessions[m.Session] = true
		var between bool
		for _, p := range m.RunningProgress {
			between = between || p > 0 && p < 100
		}
		if m.Total != 300 || !between || m.Final == nil || m.Final.State != "done" || m.Final.Progress != 100 || m.Final.Done != 300 {
			t.Errorf("map %s of %s: total %d, progress while running %v, at the end %+v; want it seen running and done at 100 %%",
				key, m.Session, m.Total, m.RunningProgress, m.Final)
		}
	}
	if len(r.Maps) != 2 || len(sessions) != 2 {
		t.Errorf("%d maps from %d sessions on the page, want 2 from 2", len(r.Maps), len(sessions))
	}
	calls := 0
	for _, n := range r.Stream.Calls {
		calls += n
	}
	if len(r.Stream.Calls) != 2 || calls < 600 || r.Stream.Spans >= calls {
		t.Errorf("task stream: %d spans, calls per node %v; want both nodes, the maps' 600 calls, fewer spans than calls", r.Stream.Spans, r.Stream.Calls)
	}
	if len(r.Legend) != 2 {
		t.Errorf("the task stream's legend: %v, want the 2 sessions", r.Legend)
	}
	if !r.Reconnected {
		t.Error("the page did not reconnect")
	}
}

// startHubDashboard runs `rain hub` with its dashboard on a free loopback port until the test
// ends, and returns the hub's URL and the page's, as it prints them.
func startHubDashboard(t *testing.T, env []string, token string) (url, page string) {
	t.Helper()
	hub := exec.Command(rainBin, "hub", "--host", "127.0.0.1", "--port", "-1", "--token", token, "--dashboard", "127.0.0.1:0")
	hub.Env = env
	out, err := hub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Process.Kill(); hub.Wait() })
	joinLine := regexp.MustCompile(`rain node --join (\S+) --token ` + regexp.QuoteMeta(token))
	dashLine := regexp.MustCompile(`^dashboard: +(http://127\.0\.0\.1:\d+/\?token=` + regexp.QuoteMeta(token) + `)$`)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := joinLine.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
		if m := dashLine.FindStringSubmatch(lines.Text()); m != nil {
			page = m[1]
			break
		}
	}
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()
	if url == "" || page == "" {
		t.Fatalf("rain hub printed no join line or no dashboard line (hub %q, dashboard %q)", url, page)
	}
	return url, page
}

// A dashboard's port in use: `rain hub` and a session fail with one line that names the
// address and the flag that chooses another.
func TestDashboardPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	script := filepath.Join(t.TempDir(), "one.star")
	os.WriteFile(script, []byte("1\n"), 0o644)
	for _, args := range [][]string{
		{"hub", "--host", "127.0.0.1", "--port", "-1", "--dashboard", addr},
		{"run", "--nodes", "0", "--dashboard", addr, script},
	} {
		cmd := exec.Command(rainBin, args...)
		cmd.Env = testEnv(t)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		msg := strings.TrimSpace(stderr.String())
		if err == nil || strings.Contains(msg, "\n") || !strings.Contains(msg, addr) || !strings.Contains(msg, "--dashboard") {
			t.Errorf("rain %s: %v, %q; want one line naming %s and --dashboard", args[0], err, msg, addr)
		}
	}
}
