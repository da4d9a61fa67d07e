package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// startHub runs `rain hub` on a free loopback port with token, until the test ends, and
// returns the URL from the join line it prints.
func startHub(t *testing.T, env []string, token string) string {
	t.Helper()
	hub := exec.Command(rainBin, "hub", "--host", "127.0.0.1", "--port", "-1", "--token", token)
	hub.Env = env
	out, err := hub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Process.Kill(); hub.Wait() })
	lines := bufio.NewScanner(out)
	joinLine := regexp.MustCompile(`rain node --join (\S+) --token ` + regexp.QuoteMeta(token))
	for lines.Scan() {
		if m := joinLine.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep the pipe drained
				for lines.Scan() {
				}
			}()
			return m[1]
		}
	}
	t.Fatal("rain hub printed no join line")
	return ""
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
