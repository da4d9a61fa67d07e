package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// How long the dashboard remembers.
const (
	window     = time.Minute // the task stream's history
	lostAfter  = wire.LostAfter * wire.Heartbeat
	forgetNode = 5 * time.Minute  // a node lost this long leaves the page
	forgetGone = 5 * time.Second  // a session silent this long, while watched, has left
	keepEnded  = 10 * time.Minute // ended maps stay on the page this long…
	mostEnded  = 30               // …and this many at most
	mostEvents = 100
	rateWindow = 2 * time.Second // rates are measured over this much of the past
	spanGap    = 2 * time.Millisecond
	// A tick adds at most spansPerRow spans per node to the task stream, and spansPerTic over
	// all nodes (but 2 per node at least): a tick is 8 pixels of a 30-second stream 1000 pixels
	// wide, and a page draws a minute of them.
	spansPerTic = 1000
	spansPerRow = 16
	resetSpans  = 20000 // spans a page that opens receives, at most
)

// state is what the dashboard knows of the cluster, from the messages it watches. Its methods
// are safe for concurrent use.
type state struct {
	hub string

	mu       sync.Mutex
	nodes    map[string]*nodeView
	sessions map[string]*sessionView
	ended    []*mapView // newest last
	events   []event
	names    map[string]string // module SHA-256 → name, from the sessions
	sizes    map[string]int
	pending  []span // spans heard since the last tick
	log      []tick // the task stream's last window, a tick per entry
	dropped  int    // spans left out since the start, by clients or here
	seq      uint64 // ticks so far
	view     []byte // the state's JSON at the last tick
	changed  chan struct{}
	started  time.Time
	watchers int       // pages open at the last tick
	watched  time.Time // watched since then; zero while not watched
}

// mapLeft is the state of a map whose session left while it ran.
const mapLeft = "session left"

// tick is the spans one tick added to the task stream.
type tick struct {
	seq   uint64
	at    time.Time
	spans []span
	json  []byte // spans as JSON array elements, without the brackets
}

func newState(hub string) *state {
	return &state{hub: hub, nodes: map[string]*nodeView{}, sessions: map[string]*sessionView{},
		names: map[string]string{}, sizes: map[string]int{}, changed: make(chan struct{}), started: time.Now()}
}

// nodeView is one node as the page shows it.
type nodeView struct {
	st       wire.Status
	joined   time.Time
	seen     time.Time
	lost     bool
	rtt      time.Duration // -1 until measured
	samples  []sample
	rate     float64 // calls per second
	share    float64 // busy share, 0…1
	lostAt   time.Time
	sessions map[string]int // calls per session in the window (for the page's legend)
}

// sample is what a node's status said when it arrived.
type sample struct {
	at   time.Time
	done int
	busy int64
}

// sessionView is one session (a client) as the page shows it.
type sessionView struct {
	id, name string
	seq      uint64 // of the last Activity taken
	seen     time.Time
	joined   time.Time
	modules  []wire.ModuleTag
	maps     map[uint64]*mapView
	dropped  int
}

// mapView is one map as the page shows it.
type mapView struct {
	session, name string
	st            wire.MapState
	samples       []sample // done over time, for calls/s
	rate          float64
	ended         time.Time
}

// span is a wire.Span with the session it came from.
type span struct {
	wire.Span
	session string
}

// event is a line of the page's event list.
type event struct {
	At   int64  `json:"at"` // Unix ms
	Kind string `json:"kind"`
	What string `json:"what"`
}

func (s *state) eventLocked(now time.Time, kind, format string, args ...any) {
	s.events = append(s.events, event{At: now.UnixMilli(), Kind: kind, What: fmt.Sprintf(format, args...)})
	if len(s.events) > mostEvents {
		s.events = slices.Delete(s.events, 0, len(s.events)-mostEvents)
	}
}

// status takes a node's status.
func (s *state) status(st wire.Status, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[st.ID]
	switch {
	case n == nil:
		n = &nodeView{joined: now, rtt: -1, sessions: map[string]int{}}
		s.nodes[st.ID] = n
		s.eventLocked(now, "joined", "node %s joined (%s, %s/%s, %d cores)", st.ID, st.Host, st.OS, st.Arch, st.Cores)
	case n.st.Incarnation != st.Incarnation:
		s.eventLocked(now, "restarted", "node %s restarted", st.ID)
		n.samples, n.joined, n.lost, n.rtt = nil, now, false, -1
	case n.lost:
		s.eventLocked(now, "back", "node %s is back after %s", st.ID, now.Sub(n.lostAt).Round(100*time.Millisecond))
		n.lost = false
	}
	if st.Restarts > n.st.Restarts && n.st.Incarnation == st.Incarnation {
		s.eventLocked(now, "worker", "node %s: its worker restarted (%d so far)", st.ID, st.Restarts)
	}
	n.st, n.seen = st, now
	n.samples = append(n.samples, sample{at: now, done: st.Done, busy: st.BusyNs})
	n.samples = trimSamples(n.samples, now)
	n.rate, n.share = 0, 0
	if a, b := n.samples[0], n.samples[len(n.samples)-1]; b.at.Sub(a.at) > wire.Heartbeat/2 {
		d := b.at.Sub(a.at).Seconds()
		n.rate = float64(b.done-a.done) / d
		n.share = min(1, max(0, float64(b.busy-a.busy)/1e9/d))
	}
}

