package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// What a client tells a dashboard (package cluster/dashboard) that has a page open: its maps
// with their progress, the spans of its calls per node, its modules' names. It says nothing
// while no dashboard watches: a call then costs one atomic load more, a map nothing per task.
// While one watches, each answer adds its calls to a span per node that grows while calls
// follow each other (within spanGap), and a goroutine publishes them with the maps' progress
// 4 times a second (wire.ActivityEvery): the dashboard never gets a message per call.

// spanGap is how far apart two calls on a node may be and still share a span: far below what
// a dashboard's timeline can show.
const spanGap = 2 * time.Millisecond

// maxSpans bounds the spans a client keeps between two publications; beyond it they are
// counted as dropped.
const maxSpans = 2048

// endedFor is how long an ended map stays in the client's Activity, so that a dashboard sees
// how it ended even if it misses a message, or if its page reconnects meanwhile (a page tries
// again after a second).
const endedFor = 3 * time.Second

// ErrNoDashboard is returned by Client.Dashboard when no dashboard watches the hub.
var ErrNoDashboard = errors.New("cluster: no dashboard watches this hub")

// WithName names the client for whoever watches the cluster (a dashboard lists sessions by
// name). The default is "USER@HOST pid PID".
func WithName(name string) ClientOption {
	return func(o *clientOptions) error {
		if name == "" {
			return errors.New("cluster: empty client name")
		}
		o.name = name
		return nil
	}
}

// defaultName is a client's name without WithName.
func defaultName() string {
	host, _ := os.Hostname()
	if user := os.Getenv("USER"); user != "" {
		host = user + "@" + host
	}
	return fmt.Sprintf("%s pid %d", host, os.Getpid())
}

// NameModule gives a module the client loaded a name for whoever watches the cluster (a
// session names it as the user did: %load … as NAME). Without one, a module goes by the name
// in its name section, or the start of its SHA-256.
func (c *Client) NameModule(sha, name string) {
	c.act.mu.Lock()
	defer c.act.mu.Unlock()
	if c.act.names == nil {
		c.act.names = map[string]string{}
	}
	c.act.names[sha] = name
}

// Dashboard asks the dashboards watching the hub where their page is, and returns the first
// answer: its address, with the token that opens it. It fails with ErrNoDashboard when none
// answers.
func (c *Client) Dashboard(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := c.nc.RequestWithContext(ctx, wire.SubjDashInfo, nil)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) {
		return "", ErrNoDashboard
	}
	if err != nil {
		return "", fmt.Errorf("cluster: dashboard: %w", err)
	}
	var info wire.DashInfo
	if err := json.Unmarshal(m.Data, &info); err != nil || wire.CheckVersion(info.V) != nil || info.URL == "" {
		return "", fmt.Errorf("cluster: dashboard: bad answer %q", m.Data)
	}
	return info.URL, nil
}

// activity is what the client tells a watching dashboard.
type activity struct {
	watching atomic.Bool // a dashboard has a page open: calls add their spans

	mu       sync.Mutex
	watchers map[string]time.Time // dashboards watching, until when unless they say so again
	heard    time.Time            // the last Watch heard
	turned   chan struct{}        // closed, and replaced, when watching turns on or off
	running  bool                 // publishActivity runs
	seq      uint64               // Activity messages sent
	last     time.Time            // when the last one was sent
	mapSeq   uint64
	maps     map[uint64]*mapRun // running
	ended    []endedMap
	spans    []wire.Span
	open     map[string]int // per node, the index in spans of its span that may still grow
	dropped  int
	names    map[string]string // module SHA-256 → name (NameModule)
}

// endedMap is the last state of a map that ended.
type endedMap struct {
	at    time.Time
	state wire.MapState
}

// onWatch hears a dashboard say that it has a page open, or that its last one closed.
func (c *Client) onWatch(m *nats.Msg) {
	var w wire.Watch
	if json.Unmarshal(m.Data, &w) != nil || wire.CheckVersion(w.V) != nil {
		return
	}
	a := &c.act
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.Off {
		delete(a.watchers, w.ID)
		if len(a.watchers) == 0 {
			a.heard = time.Time{} // not a watch gone late: none watches
		}
		return // publishActivity stops at its next tick if no one else watches
	}
	if a.watchers == nil {
		a.watchers = map[string]time.Time{}
	}
	a.heard = time.Now()
	a.watchers[w.ID] = a.heard.Add(wire.WatchFor)
	if !a.running {
		a.running = true
		a.setWatchingLocked(true)
		go c.publishActivity()
	}
}

