package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// A client tells a dashboard nothing until one watches; then its map's progress (running, then
// done with its failure counted), and spans of its calls that mark the trap and the rerun, merged
// so that there are far fewer spans than calls; and it stops when the dashboard says its last
// page closed, but not when its watch is merely late.
func TestActivity(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, basics)
	tc.client.NameModule(sha, "basics")
	nc, err := tc.hub.Dial("test dashboard")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var acts []wire.Activity
	marks := make(chan struct{})
	ended := make(chan struct{}, 1) // an activity message told a map done
	nc.Subscribe(wire.SubjActivity, func(m *nats.Msg) {
		if string(m.Data) == "mark" {
			marks <- struct{}{}
			return
		}
		a, err := wire.DecodeActivity(m.Data)
		if err != nil {
			t.Errorf("activity: %v", err)
		}
		mu.Lock()
		acts = append(acts, a)
		mu.Unlock()
		for _, m := range a.Maps {
			if m.State == wire.MapDone {
				select {
				case ended <- struct{}{}:
				default:
				}
			}
		}
	})
	// count is the activity messages the client published so far: a mark published behind
	// them on the client's own connection arrives after them.
	count := func() int {
		tc.client.nc.Publish(wire.SubjActivity, []byte("mark"))
		<-marks
		mu.Lock()
		defer mu.Unlock()
		return len(acts)
	}
	watch := func(off bool) {
		b, _ := json.Marshal(wire.Watch{V: wire.Version, ID: "test", Off: off})
		nc.Publish(wire.SubjWatch, b)
		nc.Flush()
	}
	args := make([][]uint64, 2000)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(1)}
	}
	args[42] = []uint64{0}
	spec := MapSpec{Export: Export{Module: sha, Func: "trap_div"}, Args: args, Retries: 1, Chunk: 1}
	if _, err := tc.client.Map(t.Context(), spec, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d activity messages with no dashboard watching", n)
	}

	watch(false)
	waitWatching(t, tc.client, true)
	// A map long enough for the client to tell it running (20,000 calls of chunk 1 take about a
	// second), while the dashboard says it watches, as it does every second.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(wire.WatchEvery):
				watch(false)
			}
		}
	}()
	args = slices.Repeat(args, 10)
	spec.Args = args
	r, err := tc.client.Map(t.Context(), spec, nil)
	close(stop)
	if err != nil || r.Failed != 10 {
		t.Fatalf("map: %v, %d failed", err, r.Failed)
	}
	// A map that ends publishes its last state at once (endMap): wait for it to arrive.
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the map's end never reached the dashboard's subject")
	}
	mu.Lock()
	var running, done bool
	calls, spans := 0, 0
	kinds := map[int]int{}
	for _, a := range acts {
		if a.Client == "" || a.Name == "" || len(a.Modules) != 1 || a.Modules[0].Name != "basics" {
			t.Errorf("activity of %q (%q), modules %+v", a.Client, a.Name, a.Modules)
		}
		for _, m := range a.Maps {
			if m.Func != "trap_div" || m.Total != len(args) || m.Chunk != 1 {
				t.Errorf("map %+v", m)
			}
			running = running || m.State == wire.MapRunning
			done = done || m.State == wire.MapDone && m.Done == len(args) && m.Failed == 10 && m.Retried == 10
		}
		for _, sp := range a.Spans {
			calls += sp.N
			spans++
			kinds[sp.Kind] += sp.N
			if sp.Func != "trap_div" || sp.Module != sha || sp.Map == 0 || sp.End < sp.Start {
				t.Errorf("span %+v", sp)
			}
		}
	}
	mu.Unlock()
	if !running || !done {
		t.Errorf("the map was told running: %v, done with 10 failed after a retry each: %v", running, done)
	}
	if calls != len(args)+10 || kinds[wire.SpanTrap] != 20 || 2*spans > calls {
		t.Errorf("%d spans of %d calls (want %d, with each of the 10 traps twice), by kind %v", spans, calls, len(args)+10, kinds)
	}

	watch(true)
	waitWatching(t, tc.client, false) // the publisher has stopped: its last message is sent
	before := count()
	if _, err := tc.client.Map(t.Context(), MapSpec{Export: spec.Export, Args: args[:100]}, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != before {
		t.Errorf("%d activity messages after the dashboard stopped watching", n-before)
	}

	// A dashboard whose watch comes late (a loaded machine) still hears how a map ended.
	watch(false)
	waitWatching(t, tc.client, true)
	waitWatching(t, tc.client, false) // no watch for wire.WatchFor: the publisher stopped
	before = count()
	if _, err := tc.client.Map(t.Context(), MapSpec{Export: spec.Export, Args: args[:100]}, nil); err != nil {
		t.Fatal(err)
	}
	count()
	mu.Lock()
	defer mu.Unlock()
	if len(acts) != before+1 || len(acts[before].Maps) != 1 || acts[before].Maps[0].State != wire.MapDone {
		t.Errorf("after a late watch, %d activity messages: %+v; want one with the map done", len(acts)-before, acts[before:])
	}
}

// A dashboard that was told a map runs, stops watching (its page reconnects) and watches again
// after the map ended, hears how it ended.
func TestActivityRewatch(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	nc, err := tc.hub.Dial("test dashboard")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	states := make(chan string, 1024) // the states of the map, as activity messages tell them
	nc.Subscribe(wire.SubjActivity, func(m *nats.Msg) {
		a, err := wire.DecodeActivity(m.Data)
		if err != nil {
			t.Errorf("activity: %v", err)
		}
		for _, m := range a.Maps {
			states <- m.State
		}
	})
	watch := func(off bool) {
		b, _ := json.Marshal(wire.Watch{V: wire.Version, ID: "test", Off: off})
		nc.Publish(wire.SubjWatch, b)
		nc.Flush()
	}
	await := func(state string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case s := <-states:
				if s == state {
					return
				}
			case <-timeout:
				t.Fatalf("no activity message told the map %s", state)
			}
		}
	}
	watch(false)
	waitWatching(t, tc.client, true)
	ctx, cancel := context.WithCancel(t.Context())
	mapped := make(chan error, 1)
	go func() {
		_, err := tc.client.Map(ctx, MapSpec{Export: Export{Module: sha, Func: "tick_then_spin"}, Args: make([][]uint64, 1)}, nil)
		mapped <- err
	}()
	await(wire.MapRunning) // runs until cancelled
	watch(true)
	waitWatching(t, tc.client, false)
	cancel()
	if err := <-mapped; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("map: %v, want ErrInterrupted", err)
	}
	watch(false)
	await(wire.MapInterrupted)
}

// What a watched call costs the client beyond its round trip: adding it to its node's span.
func BenchmarkActivitySpan(b *testing.B) {
	var a activity
	a.watching.Store(true)
	e := Export{Module: "m", Func: "f"}
	start := time.Now()
	rs := []Result{{Node: "n"}}
	for i := range b.N {
		rs[0].Started = start.Add(time.Duration(i) * time.Microsecond)
		rs[0].Finished = rs[0].Started.Add(500 * time.Nanosecond)
		a.addResults(e, rs)
		if len(a.spans) > 1000 {
			a.spans, a.open = nil, nil
		}
	}
}

// waitWatching waits until the client knows whether a dashboard watches.
func waitWatching(t *testing.T, c *Client, on bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.act.mu.Lock()
		turned := c.act.turnedLocked()
		now := c.act.watching.Load()
		c.act.mu.Unlock()
		if now == on {
			return
		}
		select {
		case <-turned:
		case <-timeout:
			t.Fatalf("the client never heard that a dashboard watches: %v", on)
		}
	}
}
