package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/grain"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/wasm"
)

// Measured granularity: grain(m.f, *args) runs f on a node many times and weighs its cost per
// call against the dispatch overhead of each node.
const (
	grainBudget   = time.Second     // node time spent measuring the cost, at most
	grainMaxRuns  = 1000            // calls measured, at most
	grainLimit    = 2 * time.Second // a call running longer is stopped and reported
	grainRTTCalls = 15              // single calls per node to measure its overhead
	// grainMaxChunk is the largest chunk worth suggesting; beyond it, keep the work local.
	grainMaxChunk = 100000
)

// Grain is what grain() returns: a function's measured cost per call against the cluster's
// dispatch overhead, and what that means for a map.
type Grain struct {
	name     string // "m.f(1, 2)"
	node     string // where the cost was measured
	runs     int
	cost     time.Duration // median node-side time per call
	lo, hi   time.Duration // 10th and 90th percentiles
	perItem  time.Duration // overhead each call adds to a batch (transfer, decoding), measured
	overhead time.Duration // median of the nodes' dispatch overheads
	nodes    []grainNode
	ratio    float64 // cost ÷ overhead
	eff      float64 // efficiency of a map of single calls
	chunk    int     // calls per task for 90 % efficiency; 0: batching cannot reach it
	verdict  string
}

type grainNode struct {
	id       string
	overhead time.Duration // median round trip of a call minus its node-side time
	rtt      time.Duration // median round trip
}

var (
	_ starlark.HasAttrs = (*Grain)(nil)
	_ display.Shower    = (*Grain)(nil)
)

func (s *Session) builtinGrain(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	runs := 0
	var limitV starlark.Value = starlark.Float(grainLimit.Seconds())
	if err := unpackArgs("grain", nil, kwargs, "runs?", &runs, "limit?", &limitV); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, usageError("grain: missing argument for f: grain(f, *args, runs=None, limit=2)")
	}
	f, ok := args[0].(*Function)
	if !ok {
		return nil, usageError("grain: first argument must be a Wasm function, got %s: give a module's export, such as m.f", args[0].Type())
	}
	if runs < 0 || runs > grainMaxRuns {
		return nil, usageError("grain: runs must be 1…%d (0 or none: as many as fit in %s), got %d", grainMaxRuns, units.Duration(grainBudget), runs)
	}
	limit, ok := starlark.AsFloat(limitV)
	if !ok || limit <= 0 {
		return nil, usageError("grain: limit must be a positive number of seconds, got %s", limitV)
	}
	ca, err := f.encode(args[1:])
	if err != nil {
		return nil, fmt.Errorf("grain: %w", err)
	}
	if s.client == nil {
		return nil, failure(kindNoNodes, "grain: no cluster")
	}
	var parts []string
	for _, a := range args[1:] {
		parts = append(parts, a.String())
	}
	g, err := s.measureGrain(threadContext(thread), f, ca, runs, time.Duration(limit*float64(time.Second)))
	if err != nil {
		return nil, err
	}
	g.name = f.Name() + "(" + strings.Join(parts, ", ") + ")"
	return g, nil
}

