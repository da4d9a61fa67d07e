package grain

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rain-wasm/rain/internal/units"
)

// Auto-grain: how a map with no chunk size chooses one as it goes (Auto).
//
// A chunk of k calls that each cost c on the node, handed to a node with a dispatch overhead o
// (the round trip of a call minus its node-side time), keeps the node busy k·c out of k·c + o:
// efficiency k·c / (k·c + o), which reaches TargetEfficiency at k90 = ⌈9·o / c⌉. The first
// chunks are single calls, to measure c and o. Later ones follow guided self-scheduling,
// ⌈remaining / (2·slots)⌉ (slots: the chunks a node holds at once, 2 in a cluster map, so
// that, as in factoring, half the rest is in flight), but never more than the size for sizingEfficiency (measured overheads run
// low), nor than maxChunkTime of work, so progress and cancellation stay prompt. Chunks shrink
// toward the tail, so the nodes finish together even when later calls cost more than the
// first, but not below √(2·remaining·o/(nodes·c)) (where per-chunk overhead and end-of-map
// imbalance balance) nor two overheads of work, whichever is less: a cheap function's tail
// would otherwise be a hundred chunks of almost no work. Chunks grow at most fourfold from one
// to the next, as the first figures are few and noisy. TestGrainModel checks the policy
// against the best fixed chunk on a model of the cluster.
//
// Nodes may differ (one on the interpreter, one beside another program): the guided share is
// taken in time, with each node's own mean cost cᵢ — the rest of the map takes about
// T = remaining / Σ 1/cⱼ on the nodes together, and node i's chunk is its share of T over cᵢ —
// so a slow node's last chunk keeps no fast node waiting. But a node's mean cost cannot tell a
// slow node from costly inputs (the node that happened to take a Mandelbrot's middle rows looks
// slow; one that ran only cheap calls looks fast), so a node's cost is never taken below the
// cost over all nodes, and the tail's floor stays that of the cost over all nodes: a node that
// looks slow gets smaller chunks, never a cascade of single calls. The share uses the node's recent cost where
// it is above its mean, as calls that grow costlier as the map goes on would otherwise make
// chunks far longer than planned. A slow node's queued chunks are stolen at the end (see
// Client.Map).
const (
	// sizingEfficiency is what chunks are sized for: above the target, because the overhead
	// measured on a quiet node understates it on a busy one, and larger chunks cost little
	// once the tail shrinks them.
	sizingEfficiency = 0.98
	maxChunkTime     = 200 * time.Millisecond
	growth           = 4 // a chunk is at most this many times the one before
	// defaultOverhead stands for the dispatch overhead until one is measured.
	defaultOverhead = 100 * time.Microsecond
)

// Auto measures a map's calls and sizes its chunks.
type Auto struct {
	slots    int // chunks a node holds at once
	most     int // calls a chunk carries at most
	mu       sync.Mutex
	tasks    int           // calls measured
	busy     time.Duration // their node-side time
	overhead time.Duration // least dispatch overhead seen; < 0 until measured
	handed   int           // chunks handed out
	warmup   int           // chunks of 1 handed out to measure
	k90      int           // the last chunk size for TargetEfficiency
	last     int           // the last chunk size handed out
	per      map[string]*nodeCost
}

// nodeCost is what one node's calls cost.
type nodeCost struct {
	tasks  int
	busy   time.Duration
	recent time.Duration // per call, its last chunks weighing most (half the last, a quarter the one before…)
}

// NewAuto sizes the chunks of a map that keeps slots chunks on each node at once, and sends
// at most most calls in one.
func NewAuto(slots, most int) *Auto {
	return &Auto{slots: slots, most: most, overhead: -1, per: map[string]*nodeCost{}}
}

// Observe records n calls that travelled together to node: their node-side time busy, and the
// time from sending them to their answer, span.
func (g *Auto) Observe(node string, n int, busy, span time.Duration) {
	if n <= 0 || busy < 0 {
		return
	}
	over := span - busy
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tasks += n
	g.busy += busy
	nc := g.per[node]
	if nc == nil {
		nc = &nodeCost{}
		g.per[node] = nc
	}
	nc.tasks += n
	nc.busy += busy
	if per := busy / time.Duration(n); nc.recent == 0 {
		nc.recent = per
	} else {
		nc.recent = (nc.recent + per) / 2
	}
	// The least overhead is that of a call that did not wait behind others on its node.
	if over > 0 && (g.overhead < 0 || over < g.overhead) {
		g.overhead = over
	}
}

// Cost is the mean node-side time per call so far, over all nodes.
func (g *Auto) Cost() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.costLocked()
}

// costLocked is Cost, with g.mu held.
func (g *Auto) costLocked() time.Duration {
	if g.tasks == 0 {
		return 0
	}
	return g.busy / time.Duration(g.tasks)
}

// restLocked is how long the nodes together take for remaining calls: remaining / Σ 1/cⱼ, with
// the mean cost for nodes not measured yet.
func (g *Auto) restLocked(remaining, nodes int) float64 {
	rate, measured := 0.0, 0
	for _, nc := range g.per {
		if nc.tasks > 0 && nc.busy > 0 {
			rate += float64(nc.tasks) / float64(nc.busy)
			measured++
		}
	}
	if c := g.costLocked(); measured < nodes && c > 0 {
		rate += float64(nodes-measured) / float64(c)
	}
	if rate <= 0 {
		return 0
	}
	return float64(remaining) / rate
}

