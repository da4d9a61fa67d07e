package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
)

// How a load shows its progress: nothing for a load quicker than loadShowAfter (a small module
// on warm nodes shows only its summary), then a line redrawn at most every loadEvery.
const (
	loadShowAfter = 100 * time.Millisecond
	loadEvery     = 250 * time.Millisecond
)

// loadProgress is the live display of a module being shipped to the nodes: its size, how many
// of the nodes have instantiated it, and which; when the load ends, its summary replaces it.
type loadProgress struct {
	out   Output
	id    string
	sha   string
	size  int
	start time.Time
	shown bool
	nodes int // the nodes shipped to, as last seen
}

func newLoadProgress(out Output, sha string, size int, start time.Time) *loadProgress {
	b := make([]byte, 6)
	rand.Read(b)
	return &loadProgress{out: out, id: "load-" + hex.EncodeToString(b), sha: sha, size: size, start: start}
}

// line is "shipping 2.5 MiB to 2 nodes · 1/2 ready (n1 ✓, n2 …) · 0.4 s".
func (p *loadProgress) line(nodes []cluster.NodeInfo, now time.Time) string {
	p.nodes = len(nodes)
	ready := 0
	var each []string
	for _, n := range nodes {
		mark := "…"
		if slices.Contains(n.Modules, p.sha) {
			ready++
			mark = "✓"
		}
		each = append(each, n.ID+" "+mark)
	}
	s := fmt.Sprintf("shipping %s to %d node%s · %d/%d ready", sizeText(p.size), len(nodes), plural(len(nodes)), ready, len(nodes))
	if len(each) > 0 && len(each) <= 8 {
		s += " (" + strings.Join(each, ", ") + ")"
	}
	return s + " · " + duration(now.Sub(p.start))
}

// show draws the display, or redraws it in place.
func (p *loadProgress) show(nodes []cluster.NodeInfo, now time.Time) {
	p.out.Display(display.Plain(p.line(nodes, now)), p.id, p.shown)
	p.shown = true
}

// finish shows the load's summary: in place of the display if it was shown, with a second
// line saying how long shipping took; else alone.
func (p *loadProgress) finish(summary string, now time.Time) {
	if !p.shown {
		p.out.Display(display.Plain(summary), "", false)
		return
	}
	summary += fmt.Sprintf("\nshipped %s to %d node%s in %s", sizeText(p.size), p.nodes, plural(p.nodes), duration(now.Sub(p.start)))
	p.out.Display(display.Plain(summary), p.id, true)
}

// fail replaces a shown display with the failure; the error itself is the cell's.
func (p *loadProgress) fail(now time.Time) {
	if p.shown {
		p.out.Display(display.Plain(fmt.Sprintf("shipping %s to %d node%s · failed after %s",
			sizeText(p.size), p.nodes, plural(p.nodes), duration(now.Sub(p.start)))), p.id, true)
	}
}

// ship sends a module to the cluster's nodes, showing its progress on out while it takes long.
func (s *Session) ship(ctx context.Context, out Output, bin []byte, sha string) (*loadProgress, error) {
	p := newLoadProgress(out, sha, len(bin), time.Now())
	done := make(chan error, 1)
	go func() {
		_, err := s.client.Load(ctx, bin)
		done <- err
	}()
	after := s.loadShowAfter
	if after == 0 {
		after = loadShowAfter
	}
	tick := time.NewTimer(after)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				p.fail(time.Now())
			}
			return p, err
		case now := <-tick.C:
			p.show(s.client.Nodes(), now)
			tick.Reset(loadEvery)
		}
	}
}
