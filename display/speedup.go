package display

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/rain-wasm/rain/grain"
)

// Speedup plots, side by side, speedup and efficiency against the number of nodes, from the
// time a run took on each number of nodes: the measurements, the ideal (linear) and the
// Amdahl fit, whose serial fraction the legend gives. Speedup is over the run on the fewest
// nodes.
func Speedup(title string, nodes []int, times []float64) (*Chart, error) {
	if len(nodes) != len(times) {
		return nil, fmt.Errorf("display: speedup: %d node counts but %d times", len(nodes), len(times))
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: speedup needs at least one run", ErrNoData)
	}
	type run struct {
		n int
		t float64
	}
	runs := make([]run, len(nodes))
	for i := range nodes {
		if nodes[i] < 1 {
			return nil, fmt.Errorf("display: speedup: node counts must be 1 or more, got %d", nodes[i])
		}
		if !(times[i] > 0) || math.IsInf(times[i], 0) {
			return nil, fmt.Errorf("display: speedup: times must be positive seconds, got %g", times[i])
		}
		runs[i] = run{nodes[i], times[i]}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].n < runs[j].n })
	for i := 1; i < len(runs); i++ {
		if runs[i].n == runs[i-1].n {
			return nil, fmt.Errorf("display: speedup: %d nodes appears twice: give one time per node count", runs[i].n)
		}
	}
	base := runs[0]
	rel := make([]float64, len(runs)) // nodes over the base's
	sp := make([]float64, len(runs))
	for i, r := range runs {
		rel[i] = float64(r.n) / float64(base.n)
		sp[i] = base.t / r.t
	}
	f := grain.Amdahl(rel, sp)
	amdahl := func(r float64) float64 { return 1 / (f + (1-f)/r) }

	over := "over 1 node"
	if base.n != 1 {
		over = fmt.Sprintf("over %d nodes", base.n)
	}
	fitName := fmt.Sprintf("Amdahl fit: serial fraction %.1f%%", 100*f)
	if f > 0 {
		fitName += fmt.Sprintf(", limit %.3g×", 1/f)
	}
	ticks := make([]plot.Tick, len(runs))
	for i, r := range runs {
		ticks[i] = plot.Tick{Value: float64(r.n), Label: strconv.Itoa(r.n)}
	}
	lo, hi := float64(base.n), float64(runs[len(runs)-1].n)
	if hi == lo {
		hi = lo + 1
	}

	panel := func(ptitle, ylabel string, ideal, fit func(float64) float64, measured []float64) (*plot.Plot, error) {
		p := newPlot(ptitle, "nodes", ylabel)
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = lo, hi
		p.Y.Min = 0
		id := plotter.NewFunction(ideal)
		id.Color, id.Width, id.Dashes = grey, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(4)}
		am := plotter.NewFunction(fit)
		am.Color, am.Width, am.Samples = palette[1], vg.Points(2), 100
		xys := make(plotter.XYs, len(runs))
		for i, r := range runs {
			xys[i].X, xys[i].Y = float64(r.n), measured[i]
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("display: speedup: %w", err)
		}
		line.Color, line.Width = palette[0], vg.Points(2)
		points.Color, points.Shape, points.Radius = palette[0], draw.CircleGlyph{}, vg.Points(3.5)
		p.Add(plotter.NewGrid(), id, am, line, points)
		p.Legend.Add("measured", line, points)
		p.Legend.Add("ideal", id)
		p.Legend.Add(fitName, am)
		p.Legend.Top = true
		p.Legend.Left = true
		p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
		return p, nil
	}
	eff := make([]float64, len(sp))
	for i := range sp {
		eff[i] = 100 * sp[i] / rel[i]
	}
	head := "speedup " + over
	if title != "" {
		head = title + ": " + head
	}
	left, err := panel(head, "speedup (×)",
		func(n float64) float64 { return n / lo }, func(n float64) float64 { return amdahl(n / lo) }, sp)
	if err != nil {
		return nil, err
	}
	left.Y.Max = max(hi/lo, sp[len(sp)-1]) * 1.15 // room for the legend above the lines
	right, err := panel("efficiency", "efficiency (% of ideal)",
		func(float64) float64 { return 100 }, func(n float64) float64 { return 100 * amdahl(n/lo) / (n / lo) }, eff)
	if err != nil {
		return nil, err
	}
	right.Y.Max = 110
	for _, e := range eff {
		right.Y.Max = max(right.Y.Max, e*1.1)
	}
	right.Legend = plot.NewLegend() // one legend is enough: the left panel's
	right.Legend.TextStyle = left.Legend.TextStyle
	pic := tiled(vg.Points(820), vg.Points(340), left, right)

	var b strings.Builder
	b.WriteString("nodes       ")
	for _, r := range runs {
		fmt.Fprintf(&b, "%7d", r.n)
	}
	b.WriteString("\ntime        ")
	for _, r := range runs {
		fmt.Fprintf(&b, "%7s", strings.ReplaceAll(seconds(r.t), " ", ""))
	}
	b.WriteString("\nspeedup     ")
	for _, s := range sp {
		fmt.Fprintf(&b, "%6.2f×", s)
	}
	b.WriteString("\nefficiency  ")
	for _, e := range eff {
		fmt.Fprintf(&b, "%6.0f%%", e)
	}
	fmt.Fprintf(&b, "\nspeedup ▕%s▏ against ideal ▕%s▏\n%s", sparkline(sp, hi/lo), sparkline(rel, hi/lo), fitName)
	return newChart("speedup", title, b.String(), pic)
}
