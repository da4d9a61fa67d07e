package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/internal/units"
)

// How a load shows itself: %load waits at most loadShowAfter for the nodes (a small module on
// warm nodes is ready by then, and shows only its summary), then returns while the nodes go on
// receiving and compiling; the display follows them, redrawn at most every loadEvery.
const (
	loadShowAfter = 100 * time.Millisecond
	loadEvery     = 250 * time.Millisecond
	// loadWatch is how long a display follows a load that never settles (a node that stays
	// silent without being declared lost, a compiler that never ends).
	loadWatch = 30 * time.Minute
)

// loadView is the display of one module's load: the module's summary, then where it stands
// on each node.
type loadView struct {
	id      string
	name    string
	summary string // the module's exports, functions and size
	l       *cluster.Loading
}

func newLoadView(name, summary string, l *cluster.Loading) *loadView {
	b := make([]byte, 6)
	rand.Read(b)
	return &loadView{id: "load-" + hex.EncodeToString(b), name: name, summary: summary, l: l}
}

// line is the load in one line. Once it has settled: "m: … · ready on 2 nodes", with how
// long the slowest node took to be callable and compiled when that was not at once. Before:
// "m: … · loading on 2 nodes (n1 interpreter 150 ms, n2 sending 1.0 MiB of 2.5 MiB)", or
// "m: … · ready on 2 nodes, compiling (n1 interpreter 150 ms, n2 compiled 900 ms)".
func (v *loadView) line(nodes []cluster.NodeLoad, settled bool) string {
	var ok, failed []cluster.NodeLoad
	var each []string
	var ready, compiled time.Duration
	callable := true
	for _, n := range nodes {
		switch n.State {
		case cluster.LoadLost:
			continue
		case cluster.LoadFailed:
			failed = append(failed, n)
		case cluster.LoadSending, cluster.LoadInstantiating:
			callable = false
			ok = append(ok, n)
		default:
			ok = append(ok, n)
			ready, compiled = max(ready, n.Ready), max(compiled, n.Compiled)
		}
		each = append(each, v.nodeText(n))
	}
	s := v.name + ": " + v.summary
	if len(failed) > 0 && len(ok) == 0 {
		return s + " · " + failedText(failed)
	}
	if !settled {
		if callable {
			s += fmt.Sprintf(" · ready on %d node%s, compiling", len(ok), plural(len(ok)))
		} else {
			s += fmt.Sprintf(" · loading on %d node%s", len(ok), plural(len(ok)))
		}
		if len(each) <= 8 {
			s += " (" + strings.Join(each, ", ") + ")"
		}
		return s
	}
	s += fmt.Sprintf(" · ready on %d node%s", len(ok), plural(len(ok)))
	if ready >= loadShowAfter {
		s += " after " + units.Duration(ready)
	}
	if compiled > ready && compiled >= loadShowAfter {
		s += ", compiled after " + units.Duration(compiled)
	}
	if len(failed) > 0 {
		s += " · " + failedText(failed)
	}
	return s
}

// failedText is "failed on n2: why" (the first node's reason; nodes run the same code).
func failedText(failed []cluster.NodeLoad) string {
	var ids []string
	for _, n := range failed {
		ids = append(ids, n.Node)
	}
	return fmt.Sprintf("failed on %s: %v", strings.Join(ids, ", "), failed[0].Err)
}

// nodeText is one node's state: "n1 sending 1.0 of 2.5 MiB", "n1 interpreter 0.15 s".
func (v *loadView) nodeText(n cluster.NodeLoad) string {
	switch n.State {
	case cluster.LoadSending:
		return fmt.Sprintf("%s sending %s of %s", n.Node, sizeText(n.Sent), sizeText(v.l.Size))
	case cluster.LoadInterpreter:
		return fmt.Sprintf("%s interpreter %s", n.Node, units.Duration(n.Ready))
	case cluster.LoadCompiled:
		return fmt.Sprintf("%s compiled %s", n.Node, units.Duration(n.Compiled))
	}
	return n.Node + " " + n.State
}

// bundle is the line as text, and in HTML the line above a table of the nodes.
func (v *loadView) bundle(nodes []cluster.NodeLoad, settled bool) display.Bundle {
	line := v.line(nodes, settled)
	t := &display.Table{Title: line, Headers: []string{"node", "state", "sent", "callable after", "compiled after"}, Right: map[int]bool{2: true, 3: true, 4: true}}
	for _, n := range nodes {
		sent := sizeText(n.Sent)
		if n.Cached {
			sent = "cached"
		}
		state := n.State
		if n.Err != nil {
			state += ": " + n.Err.Error()
		}
		t.Rows = append(t.Rows, []string{n.Node, state, sent, since(n.Ready), since(n.Compiled)})
	}
	return display.Bundle{"text/plain": line, "text/html": t.HTML()}
}

// since is a time from the start of a load, or "—" before it happened.
func since(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return units.Duration(d)
}

// Background is an Output that can still show things after its cell has returned, as the
// load of a module goes on.
type Background interface {
	Output
	// InPlace says how: true, a display with an id is updated in place (Jupyter front ends
	// update it wherever it is); false, only a display without an id shows, as a new block
	// (a terminal prints it above its prompt).
	InPlace() bool
}

// showLoad shows a load that has begun: its summary alone if the nodes are ready within
// loadShowAfter, else a display that follows the nodes after the cell has returned, as far as
// out can show it.
func (s *Session) showLoad(ctx context.Context, out Output, v *loadView) {
	after := s.loadShowAfter
	if after == 0 {
		after = loadShowAfter
	}
	deadline := time.NewTimer(after - time.Since(v.l.Start))
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		nodes, settled := v.l.Progress()
		if settled {
			out.Display(v.bundle(nodes, true), "", false)
			return
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		case <-deadline.C:
		}
		out.Display(v.bundle(nodes, false), v.id, false)
		if bg, ok := out.(Background); ok {
			go v.follow(bg, nodes)
		}
		return
	}
}

// follow redraws the load's display as the nodes move on (in place, where out can), or shows
// its end once (where it cannot), until it settles or the client closes.
func (v *loadView) follow(out Background, last []cluster.NodeLoad) {
	tick := time.NewTicker(loadEvery)
	defer tick.Stop()
	giveUp := time.After(loadWatch)
	prev := v.line(last, false)
	for {
		select {
		case <-tick.C:
		case <-v.l.Closed():
			return
		case <-giveUp:
			return
		}
		nodes, settled := v.l.Progress()
		b := v.bundle(nodes, settled)
		switch {
		case out.InPlace() && (settled || b.Text() != prev):
			out.Display(b, v.id, true)
		case settled:
			out.Display(b, "", false)
		}
		if settled {
			return
		}
		prev = b.Text()
	}
}
