// Package grain is Rain's model of granularity, the one place its formulas live: how many
// calls a task must carry for a node to spend a given share of its time computing (ChunkFor,
// ChunkForBatch), how a map sizes its chunks as it goes (Auto), and how speedups measured on
// more and more nodes fit Amdahl's law (Amdahl). Package cluster sizes maps with it, session
// judges a function's grain with it, and display draws the Amdahl fit with it.
//
// A task of k calls that each cost c on the node, dispatched with an overhead o (the round trip
// of a task minus its node-side time) and p more for each call it carries (what a call adds to
// a batch's transfer and decoding), keeps its node busy k·c out of k·c + o + k·p.
package grain

import (
	"math"
	"time"
)

// TargetEfficiency is the share of a node's time Rain aims to spend computing: auto-grain
// sizes a map's chunks for it, and %grain judges a function by it.
const TargetEfficiency = 0.9

// Efficiency is the share of its time a node spends computing on a task whose calls cost
// cost on the node, dispatched with overhead: cost / (cost + overhead).
func Efficiency(cost, overhead time.Duration) float64 {
	c, o := float64(cost), float64(overhead)
	return c / (c + o)
}

// ChunkFor is the number of calls of cost per call that one task must carry for a node to
// spend at least efficiency of its time computing, given the dispatch overhead per task.
func ChunkFor(cost, overhead time.Duration, efficiency float64) int {
	if overhead <= 0 {
		return 1
	}
	if cost <= 0 {
		cost = time.Nanosecond
	}
	k, _ := ChunkForBatch(cost, overhead, 0, efficiency)
	return k
}

// ChunkForBatch is ChunkFor when each call also adds perCall to its task's overhead: a node
// spends efficiency e of its time computing once k ≥ r·o / (c − r·p), with r = e / (1 − e).
// It reports false when no chunk will do: the calls cost no more than r times what each adds
// (c ≤ r·p).
func ChunkForBatch(cost, overhead, perCall time.Duration, efficiency float64) (int, bool) {
	r := efficiency / (1 - efficiency)
	c, o, p := float64(cost), float64(overhead), float64(perCall)
	if c <= r*p {
		return 0, false
	}
	k := math.Ceil(r*o/(c-r*p) - 1e-6)
	return int(min(max(k, 1), math.MaxInt32)), true
}

// Amdahl is the serial fraction f that best fits speedups s measured on n nodes to Amdahl's
// law, s = 1 / (f + (1-f)/n), by least squares on 1/s - 1/n = f·(1 - 1/n). It is clamped to
// [0, 1]; with no run on more than one node it is 0.
func Amdahl(n []float64, s []float64) float64 {
	var xy, xx float64
	for i := range n {
		if n[i] <= 1 || s[i] <= 0 {
			continue
		}
		x := 1 - 1/n[i]
		xy += x * (1/s[i] - 1/n[i])
		xx += x * x
	}
	if xx == 0 {
		return 0
	}
	return min(max(xy/xx, 0), 1)
}