// setWatchingLocked turns watching on or off, and says so to those waiting on turnedLocked.
// a.mu is held.
func (a *activity) setWatchingLocked(on bool) {
	a.watching.Store(on)
	if a.turned != nil {
		close(a.turned)
		a.turned = nil
	}
}

// turnedLocked is closed when watching next turns on or off. a.mu is held.
func (a *activity) turnedLocked() <-chan struct{} {
	if a.turned == nil {
		a.turned = make(chan struct{})
	}
	return a.turned
}

// watchedLocked says whether a dashboard still watches, and forgets those that went silent.
func (a *activity) watchedLocked(now time.Time) bool {
	for id, until := range a.watchers {
		if now.After(until) {
			delete(a.watchers, id)
		}
	}
	return len(a.watchers) > 0
}

// publishActivity publishes the client's Activity until no dashboard watches (each said it
// stopped, or has been silent for wire.WatchFor): every wire.ActivityEvery while maps run or
// calls came back, every wire.WatchEvery otherwise.
func (c *Client) publishActivity() {
	t := time.NewTicker(wire.ActivityEvery)
	defer t.Stop()
	for {
		c.publishActivityOnce(false)
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		a := &c.act
		a.mu.Lock()
		if !a.watchedLocked(time.Now()) {
			a.running = false
			a.setWatchingLocked(false)
			a.spans, a.open, a.dropped = nil, nil, 0
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
}

// publishActivityOnce publishes the client's Activity, if there is news (a map ended: ended)
// or a beat is due.
func (c *Client) publishActivityOnce(ended bool) {
	a := &c.act
	now := time.Now()
	a.mu.Lock()
	if !ended && len(a.maps) == 0 && len(a.spans) == 0 && a.dropped == 0 && now.Sub(a.last) < wire.WatchEvery {
		a.mu.Unlock()
		return
	}
	a.seq++
	act := wire.Activity{V: wire.Version, Client: c.id, Name: c.o.name, Seq: a.seq, Sent: now.UnixNano(),
		Spans: a.spans, Dropped: a.dropped}
	a.spans, a.open, a.dropped, a.last = nil, nil, 0, now
	running := make([]*mapRun, 0, len(a.maps))
	for _, m := range a.maps {
		running = append(running, m)
	}
	kept := a.ended[:0]
	for _, e := range a.ended {
		if now.Sub(e.at) < endedFor {
			kept = append(kept, e)
			act.Maps = append(act.Maps, e.state)
		}
	}
	a.ended = kept
	names := make(map[string]string, len(a.names))
	for sha, name := range a.names {
		names[sha] = name
	}
	a.mu.Unlock()

	for _, m := range running {
		act.Maps = append(act.Maps, m.state(wire.MapRunning, nil))
		m.told.Store(true)
	}
	sort.Slice(act.Maps, func(i, j int) bool { return act.Maps[i].ID < act.Maps[j].ID })
	c.mu.Lock()
	for _, sha := range c.order {
		if m := c.modules[sha]; m != nil {
			act.Modules = append(act.Modules, wire.ModuleTag{SHA: sha, Name: moduleName(m, names[sha]), Size: len(m.Bytes())})
		}
	}
	c.mu.Unlock()
	b, err := json.Marshal(act)
	if err == nil {
		c.nc.Publish(wire.SubjActivity, b)
	}
}

// moduleName is the name a module goes by: given, from its name section, or its SHA-256's start.
func moduleName(m *wasm.Module, given string) string {
	switch {
	case given != "":
		return given
	case m.Name != "":
		return m.Name
	}
	return m.SHA256[:12]
}

// beginMap registers a map that starts, and returns its ID.
func (a *activity) beginMap(m *mapRun) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mapSeq++
	if a.maps == nil {
		a.maps = map[uint64]*mapRun{}
	}
	a.maps[a.mapSeq] = m
	return a.mapSeq
}

// endMap keeps the last state of a map that ended with err for endedFor, and publishes it at
// once (a script's session may close right after its last map), if a dashboard was told it
// runs or watches lately: a watch can come late on a loaded machine, and a page that reconnects
// has its dashboard say it stopped watching, then watch again.
func (c *Client) endMap(m *mapRun, err error) {
	a := &c.act
	if !a.watchedLately() && !m.told.Load() {
		a.mu.Lock()
		delete(a.maps, m.id)
		a.mu.Unlock()
		return
	}
	state := wire.MapDone
	switch {
	case errors.Is(err, ErrInterrupted):
		state = wire.MapInterrupted
	case err != nil:
		state = wire.MapFailed
	}
	st := m.state(state, err)
	now := time.Now()
	a.mu.Lock()
	delete(a.maps, m.id)
	a.ended = slices.DeleteFunc(a.ended, func(e endedMap) bool { return now.Sub(e.at) >= endedFor })
	a.ended = append(a.ended, endedMap{at: now, state: st})
	a.mu.Unlock()
	c.publishActivityOnce(true)
}

// endedLately says whether a map ended within endedFor that a dashboard should hear of.
func (a *activity) endedLately() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.ended, func(e endedMap) bool { return time.Since(e.at) < endedFor })
}

