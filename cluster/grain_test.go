package cluster

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// simulate runs a map of len(costs) tasks over nodes nodes (slotsPerNode chunks each) on a
// model of the cluster: a chunk of k tasks travels for over/2 + k·perTask each way, waits for
// its node, which runs its tasks one after the other; chunk sizes come from size(remaining,
// nodes), and each chunk's figures are fed to observe when it returns. It returns the time
// the last chunk returned, and the number of chunks.
func simulate(costs []time.Duration, nodes int, over, perTask time.Duration,
	size func(remaining, nodes int) int, observe func(n int, busy, span time.Duration)) (time.Duration, int) {
	type obs struct {
		at, busy, span time.Duration
		n              int
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
				observe(o.n, o.busy, o.span)
			} else {
				kept = append(kept, o)
			}
		}
		pending = kept
		k := max(1, min(size(len(costs)-next, nodes), len(costs)-next))
		var work time.Duration
		for _, c := range costs[next : next+k] {
			work += c
		}
		next += k
		chunks++
		node := s / slotsPerNode
		travel := over/2 + time.Duration(k)*perTask
		start := max(now+travel, busyUntil[node])
		busyUntil[node] = start + work
		back := start + work + travel
		ready[s] = back
		end = max(end, back)
		pending = append(pending, obs{at: back, busy: work, span: back - now, n: k})
	}
	return end, chunks
}

// Auto-grain on the model reaches 90 % of the throughput of the best fixed chunk size of a
// sweep, for a cheap, a medium and a costly function, and for a costly one whose first and last
// tasks are 100× cheaper than the middle ones (a Mandelbrot's rows).
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
	for _, tt := range []struct {
		name  string
		costs []time.Duration
	}{
		{"cheap", flat(200000, 150*time.Nanosecond)},
		{"medium", flat(40000, 8*time.Microsecond)},
		{"costly", flat(1024, 150*time.Microsecond)},
		{"rows", rows},
	} {
		for _, nodes := range []int{2, 4} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, nodes), func(t *testing.T) {
				best, bestK := time.Duration(math.MaxInt64), 0
				for k := 1; k <= len(tt.costs); k *= 2 {
					d, _ := simulate(tt.costs, nodes, over, perTask,
						func(int, int) int { return k }, func(int, time.Duration, time.Duration) {})
					if d < best {
						best, bestK = d, k
					}
				}
				g := newGrainer()
				d, chunks := simulate(tt.costs, nodes, over, perTask, g.size, g.observe)
				ratio := float64(best) / float64(d)
				t.Logf("best chunk %d: %v; auto: %v in %d chunks: %.2f of the best", bestK, best, d, chunks, ratio)
				if ratio < 0.9 {
					t.Errorf("auto %v, best (chunk %d) %v: %.2f, want ≥ 0.9", d, bestK, best, ratio)
				}
			})
		}
	}
}
