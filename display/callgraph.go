package display

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CallGraph draws a function between its callers, above, and its callees, below: a row of boxes
// each, joined to the function's box by arrows. The rows are drawn as given (a caller that cuts
// a long row names the rest in its last box, "+9 more"); names longer than a box are cut with
// an ellipsis.
func CallGraph(title string, callers []string, name string, callees []string) (*Chart, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a call graph needs its function's name", ErrNoData)
	}
	// Sizes in CSS pixels, as the graph was first drawn by hand; px is one in points.
	const boxW, boxH, gapX, rowGap, pad, radius, head = 150, 26, 14, 60, 10, 4, 6
	px := vg.Length(72.0 / cssDPI)
	rows := [3][]string{callers, {name}, callees}
	widest := 1
	for _, r := range rows {
		widest = max(widest, len(r))
	}
	width := pad*2 + widest*boxW + (widest-1)*gapX
	height := pad*2 + 3*boxH + 2*rowGap
	left := func(r, k int) float64 { // of box k in row r, rows centred
		n := len(rows[r])
		return float64((width-(n*boxW+(n-1)*gapX))/2 + k*(boxW+gapX))
	}
	top := func(r int) float64 { return float64(pad + r*(boxH+rowGap)) }
	// at is a point given in pixels from the top left.
	at := func(x, y float64) vg.Point {
		return vg.Point{X: vg.Length(x) * px, Y: vg.Length(float64(height)-y) * px}
	}

	mono := font.Font{Typeface: "Liberation", Variant: "Mono", Size: 11 * px}
	label := draw.TextStyle{Color: color.Black, Font: mono, XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	faint := label
	faint.Color = grey
	edge := draw.LineStyle{Color: grey, Width: px}
	outline := draw.LineStyle{Color: color.RGBA{0x66, 0x77, 0x88, 0xff}, Width: px}
	fills := [3]color.Color{color.RGBA{0xee, 0xf3, 0xfb, 0xff}, color.RGBA{0xff, 0xe9, 0xb3, 0xff}, color.RGBA{0xee, 0xf3, 0xfb, 0xff}}

	pic := picture{w: vg.Length(width) * px, h: vg.Length(height) * px, draw: func(c draw.Canvas) {
		arrow := func(x0, y0, x1, y1 float64) { // a line with a head at its end
			c.StrokeLine2(edge, at(x0, y0).X, at(x0, y0).Y, at(x1, y1).X, at(x1, y1).Y)
			a := math.Atan2(y1-y0, x1-x0)
			side := func(turn float64) vg.Point {
				return at(x1-head*math.Cos(a+turn), y1-head*math.Sin(a+turn))
			}
			c.FillPolygon(grey, []vg.Point{at(x1, y1), side(math.Pi / 7), side(-math.Pi / 7)})
		}
		mid := left(1, 0) + boxW/2
		for k := range rows[0] {
			arrow(left(0, k)+boxW/2, top(0)+boxH, mid, top(1))
		}
		for k := range rows[2] {
			arrow(mid, top(1)+boxH, left(2, k)+boxW/2, top(2))
		}
		for r, names := range rows {
			for k, n := range names {
				box := roundedBox(at(left(r, k), top(r)+boxH), at(left(r, k)+boxW, top(r)), radius*px)
				c.SetColor(fills[r])
				c.Fill(box)
				c.SetLineStyle(outline)
				c.Stroke(box)
				c.FillText(label, at(left(r, k)+boxW/2, top(r)+boxH/2), shorten(n, 20))
			}
		}
		for r, none := range map[int]string{0: "no callers", 2: "no callees"} {
			if len(rows[r]) == 0 {
				c.FillText(faint, at(float64(width)/2, top(r)+boxH/2), none)
			}
		}
	}}

	list := func(names []string) string {
		if len(names) == 0 {
			return "none"
		}
		return strings.Join(names, ", ")
	}
	return newChart("callgraph", title, "callers  "+list(callers)+"\ncallees  "+list(callees), pic)
}

// roundedBox is the outline of a rectangle from min to max with corners of radius r.
func roundedBox(min, max vg.Point, r vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{X: min.X + r, Y: min.Y})
	p.Line(vg.Point{X: max.X - r, Y: min.Y})
	p.Arc(vg.Point{X: max.X - r, Y: min.Y + r}, r, -math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: max.X, Y: max.Y - r})
	p.Arc(vg.Point{X: max.X - r, Y: max.Y - r}, r, 0, math.Pi/2)
	p.Line(vg.Point{X: min.X + r, Y: max.Y})
	p.Arc(vg.Point{X: min.X + r, Y: max.Y - r}, r, math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: min.X, Y: min.Y + r})
	p.Arc(vg.Point{X: min.X + r, Y: min.Y + r}, r, math.Pi, math.Pi/2)
	p.Close()
	return p
}
