package grain

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// slotsPerNode is how many chunks a map keeps on each node, as package cluster's do.
const slotsPerNode = 2

// simulate runs a map of len(costs) tasks over nodes nodes (slotsPerNode chunks each) on a
// model of the cluster: a chunk of k tasks travels for over/2 + k·perTask each way, waits for
// its node, which runs its tasks one after the other, slow[node] times slower than their cost
// (all at their cost if slow is nil); chunk sizes come from size(node, remaining, nodes), and
// each chunk's figures are fed to observe when it returns. It returns the time the last chunk
// returned, and the number of chunks.
func simulate(costs []time.Duration, nodes int, slow []float64, over, perTask time.Duration,
	size func(node string, remaining, nodes int) int, observe func(node string, n int, busy, span time.Duration)) (time.Duration, int) {
	type obs struct {
		at, busy, span time.Duration
		n              int
		node           string
	}
	ready := make([]time.Duration, nodes*slotsPerNode) // when each slot hands out its next chunk
	busyUntil := make([]time.Duration, nodes)
	var pending []obs
	next, chunks := 0, 0
	var end time.Duration
	for next < len(costs) {
		s := 0
		for i := range ready {
			if ready[i] < ready[s] {
				s = i
			}
		}
		now := ready[s]
		kept := pending[:0]
		for _, o := range pending {
			if o.at <= now {
				observe(o.node, o.n, o.busy, o.span)
			} else {
				kept = append(kept, o)
			}
		}
		pending = kept
		node := s / slotsPerNode
		k := max(1, min(size(fmt.Sprint(node), len(costs)-next, nodes), len(costs)-next))
		var work time.Duration
		for _, c := range costs[next : next+k] {
			work += c
		}
		if slow != nil {
			work = time.Duration(float64(work) * slow[node])
		}
		next += k
		chunks++
		travel := over/2 + time.Duration(k)*perTask
		start := max(now+travel, busyUntil[node])
		busyUntil[node] = start + work
		back := start + work + travel
		ready[s] = back
		end = max(end, back)
		pending = append(pending, obs{at: back, busy: work, span: back - now, n: k, node: fmt.Sprint(node)})
	}
	return end, chunks
}

// Auto-grain on the model reaches 90 % of the throughput of the best fixed chunk size of a
// sweep, for a cheap, a medium and a costly function, for a costly one whose first and last
// tasks are 100× cheaper than the middle ones (a Mandelbrot's rows), for one whose cost varies
// 120× from one input to the next, and on nodes of which one is 5× slower than the others.
func TestGrainModel(t *testing.T) {
	const over, perTask = 150 * time.Microsecond, 30 * time.Nanosecond
	flat := func(n int, c time.Duration) []time.Duration {
		costs := make([]time.Duration, n)
		for i := range costs {
			costs[i] = c
		}
		return costs
	}
	rows := make([]time.Duration, 1024)
	for i := range rows {
		x := float64(i-512) / 200
		rows[i] = 3*time.Microsecond + time.Duration(400e3*math.Exp(-x*x))*time.Nanosecond
	}
	uneven := make([]time.Duration, 4000)
	for i := range uneven {
		uneven[i] = time.Duration(math.Pow(1.618, float64(i*7%11))) * time.Microsecond
	}
	for _, tt := range []struct {
		name    string
		costs   []time.Duration
		unequal bool // one node 5× slower
	}{
		{"cheap", flat(200000, 150*time.Nanosecond), false},
		{"medium", flat(40000, 8*time.Microsecond), false},
		{"costly", flat(1024, 150*time.Microsecond), false},
		{"rows", rows, false},
		{"uneven", uneven, false},
		{"medium-unequal", flat(40000, 8*time.Microsecond), true},
		{"costly-unequal", flat(1024, 150*time.Microsecond), true},
	} {
		for _, nodes := range []int{2, 4} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, nodes), func(t *testing.T) {
				var slow []float64
				if tt.unequal {
					slow = make([]float64, nodes)
					for i := range slow {
						slow[i] = 1
					}
					slow[0] = 5
				}
				best, bestK := time.Duration(math.MaxInt64), 0
				for k := 1; k <= len(tt.costs); k *= 2 {
					d, _ := simulate(tt.costs, nodes, slow, over, perTask,
						func(string, int, int) int { return k }, func(string, int, time.Duration, time.Duration) {})
					if d < best {
						best, bestK = d, k
					}
				}
				g := NewAuto(slotsPerNode, 1<<16)
				d, chunks := simulate(tt.costs, nodes, slow, over, perTask, g.Size, g.Observe)
				ratio := float64(best) / float64(d)
				t.Logf("best chunk %d: %v; auto: %v in %d chunks: %.2f of the best", bestK, best, d, chunks, ratio)
				if ratio < 0.9 {
					t.Errorf("auto %v, best (chunk %d) %v: %.2f, want ≥ 0.9", d, bestK, best, ratio)
				}
			})
		}
	}
}

// Why says, as the map goes, that the first chunks measure, then what the chunks are sized from.
func TestAutoWhy(t *testing.T) {
	g := NewAuto(slotsPerNode, 10000)
	if why := g.Why(); !strings.Contains(why, "chunks of 1") {
		t.Errorf("before any call: %q", why)
	}
	for range 4 {
		g.Observe("a", 1, 10*time.Microsecond, 110*time.Microsecond)
		g.Size("a", 1000, 1)
	}
	k := g.Size("a", 1000, 1)
	why := g.Why()
	for _, want := range []string{"10 µs/call", "100 µs dispatch", fmt.Sprintf("last chunk %d", k), "≥ 90 per chunk for 90%"} {
		if !strings.Contains(why, want) {
			t.Errorf("Why() = %q, want it to say %q", why, want)
		}
	}
}