// measureGrain measures calls of f with the arguments ca; their arrays are sent with every
// call, and what the calls leave in them is not written back.
func (s *Session) measureGrain(ctx context.Context, f *Function, ca callArgs, runs int, limit time.Duration) (*Grain, error) {
	var ids []string
	for _, n := range s.client.Nodes() {
		if n.Ready {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		if err := s.client.WaitNodes(ctx, 1); err != nil {
			return nil, fmt.Errorf("grain: no node is ready: %w", err)
		}
		return s.measureGrain(ctx, f, ca, runs, limit)
	}
	call := func(node string) (*cluster.Result, error) {
		cctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		r, err := s.client.Call(cctx, cluster.Call{Export: f.export(), Args: ca.raw, Buffers: ca.bufs, Node: node})
		if err != nil && ctx.Err() == nil && cctx.Err() != nil {
			return nil, failure(kindTimeout, "grain: %s ran past the %s limit on node %s and was stopped (its worker restarts): "+
				"it costs more than %s a call, so ship it as is, one call per task", f.Name(), units.Duration(limit), node, units.Duration(limit))
		}
		if err != nil {
			var re *cluster.RemoteError
			if errors.As(err, &re) {
				return nil, fmt.Errorf("grain: %s failed on node %s, nothing to measure: %w", f.Name(), node, err)
			}
			return nil, err
		}
		return r, nil
	}
	// One call first: it tells whether the function returns at all, and how many runs fit.
	home := ids[0]
	first, err := call(home)
	if err != nil {
		return nil, err
	}
	one := first.Finished.Sub(first.Started)
	if runs == 0 {
		// A first call may be slow (code mapped in, a busy machine): the quickest of three
		// says how many fit.
		for range 2 {
			if one < grainBudget/grainMaxRuns {
				break
			}
			r, err := call(home)
			if err != nil {
				return nil, err
			}
			one = min(one, r.Finished.Sub(r.Started))
		}
		runs = int(min(grainMaxRuns, max(1, grainBudget/max(one, time.Nanosecond))))
	}
	// The cost: runs calls in one batch, timed on the node, call by call.
	args := make([][]uint64, runs)
	var bufs [][]wasm.Buffer
	if len(ca.bufs) > 0 {
		bufs = make([][]wasm.Buffer, runs)
	}
	for i := range args {
		args[i] = ca.raw
		if bufs != nil {
			bufs[i] = ca.bufs
		}
	}
	bctx, cancel := context.WithTimeout(ctx, 2*limit+grainBudget)
	res, err := s.client.CallBatch(bctx, cluster.BatchCall{Export: f.export(), Args: args, Buffers: bufs, Node: home})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("grain: measuring %d runs of %s on node %s: %w", runs, f.Name(), home, err)
	}
	var costs []time.Duration
	var busy time.Duration
	for _, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("grain: %s failed on node %s during the runs: %w", f.Name(), home, r.Err)
		}
		d := r.Finished.Sub(r.Started)
		costs = append(costs, d)
		busy += d
	}
	slices.Sort(costs)
	g := &Grain{node: home, runs: runs, cost: quantile(costs, 0.5), lo: quantile(costs, 0.1), hi: quantile(costs, 0.9)}
	span := res[0].Received.Sub(res[0].Submitted)

	// The overhead: single calls to every node, round trip minus node-side time.
	calls := max(3, min(grainRTTCalls, int(300*time.Millisecond/max(g.cost, time.Microsecond))))
	for _, id := range ids {
		var over, rtt []time.Duration
		for range calls {
			r, err := call(id)
			if err != nil {
				return nil, err
			}
			d := r.Received.Sub(r.Submitted)
			rtt = append(rtt, d)
			over = append(over, max(0, d-r.Finished.Sub(r.Started)))
		}
		slices.Sort(over)
		slices.Sort(rtt)
		g.nodes = append(g.nodes, grainNode{id: id, overhead: quantile(over, 0.5), rtt: quantile(rtt, 0.5)})
	}
	var overs []time.Duration
	for _, n := range g.nodes {
		overs = append(overs, n.overhead)
	}
	slices.Sort(overs)
	g.overhead = quantile(overs, 0.5)
	// What a batch adds per call, beyond one message's overhead (too noisy to tell from a
	// few runs). A pause of the client or the node (a busy machine) only adds to it, so a
	// second, half-sized batch measures it again and the smaller figure counts: one pause
	// would otherwise read as a cost per call that no batch size can pay back.
	if runs >= 100 {
		g.perItem = max(0, (span-busy-g.overhead)/time.Duration(runs))
		half := args[:runs/2]
		res, err := s.client.CallBatch(ctx, cluster.BatchCall{Export: f.export(), Args: half, Node: home})
		if err == nil && len(res) == len(half) && res[0].Err == nil {
			busy := res[len(res)-1].Finished.Sub(res[0].Started)
			span := res[0].Received.Sub(res[0].Submitted)
			g.perItem = min(g.perItem, max(0, (span-busy-g.overhead)/time.Duration(len(half))))
		}
	}
	g.judge()
	return g, nil
}

// judge derives the ratio, efficiency, chunk and verdict from cost and overheads, by the
// model of package grain: a task of k calls keeps its node busy k·c out of k·c + o + k·p (o:
// dispatch overhead, p: what each call adds to a batch).
func (g *Grain) judge() {
	if g.overhead > 0 {
		g.ratio = float64(g.cost) / float64(g.overhead)
	} else {
		g.ratio = math.Inf(1)
	}
	g.eff = grain.Efficiency(g.cost, g.overhead)
	chunk, ok := grain.ChunkForBatch(g.cost, g.overhead, g.perItem, grain.TargetEfficiency)
	switch {
	case g.eff >= grain.TargetEfficiency:
		g.chunk = 1
		g.verdict = "ship as is"
	case !ok || chunk > grainMaxChunk:
		g.chunk = 0
		g.verdict = "keep local"
	default:
		g.chunk = chunk
		g.verdict = fmt.Sprintf("batch ≥ %d per task", g.chunk)
	}
}