// trimSamples keeps the samples of the last rateWindow, and always the last two.
func trimSamples(ss []sample, now time.Time) []sample {
	k := 0
	for k < len(ss)-2 && now.Sub(ss[k].at) > rateWindow {
		k++
	}
	return ss[k:]
}

// rtt records a node's round trip, as the dashboard measured it.
func (s *state) rtt(id string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[id]; n != nil {
		n.rtt = d
	}
}

// activity takes what a session said.
func (s *state) activity(a wire.Activity, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[a.Client]
	if ss == nil {
		ss = &sessionView{id: a.Client, joined: now, maps: map[uint64]*mapView{}}
		s.sessions[a.Client] = ss
		s.eventLocked(now, "session", "session %s is here", a.Name)
	}
	for _, sp := range a.Spans {
		if sp.End >= sp.Start && sp.N > 0 && wire.ValidNodeID(sp.Node) {
			s.pending = append(s.pending, span{Span: sp, session: a.Client})
		}
	}
	ss.dropped += a.Dropped
	s.dropped += a.Dropped
	ss.seen = now
	if a.Seq <= ss.seq {
		return // an older message that came late: its spans count, not its state
	}
	ss.seq, ss.name, ss.modules = a.Seq, a.Name, a.Modules
	for _, m := range a.Modules {
		s.names[m.SHA], s.sizes[m.SHA] = m.Name, m.Size
	}
	present := map[uint64]bool{}
	for _, ms := range a.Maps {
		present[ms.ID] = true
		mv := ss.maps[ms.ID]
		if mv == nil {
			if s.endedLocked(a.Client, ms.ID) {
				continue // seen ending already (a message sent before may come after)
			}
			mv = &mapView{session: a.Client, name: a.Name}
			ss.maps[ms.ID] = mv
		}
		mv.st = ms
		mv.samples = trimSamples(append(mv.samples, sample{at: now, done: ms.Done}), now)
		if x, y := mv.samples[0], mv.samples[len(mv.samples)-1]; y.at.Sub(x.at) > wire.ActivityEvery/2 {
			mv.rate = float64(y.done-x.done) / y.at.Sub(x.at).Seconds()
		}
		if ms.State != wire.MapRunning {
			if ms.Elapsed > 0 {
				mv.rate = float64(ms.Done) / time.Duration(ms.Elapsed).Seconds()
			}
			mv.ended = now
			delete(ss.maps, ms.ID)
			s.ended = append(s.ended, mv)
		}
	}
	for id := range ss.maps { // a running map the session no longer speaks of
		if !present[id] {
			delete(ss.maps, id)
		}
	}
}

// endedLocked says whether the map id of session has been seen ending.
func (s *state) endedLocked(session string, id uint64) bool {
	for _, mv := range s.ended {
		if mv.session == session && mv.st.ID == id {
			return true
		}
	}
	return false
}

