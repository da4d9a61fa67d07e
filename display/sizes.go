package display

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"

	"github.com/mattn/go-runewidth"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Size is one function's size.
type Size struct {
	Name  string
	Bytes int
}

// Sizes is a horizontal bar chart of the top largest sizes, largest first (top ≤ 0: all).
func Sizes(title string, sizes []Size, top int) (*Chart, error) {
	if len(sizes) == 0 {
		return nil, fmt.Errorf("%w: no functions to chart", ErrNoData)
	}
	s := append([]Size(nil), sizes...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Bytes > s[j].Bytes })
	total := 0
	for _, x := range s {
		total += x.Bytes
	}
	rest, restBytes := 0, 0
	if top > 0 && len(s) > top {
		for _, x := range s[top:] {
			restBytes += x.Bytes
		}
		rest, s = len(s)-top, s[:top]
	}
	// The largest at the top: the plot's y runs upwards.
	n := len(s)
	vals := make(plotter.Values, n)
	names := make([]string, n)
	labels := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
	for i, x := range s {
		k := n - 1 - i
		vals[k] = float64(x.Bytes)
		names[k] = shorten(x.Name, 28)
		labels.XYs[k] = plotter.XY{X: float64(x.Bytes), Y: float64(k)}
		labels.Labels[k] = strconv.Itoa(x.Bytes)
	}
	if rest > 0 {
		title += fmt.Sprintf(" (largest %d of %d)", n, n+rest)
	}
	p := newPlot(title, "size of the function's code (bytes)", "")
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, fmt.Errorf("display: sizes: %w", err)
	}
	bars.Horizontal = true
	bars.Color = palette[0]
	bars.LineStyle.Width = 0
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("display: sizes: %w", err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Font = p.Legend.TextStyle.Font
		lab.TextStyle[i].Font.Size = vg.Points(9)
		lab.TextStyle[i].YAlign = -0.5
	}
	lab.Offset = vg.Point{X: vg.Points(4)}
	p.Add(plotter.NewGrid(), bars, lab)
	p.NominalY(names...)
	p.X.Min = 0
	p.X.Max = vals[n-1] * 1.15 // room for the largest bar's label
	// Fallback fonts are wider than the Liberation metrics the axis was laid out with.
	long := 0
	for _, nm := range names {
		long = max(long, runewidth.StringWidth(nm))
	}
	left := vg.Points(float64(long) * 1.2)
	leg := plot.NewLegend()
	leg.TextStyle, leg.Padding = p.Legend.TextStyle, p.Legend.Padding
	leg.Top = true
	leg.Add("bytes of code", swatch{fill: palette[0]})
	legNames := []string{"bytes of code"}
	if rest > 0 {
		more := fmt.Sprintf("+%d more: %d bytes", rest, restBytes)
		leg.Add(more, swatch{})
		legNames = append(legNames, more)
	}
	pic := withLegend(vg.Points(720), vg.Points(float64(100+18*n)), left, p, leg, legNames)

	width := 0
	for _, x := range s {
		width = max(width, runewidth.StringWidth(shorten(x.Name, 24)))
	}
	var b strings.Builder
	for _, x := range s {
		name := shorten(x.Name, 24)
		fmt.Fprintf(&b, "%s%s %7d %s\n", name, strings.Repeat(" ", width-runewidth.StringWidth(name)), x.Bytes, hbar(float64(x.Bytes), float64(s[0].Bytes), 30))
	}
	if rest > 0 {
		fmt.Fprintf(&b, "… %d more function%s, %d bytes\n", rest, plural(rest), restBytes)
	}
	return newChart("sizes", title, strings.TrimRight(b.String(), "\n"), pic)
}

// shorten cuts s to n columns with an ellipsis.
func shorten(s string, n int) string {
	if runewidth.StringWidth(s) <= n {
		return s
	}
	return runewidth.Truncate(s, n, "…")
}

func escape(s string) string { return html.EscapeString(s) }
