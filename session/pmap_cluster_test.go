package session

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPmapNodes(t *testing.T) {
	s := online(t, 2)
	ids := s.client.Nodes()
	one := ids[1].ID
	for code, want := range map[string]string{
		"r = pmap(basics.add, [(i, 1) for i in range(200)], nodes=['" + one + "'], chunk=7)\nlist(r.per_node.keys())": `["` + one + `"]`,
		"r = pmap(basics.add, [(i, 1) for i in range(200)], nodes=1)\n[len(r.per_node), r[199]]":                      "[1, 200]",
		"r = pmap(basics.add, [(i, 1) for i in range(200)], nodes=2, chunk=10)\nlen(r.per_node)":                      "2",
	} {
		if got := pmapRun(t, s, code); got != want {
			t.Errorf("%s = %s, want %s", code, got, want)
		}
	}
	for code, want := range map[string]string{
		"pmap(basics.add, [(1, 2)], nodes=3)":      "pmap: nodes=3, but 2 nodes ready",
		"pmap(basics.add, [(1, 2)], nodes=['x'])":  `pmap: no node is called "x": the nodes are`,
		"pmap(basics.add, [])":                     "pmap: inputs is empty",
		"pmap(basics.add, [(1, 2)], chunk=0)":      "chunk must be a positive int or None, got 0",
		"pmap(basics.add, [(1, 2)], retries=-1)":   "retries must be 0 or more, got -1",
		"pmap(mandelbrot.row, range(4)).speedup":   "a map has no .speedup: a speedup is measured against one node",
		"pmap(basics.add, [(1, 2)], nodes=[])":     "pmap: nodes is empty",
		"pmap(basics.add, [(1, 2)], nodes='a')":    "got string",
		"pmap_async(basics.add, [(1, 2)], wait=1)": `unexpected keyword argument "wait"`,
	} {
		_, err := s.Exec(t.Context(), code, &recorder{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
	}
}

func TestPmapAsync(t *testing.T) {
	s := online(t, 2)
	// A map that completes: poll, iterate as tasks finish, wait.
	pmapRun(t, s, "h = pmap_async(mandelbrot.row, range(0, 1024, 16))")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	v, err := s.Exec(ctx, `
seen = {}
for i, v in h.as_completed():
    seen[i] = v
r = h.wait(timeout=20)
[len(seen), h.done(), h.progress(), list(r) == [seen[i] for i in range(64)], r[32] == mandelbrot.row(512)]`, &recorder{})
	if err != nil { // what the map and the nodes were at, for whoever reads the failure
		t.Fatalf("as_completed and wait: %v\nthe map: %s\n%s", err, pmapRun(t, s, "str(h)"), pmapRun(t, s, "str(nodes())"))
	}
	if got := v.String(); got != "[64, True, (64, 64), True, True]" {
		t.Errorf("async map: %s", got)
	}
	// Direct iteration, and wait=False on pmap.
	if got := pmapRun(t, s, "h2 = pmap(basics.add, [(i, i) for i in range(100)], wait=False)\nsorted([v for _, v in h2])[-1]"); got != "198" {
		t.Errorf("iterating a handle: %s", got)
	}
	// The handle outlives its cell; wait times out; cancel stops an endless map promptly.
	pmapRun(t, s, "h = pmap_async(basics.spin, [() for _ in range(10)])")
	waitBusy(t, s)
	if _, err := s.Exec(t.Context(), "h.wait(timeout=0.2)", &recorder{}); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("wait on an endless map: %v", err)
	}
	start := time.Now()
	if got := pmapRun(t, s, "[h.cancel(), h.done()]"); got != "[True, True]" {
		t.Errorf("cancel: %s", got)
	}
	t.Logf("cancel took %v", time.Since(start))
	if _, err := s.Exec(t.Context(), "h.wait()", &recorder{}); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("wait after cancel: %v", err)
	}
	// An interrupted wait leaves the map running.
	pmapRun(t, s, "h = pmap_async(basics.spin, [()])")
	short, stop := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer stop()
	if _, err := s.Exec(short, "h.wait()", &recorder{}); err == nil || !strings.Contains(err.Error(), "nterrupted") {
		t.Errorf("interrupted wait: %v", err)
	}
	if got := pmapRun(t, s, "[h.done(), h.cancel()]"); got != "[False, True]" {
		t.Errorf("after an interrupted wait: %s", got)
	}
	// The nodes work again.
	if got := pmapRun(t, s, "basics.add(40, 2)"); got != "42" {
		t.Errorf("after cancel: %s", got)
	}
}

func TestBroadcast(t *testing.T) {
	s := online(t, 2)
	got := pmapRun(t, s, "d = broadcast(basics.add, 40, 2)\n[len(d), sorted(d.values()), sorted(d.keys()) == sorted([n for n in d])]")
	if got != "[2, [42, 42], True]" {
		t.Errorf("broadcast: %s", got)
	}
	for code, want := range map[string]string{
		"broadcast(basics.add, 1)":      "takes 2 arguments, got 1",
		"broadcast(len, 1)":             "first argument must be a Wasm function",
		"broadcast(basics.trap_div, 0)": "integer divide by zero",
	} {
		_, err := s.Exec(t.Context(), code, &recorder{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want …%s…", code, err, want)
		}
	}
}

// waitBusy waits until a node has a call of s in flight: a map started in the background has
// sent its first tasks.
func waitBusy(t *testing.T, s *Session) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		changed := s.client.Changed() // each node's status, twice a second, is a change
		for _, n := range s.client.Nodes() {
			if n.Busy > 0 {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatal("no call in flight on any node within 10 s")
		}
	}
}