// tick moves the spans heard since the last tick into the task stream, notices nodes that went
// silent and sessions that left (sessions speak only while watched), forgets what is too old,
// and, while watched, builds the view pages are sent; pages are open.
func (s *state) tick(now time.Time, pages int, watched bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = pages
	for id, n := range s.nodes {
		switch {
		case !n.lost && now.Sub(n.seen) > lostAfter:
			n.lost, n.lostAt = true, now
			n.rate, n.share = 0, 0
			s.eventLocked(now, "lost", "node %s lost: silent for %s", id, lostAfter)
		case n.lost && now.Sub(n.lostAt) > forgetNode:
			delete(s.nodes, id)
		}
	}
	switch {
	case !watched:
		s.watched = time.Time{}
	case s.watched.IsZero():
		s.watched = now
	}
	if watched {
		for id, ss := range s.sessions {
			if now.Sub(ss.seen) > forgetGone && now.Sub(s.watched) > forgetGone {
				for _, mv := range ss.maps { // it closed while they ran
					mv.st.State, mv.ended, mv.rate = mapLeft, now, 0
					s.ended = append(s.ended, mv)
				}
				delete(s.sessions, id)
				s.eventLocked(now, "left", "session %s left", ss.name)
			}
		}
	}
	for len(s.ended) > 0 && (len(s.ended) > mostEnded || now.Sub(s.ended[0].ended) > keepEnded) {
		s.ended = s.ended[1:]
	}
	for len(s.log) > 0 && now.Sub(s.log[0].at) > window {
		s.log = s.log[1:]
	}
	s.seq++
	if len(s.pending) > 0 {
		spans, dropped := merge(s.pending, spanGap, spansPerRow, spansPerTic)
		s.dropped += dropped
		s.pending = nil
		t := tick{seq: s.seq, at: now, spans: spans}
		t.json = s.spansJSONLocked(spans)
		s.log = append(s.log, t)
	}
	if watched {
		s.view = s.viewLocked(now)
	} else {
		s.view = nil
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// merge groups spans by node and merges, on each node, spans of the same session, function,
// map and kind that follow within gap, widening the gap until a node has at most perNode spans
// and all nodes together at most total. A node with more still (sessions whose calls alternate
// on it) has its neighbouring spans merged in pairs, whatever their keys, until it has no more:
// at that density the page could not tell them apart. It reports the calls it left out: none
// so far.
func merge(in []span, gap time.Duration, perNode, total int) ([]span, int) {
	byNode := map[string][]span{}
	var nodes []string
	for _, sp := range in {
		if byNode[sp.Node] == nil {
			nodes = append(nodes, sp.Node)
		}
		byNode[sp.Node] = append(byNode[sp.Node], sp)
	}
	sort.Strings(nodes)
	perNode = max(2, min(perNode, total/max(1, len(nodes))))
	var out []span
	for _, id := range nodes {
		row := byNode[id]
		sort.Slice(row, func(i, j int) bool { return row[i].Start < row[j].Start })
		for g := gap; ; g *= 4 {
			row = mergeRow(row, g)
			if len(row) <= perNode || g > time.Second {
				break
			}
		}
		for len(row) > perNode {
			row = halve(row)
		}
		out = append(out, row...)
	}
	return out, 0
}

// mergeRow merges neighbouring spans of one node, sorted by start, that share their key and
// follow within gap.
func mergeRow(row []span, gap time.Duration) []span {
	out := row[:0]
	for _, sp := range row {
		if k := len(out) - 1; k >= 0 && sameKey(out[k], sp) && sp.Start-out[k].End <= int64(gap) {
			out[k].End = max(out[k].End, sp.End)
			out[k].N += sp.N
			continue
		}
		out = append(out, sp)
	}
	return out
}

func sameKey(a, b span) bool {
	return a.session == b.session && a.Module == b.Module && a.Func == b.Func && a.Map == b.Map && a.Kind == b.Kind
}

// halve merges a row's spans in pairs: each takes the key of the first of its pair.
func halve(row []span) []span {
	out := row[:0]
	for i := 0; i < len(row); i += 2 {
		sp := row[i]
		if i+1 < len(row) {
			sp.End = max(sp.End, row[i+1].End)
			sp.N += row[i+1].N
			sp.Kind = max(sp.Kind, row[i+1].Kind) // a marked span stays marked
		}
		out = append(out, sp)
	}
	return out
}

// spanJSON is a span as the page reads it.
type spanJSON struct {
	Node    string  `json:"n"`
	Session string  `json:"c"`
	Func    string  `json:"f"` // module.function
	Map     string  `json:"m,omitempty"`
	Start   float64 `json:"s"` // Unix ms, node clock
	End     float64 `json:"e"`
	N       int     `json:"x"`
	Kind    int     `json:"k,omitempty"`
}

// spansJSONLocked writes spans as the elements of a JSON array, without its brackets.
func (s *state) spansJSONLocked(spans []span) []byte {
	var b []byte
	for i := range spans {
		sp := &spans[i]
		if i > 0 {
			b = append(b, ',')
		}
		j := spanJSON{Node: sp.Node, Session: sp.session, Func: s.moduleLocked(sp.Module) + "." + sp.Func, Start: float64(sp.Start) / 1e6, End: float64(sp.End) / 1e6, N: sp.N, Kind: sp.Kind}
		if sp.Map != 0 {
			j.Map = sp.session + "/" + strconv.FormatUint(sp.Map, 10)
		}
		e, _ := json.Marshal(j)
		b = append(b, e...)
	}
	return b
}

// since returns the task stream's spans after tick seq, as the elements of a JSON array, and
// whether they are all of its window (seq 0, or a seq the window has passed): the page then
// starts its task stream afresh. The whole window is merged further, so that a page that opens
// on a busy cluster does not receive every tick's spans.
func (s *state) since(seq uint64) (spans []byte, reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq == 0 || len(s.log) > 0 && s.log[0].seq > seq+1 {
		var all []span
		for _, t := range s.log {
			all = append(all, t.spans...)
		}
		merged, _ := merge(all, 8*spanGap, resetSpans/4, resetSpans)
		return s.spansJSONLocked(merged), true
	}
	var b []byte
	for _, t := range s.log {
		if t.seq > seq && len(t.json) > 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, t.json...)
		}
	}
	return b, false
}

// current is the view built at the last tick, its tick, and a channel closed at the next tick.
// With force, a view is built now if none was (no page was open at the last tick).
func (s *state) current(force bool) (view []byte, seq uint64, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if force && s.view == nil {
		s.view = s.viewLocked(time.Now())
	}
	return s.view, s.seq, s.changed
}
