package display

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"github.com/mattn/go-runewidth"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Span is one task on a timeline: where and when it ran.
type Span struct {
	Lane       string  // the node that ran it: one lane per node
	Group      string  // what colours it: the map's name, or the tier it ran at
	Start, End float64 // seconds since the map began
	Retries    int     // attempts beyond the first: the bar is outlined in red
	Failed     bool    // the task failed: the bar is grey, outlined in red
}

// ErrNoData is returned when a chart is asked for without anything to draw.
var ErrNoData = errors.New("display: nothing to draw")

// Timeline is a Gantt chart of tasks: one lane per node, a bar per task from its start to its
// end, coloured by group, with retried and failed tasks outlined in red. Spans without a lane
// or with End before Start are left out.
func Timeline(title string, spans []Span) (*Chart, error) {
	var lanes, groups []string
	var keep []Span
	end := 0.0
	retried, failed := 0, 0
	for _, s := range spans {
		if s.Lane == "" || s.End < s.Start {
			continue
		}
		keep = append(keep, s)
		if !slices.Contains(lanes, s.Lane) {
			lanes = append(lanes, s.Lane)
		}
		if !s.Failed && !slices.Contains(groups, s.Group) {
			groups = append(groups, s.Group)
		}
		end = max(end, s.End)
		if s.Retries > 0 {
			retried++
		}
		if s.Failed {
			failed++
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("%w: no task has a node and a start and end time", ErrNoData)
	}
	slices.Sort(lanes)
	scale, unit := 1.0, "s"
	if end < 2 {
		scale, unit = 1e3, "ms"
	}
	if end == 0 {
		end = 1 / scale
	}

	p := newPlot(title, "time since the map began ("+unit+")", "node")
	lane := map[string]int{}
	for i, l := range lanes { // the first node on top
		lane[l] = len(lanes) - 1 - i
	}
	colors := map[string]color.Color{}
	for i, g := range groups {
		colors[g] = palette[i%len(palette)]
	}
	p.Add(&gantt{spans: keep, lane: lane, colors: colors, scale: scale, lanes: len(lanes)})
	down := slices.Clone(lanes)
	slices.Reverse(down)
	p.NominalY(down...)
	p.X.Min, p.X.Max = 0, end*scale

	leg := plot.NewLegend()
	leg.TextStyle, leg.Padding = p.Legend.TextStyle, p.Legend.Padding
	leg.Top = true
	var names []string
	for _, g := range groups {
		name := g
		if name == "" {
			name = "tasks"
		}
		leg.Add(name, swatch{fill: colors[g]})
		names = append(names, name)
	}
	if retried > 0 {
		names = append(names, fmt.Sprintf("retried (%d)", retried))
		leg.Add(names[len(names)-1], swatch{outline: red})
	}
	if failed > 0 {
		names = append(names, fmt.Sprintf("failed (%d)", failed))
		leg.Add(names[len(names)-1], swatch{fill: grey, outline: red})
	}
	pic := withLegend(vg.Points(720), vg.Points(float64(90+30*len(lanes))), 0, p, leg, names)
	return newChart("timeline", title, timelineSummary(keep, lanes, end, retried, failed), pic)
}

// withLegend draws p with its legend in a strip to its right, where it hides no data, and
// a margin on its left (for long tick labels in a wider fallback font).
func withLegend(w, h, left vg.Length, p *plot.Plot, leg plot.Legend, names []string) picture {
	wide := vg.Length(0)
	for _, n := range names {
		wide = max(wide, leg.TextStyle.Width(n))
	}
	// Fallback fonts run wider than the Liberation metrics text is measured with.
	strip := wide*1.2 + leg.ThumbnailWidth + leg.Padding*2 + vg.Points(16)
	h = max(h, vg.Points(180), leg.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: w, Y: h}}}).Size().Y+vg.Points(60))
	leg.Left = true
	return picture{w, h, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, left, -strip, 0, 0))
		leg.Draw(draw.Crop(dc, w-strip+vg.Points(8), 0, 0, -vg.Points(30)))
	}}
}

// gantt draws a bar per span.
type gantt struct {
	spans  []Span
	lane   map[string]int
	colors map[string]color.Color
	scale  float64
	lanes  int
}

func (g *gantt) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	const half = 0.35 // of a lane
	for _, s := range g.spans {
		l := float64(g.lane[s.Lane])
		x0, x1 := x(s.Start*g.scale), x(s.End*g.scale)
		if x1-x0 < 1 { // a task shorter than a point is still seen
			x1 = x0 + 1
		}
		pts := []vg.Point{{X: x0, Y: y(l - half)}, {X: x1, Y: y(l - half)}, {X: x1, Y: y(l + half)}, {X: x0, Y: y(l + half)}}
		fill := g.colors[s.Group]
		if s.Failed {
			fill = grey
		}
		c.FillPolygon(fill, pts)
		// A thin white edge keeps back-to-back tasks apart.
		edge := draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}
		if s.Retries > 0 || s.Failed {
			edge = draw.LineStyle{Color: red, Width: vg.Points(1.5)}
		}
		c.StrokeLines(edge, append(pts, pts[0]))
	}
}

func (g *gantt) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, s := range g.spans {
		xmin, xmax = min(xmin, s.Start*g.scale), max(xmax, s.End*g.scale)
	}
	return xmin, xmax, -0.6, float64(g.lanes) - 0.4
}

// timelineSummary is a line per node: how busy it was over time, as a sparkline.
func timelineSummary(spans []Span, lanes []string, end float64, retried, failed int) string {
	const cols = 40
	width := 0
	for _, l := range lanes {
		width = max(width, runewidth.StringWidth(l))
	}
	busy := map[string][]float64{}
	count := map[string]int{}
	total := map[string]float64{}
	for _, l := range lanes {
		busy[l] = make([]float64, cols)
	}
	step := end / cols
	for _, s := range spans {
		count[s.Lane]++
		total[s.Lane] += s.End - s.Start
		for k := 0; k < cols; k++ {
			lo, hi := float64(k)*step, float64(k+1)*step
			if o := min(hi, s.End) - max(lo, s.Start); o > 0 {
				busy[s.Lane][k] += o / step
			}
		}
	}
	var b strings.Builder
	for _, l := range lanes {
		fmt.Fprintf(&b, "%s%s ▕%s▏ %d task%s, busy %.0f%%\n", l, strings.Repeat(" ", width-runewidth.StringWidth(l)),
			sparkline(busy[l], 1), count[l], plural(count[l]), 100*total[l]/end)
	}
	fmt.Fprintf(&b, "%s  0%s%s", strings.Repeat(" ", width), strings.Repeat(" ", cols-len(seconds(end))), seconds(end))
	if retried > 0 || failed > 0 {
		fmt.Fprintf(&b, " · %d retried · %d failed", retried, failed)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