// costOfLocked is node's mean cost per call, or the mean of all nodes' while node has none.
func (g *Auto) costOfLocked(node string) time.Duration {
	if nc := g.per[node]; nc != nil && nc.tasks > 0 && nc.busy > 0 {
		return nc.busy / time.Duration(nc.tasks)
	}
	return g.costLocked()
}

// Size is the next chunk's size for node, with remaining tasks not yet handed out over nodes
// nodes.
func (g *Auto) Size(node string, remaining, nodes int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handed++
	nodes = max(nodes, 1)
	if g.handed <= g.slots*nodes || g.tasks < nodes {
		g.warmup++
		g.last = 1
		return 1
	}
	c, o := g.costLocked(), g.overhead
	if o < 0 {
		o = defaultOverhead
	}
	g.k90 = ChunkFor(c, o, TargetEfficiency)
	// Guided self-scheduling: a share of the rest, sized for sizingEfficiency, at most
	// maxChunkTime of work. No floor at k90: early calls may be far cheaper than later ones
	// (a Mandelbrot's edge rows), and a floor computed from them would unbalance the tail.
	share := 2 * g.slots * nodes // a node holds g.slots chunks: half the rest in flight
	most := min(ChunkFor(c, o, sizingEfficiency), g.most)
	k := min(most, (remaining+share-1)/share)
	// The share: with the node's recent cost when calls grow costlier as the map goes on (a
	// Mandelbrot's middle rows): a share of the rest's time sized from the earlier, cheaper
	// calls would take several times longer than the others.
	// Never below the cost over all nodes: a node that has run only cheap calls so far (a
	// Mandelbrot's edge rows) would otherwise take a share far too long. A slow node takes a
	// smaller one; that is what keeps a fast node from waiting at the end.
	ci := max(c, g.costOfLocked(node))
	if nc := g.per[node]; nc != nil {
		ci = max(ci, nc.recent)
	}
	if rest := g.restLocked(remaining, nodes); ci > 0 && rest > 0 {
		k = min(most, int(math.Ceil(rest/float64(ci)/float64(2*g.slots))))
	}
	if c > 0 {
		// The tail: guided shares shrink geometrically, down to chunks whose work is nothing
		// next to their overhead (a cheap function's last hundred chunks cost more than its
		// work). A node's rest of w = remaining·c/nodes, cut into chunks of k, costs about
		// (w/(k·c))·o in overhead and k·c/2 in imbalance at the end: least at
		// k = √(2·remaining·o/(nodes·c)), which is the floor — but never more than two
		// overheads of work, as the first calls measured may be far cheaper than later ones
		// (a Mandelbrot's edge rows): a floor of that size unbalances nothing.
		floor := int(min(math.Sqrt(2*float64(remaining)*float64(o)/(float64(nodes)*float64(c))), math.Ceil(2*float64(o)/float64(c))))
		k = max(k, min(floor, most))
		k = min(k, max(1, int(maxChunkTime/max(c, g.costOfLocked(node)))))
	}
	// Early figures are few and noisy: grow step by step.
	k = max(min(k, growth*g.last), 1)
	g.last = k
	return k
}

// Summary is the largest chunk handed out, and why the sizes are what they are.
func (g *Auto) Summary(chunks []int) (int, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	most := 0
	for _, k := range chunks {
		most = max(most, k)
	}
	if g.tasks == 0 {
		return most, "auto: nothing measured yet; chunks of 1"
	}
	c, o := g.costLocked(), g.overhead
	eff := 0.0
	if o > 0 {
		eff = 100 * Efficiency(c, o)
	}
	return most, fmt.Sprintf("auto: %d chunk%s of 1 to measure; %s/call on the node, %s dispatch overhead "+
		"(single calls %.0f%% efficient) → ≥ %d per chunk for %.0f%%; then a quarter of the rest per node, at most %s of work, "+
		"growing at most %d× a chunk, shrinking no further than √(2·rest·overhead/(nodes·cost)) or 2 overheads of work; chunks %s",
		g.warmup, plural(g.warmup), units.Duration(c), units.Duration(o), eff, g.k90, 100*TargetEfficiency, units.Duration(maxChunkTime),
		growth, runs(chunks))
}

// Why says in one line, while the map runs, why its chunks are the size they are now (Summary
// says it at the end, with every chunk): "auto: 12 µs/call on the node, 95 µs dispatch
// overhead → ≥ 72 per chunk for 90%; last chunk 250 (a share of the rest)".
func (g *Auto) Why() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.tasks == 0:
		return "auto: chunks of 1, to measure the calls"
	case g.k90 == 0:
		return fmt.Sprintf("auto: chunks of 1, to measure the calls: %s/call on the node so far", units.Duration(g.costLocked()))
	}
	o := g.overhead
	if o < 0 {
		o = defaultOverhead
	}
	return fmt.Sprintf("auto: %s/call on the node, %s dispatch overhead → ≥ %d per chunk for %.0f%%; last chunk %d (a share of the rest, at most %s of work)",
		units.Duration(g.costLocked()), units.Duration(o), g.k90, 100*TargetEfficiency, g.last, units.Duration(maxChunkTime))
}

// runs writes chunk sizes compactly: "1×4, 1069×12, 500, 250".
func runs(sizes []int) string {
	var parts []string
	for i := 0; i < len(sizes); {
		j := i
		for j < len(sizes) && sizes[j] == sizes[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%d×%d", sizes[i], j-i))
		} else {
			parts = append(parts, fmt.Sprint(sizes[i]))
		}
		i = j
	}
	const most = 12
	if len(parts) > most {
		parts = slices.Concat(parts[:most/2], []string{"…"}, parts[len(parts)-most/2:])
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (%d chunks)", len(sizes))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