// watchedLately says whether a dashboard has said it watches within the last 2 WatchFor.
func (a *activity) watchedLately() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.heard.IsZero() && time.Since(a.heard) < 2*wire.WatchFor
}

// addLocked adds a call of fn on node, which ran from start to end on the node's clock, to
// the node's span: a.mu is held.
func (a *activity) addLocked(node string, e Export, mapID uint64, start, end time.Time, kind int) {
	if start.IsZero() || end.Before(start) {
		return // never ran: no span
	}
	s, f := start.UnixNano(), end.UnixNano()
	if i, ok := a.open[node]; ok {
		sp := &a.spans[i]
		if sp.Func == e.Func && sp.Module == e.Module && sp.Map == mapID && sp.Kind == kind &&
			s >= sp.Start && s-sp.End <= int64(spanGap) {
			sp.End = max(sp.End, f)
			sp.N++
			return
		}
	}
	if len(a.spans) >= maxSpans {
		a.dropped++
		return
	}
	if a.open == nil {
		a.open = map[string]int{}
	}
	a.spans = append(a.spans, wire.Span{Node: node, Module: e.Module, Func: e.Func, Map: mapID, Start: s, End: f, N: 1, Kind: kind})
	a.open[node] = len(a.spans) - 1
}

// addResults adds the calls rs of e, outside a map, if a dashboard watches.
func (a *activity) addResults(e Export, rs []Result) {
	if !a.watching.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range rs {
		a.addLocked(rs[i].Node, e, 0, rs[i].Started, rs[i].Finished, spanKind(rs[i].Err, 0))
	}
}

// spanKind is the kind of span a call belongs to, from its error and the times its task was
// run before.
func spanKind(err error, retries int) int {
	var trap *wasm.Trap
	switch {
	case err == nil && retries > 0:
		return wire.SpanRerun
	case err == nil:
		return wire.SpanOK
	case errors.As(err, &trap):
		return wire.SpanTrap
	case errors.Is(err, ErrNodeLost):
		return wire.SpanLost
	}
	return wire.SpanOK
}

// state is the map's progress, as a dashboard shows it.
func (m *mapRun) state(state string, err error) wire.MapState {
	m.mu.Lock()
	st := wire.MapState{ID: m.id, Module: m.spec.Module, Func: m.spec.Func, State: state,
		Total: len(m.spec.Args), Done: m.done, Failed: m.r.Failed, Retried: m.r.Retried, Stolen: m.r.Stolen,
		Nodes: len(m.used), Chunks: len(m.r.Chunks), Chunk: m.spec.Chunk, Auto: m.g != nil,
		Began: m.r.Began.UnixNano(), Elapsed: int64(time.Since(m.r.Began))}
	if m.r.Elapsed > 0 {
		st.Elapsed = int64(m.r.Elapsed)
	}
	if st.Auto && len(m.r.Chunks) > 0 {
		st.Chunk = m.r.Chunks[len(m.r.Chunks)-1]
	}
	m.mu.Unlock()
	if m.g != nil {
		st.Why = m.g.Why()
	} else {
		st.Why = fmt.Sprintf("chunk %d as asked", m.spec.Chunk)
	}
	if err != nil {
		st.Err = err.Error()
	}
	return st
}