// quantile of sorted durations, by nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func (g *Grain) String() string {
	return fmt.Sprintf("<grain %s: %s/call, %s overhead, %.3g×, %s>", g.name, units.Duration(g.cost), units.Duration(g.overhead), g.ratio, g.verdict)
}
func (g *Grain) Type() string          { return "grain" }
func (g *Grain) Freeze()               {}
func (g *Grain) Truth() starlark.Bool  { return true }
func (g *Grain) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: grain") }

var grainAttrs = []string{"chunk", "cost", "efficiency", "node", "overhead", "per_call_batch", "per_node", "ratio", "runs", "spread", "verdict"}

// AttrNames lists the figures of a measurement; times are in seconds.
func (g *Grain) AttrNames() []string { return grainAttrs }

// Attr gives a figure of the measurement.
func (g *Grain) Attr(name string) (starlark.Value, error) {
	secs := func(d time.Duration) starlark.Value { return starlark.Float(d.Seconds()) }
	switch name {
	case "chunk":
		if g.chunk == 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt(g.chunk), nil
	case "cost":
		return secs(g.cost), nil
	case "efficiency":
		return starlark.Float(g.eff), nil
	case "node":
		return starlark.String(g.node), nil
	case "overhead":
		return secs(g.overhead), nil
	case "per_call_batch":
		return secs(g.perItem), nil
	case "per_node":
		d := starlark.NewDict(len(g.nodes))
		for _, n := range g.nodes {
			d.SetKey(starlark.String(n.id), secs(n.overhead))
		}
		return d, nil
	case "ratio":
		return starlark.Float(g.ratio), nil
	case "runs":
		return starlark.MakeInt(g.runs), nil
	case "spread":
		return starlark.Tuple{secs(g.lo), secs(g.hi)}, nil
	case "verdict":
		return starlark.String(g.verdict), nil
	}
	return nil, nil
}

// table has a row per node: its overhead, and what the function's cost means there.
func (g *Grain) table() *display.Table {
	t := &display.Table{
		Title: fmt.Sprintf("grain of %s: %s/call (p10–p90 %s–%s, %d runs on %s) · %s",
			g.name, units.Duration(g.cost), units.Duration(g.lo), units.Duration(g.hi), g.runs, g.node, g.verdict),
		Headers: []string{"node", "RTT", "overhead", "cost/overhead", "single-call efficiency", "chunk for 90%", "verdict"},
		Right:   map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true},
		Note: fmt.Sprintf("overhead = round trip of a call minus its node-side time; a batch adds %s per call. "+
			"A task of k calls is k·cost / (k·cost + overhead) efficient.", units.Duration(g.perItem)),
	}
	for _, n := range g.nodes {
		one := &Grain{cost: g.cost, overhead: n.overhead, perItem: g.perItem}
		one.judge()
		chunk := "–"
		if one.chunk > 0 {
			chunk = fmt.Sprint(one.chunk)
		}
		t.Rows = append(t.Rows, []string{n.id, units.Duration(n.rtt), units.Duration(n.overhead), ratioText(one.ratio),
			fmt.Sprintf("%.0f%%", 100*one.eff), chunk, one.verdict})
	}
	return t
}

func ratioText(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "∞"
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.01:
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.2g×", r)
}

// Show is the table.
func (g *Grain) Show() display.Bundle { return g.table().Bundle() }

// Terminal is the table for the REPL.
func (g *Grain) Terminal(color bool) string { return g.table().Terminal(color) }

// translateGrain: `%grain m.f ARGS... [runs=N] [limit=S]` calls grain(m.f, ARGS..., runs=N);
// arguments are separated by spaces or commas.
func translateGrain(args, lhs string) (string, error) {
	f := strings.Fields(strings.ReplaceAll(args, ",", " "))
	if len(f) == 0 {
		return "", fmt.Errorf("usage: %%grain MODULE.FUNCTION [ARGS...] [runs=N] [limit=SECONDS]")
	}
	mod, fn, ok := strings.Cut(f[0], ".")
	if !ok || !identifier.MatchString(mod) || fn == "" {
		return "", fmt.Errorf("%%grain wants MODULE.FUNCTION first, got %q", f[0])
	}
	call := []string{mod + "." + fn}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			if k != "runs" && k != "limit" {
				return "", fmt.Errorf("unknown option %q (runs=N, limit=SECONDS)", a)
			}
			a = k + "=" + v
		}
		if _, err := fileOptions().ParseExpr("<magic>", strings.TrimPrefix(strings.TrimPrefix(a, "runs="), "limit="), 0); err != nil {
			return "", fmt.Errorf("%q is not an argument", a)
		}
		call = append(call, a)
	}
	stmt := "__rain_grain(" + strings.Join(call, ", ") + ")"
	if lhs != "" {
		stmt = lhs + " = " + stmt
	}
	return stmt, nil
}
