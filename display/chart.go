package display

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is a picture of data: an SVG for Jupyter, a PNG rendition of it drawn on demand, and a
// few lines of Unicode (bars or a sparkline) for a terminal, where the SVG goes to a file the
// front end names.
type Chart struct {
	Kind    string // "timeline", "speedup", "sizes", "callgraph": names the chart's file
	Title   string
	SVG     string
	Summary string // the chart in a few lines of Unicode, without colour

	pic picture // what drew the SVG, kept to draw the PNG
	png struct {
		once sync.Once
		data []byte
		err  error
	}
}

// newChart draws pic as SVG into a chart.
func newChart(kind, title, summary string, pic picture) (*Chart, error) {
	svg, err := pic.svg()
	if err != nil {
		return nil, err
	}
	return &Chart{Kind: kind, Title: title, SVG: svg, Summary: summary, pic: pic}, nil
}

// PNGScale is how many pixels a PNG rendition draws per CSS pixel of the chart: 2, sharp on
// high-density screens.
const PNGScale = 2

// PNG is the chart drawn as a PNG, PNGScale pixels per CSS pixel (96 per inch). It is drawn
// on the first call, and only then: a terminal never pays for it.
func (c *Chart) PNG() ([]byte, error) {
	c.png.once.Do(func() {
		if c.pic.draw == nil {
			c.png.err = fmt.Errorf("%w: the chart %q has no drawing to render", ErrNoData, c.Title)
			return
		}
		c.png.data, c.png.err = c.pic.png(PNGScale)
	})
	return c.png.data, c.png.err
}

// Bundle is the chart as text/html (see HTML), image/svg+xml and image/png, with its title and
// summary as text/plain.
func (c *Chart) Bundle() Bundle {
	b := Bundle{"text/html": c.HTML(), "image/svg+xml": c.SVG, "text/plain": c.Title + "\n" + c.Summary}
	if data, err := c.PNG(); err == nil {
		b["image/png"] = base64.StdEncoding.EncodeToString(data)
	}
	return b
}

// HTML is the chart for a page: a <picture> whose source is the SVG and whose <img> is the PNG
// rendition; only the <img> if the SVG is longer than maxSVGInHTML; the SVG inline if the PNG
// cannot be drawn.
//
// Notebooks (the classic Notebook, JupyterLab) and nbconvert all prefer text/html to
// image/svg+xml to image/png, and nbconvert's HTML export passes image/svg+xml through lxml's
// Cleaner, which keeps the <svg> element but drops every element inside it: a chart sent as
// SVG alone is an empty box in an exported notebook. A browser shows the <picture>'s SVG,
// sharp, in a live notebook and in an export; a sanitizer (nbconvert --sanitize-html, an
// untrusted notebook) drops <picture>, <source> and SVG data URLs, and keeps the <img> of the PNG.
func (c *Chart) HTML() string {
	data, err := c.PNG()
	if err != nil {
		return c.SVG
	}
	w, h := c.pic.pixels()
	img := fmt.Sprintf(`<img src="data:image/png;base64,%s" width="%d" height="%d" alt="%s">`,
		base64.StdEncoding.EncodeToString(data), w, h, escape(c.Title))
	if len(c.SVG) > maxSVGInHTML {
		return img
	}
	return `<picture><source srcset="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString([]byte(c.SVG)) +
		`" type="image/svg+xml">` + img + `</picture>`
}

// maxSVGInHTML is the longest SVG a chart's HTML carries (as base64, a third longer, beside the
// bundle's image/svg+xml). A longer one is a timeline of thousands of tasks, 4.5 MB for 20,000:
// its PNG shows as much, and the browser draws it faster.
const maxSVGInHTML = 1 << 20

// Terminal is the chart's title (bold with colour) and its Unicode summary.
func (c *Chart) Terminal(color bool) string {
	r := Renderer(color)
	return r.NewStyle().Bold(true).Render(c.Title) + "\n" + c.Summary
}

// FileName is a name for the chart's SVG file that changes with its content:
// "timeline-1a2b3c4d.svg".
func (c *Chart) FileName() string {
	h := sha256.Sum256([]byte(c.SVG))
	return c.Kind + "-" + hex.EncodeToString(h[:4]) + ".svg"
}

// palette is Tableau 10: distinct, and readable by most colour-blind people.
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0x59, 0xa1, 0x4f, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0xff, 0x9d, 0xa7, 0xff}, {0x9c, 0x75, 0x5f, 0xff}, {0xba, 0xb0, 0xac, 0xff},
	{0xe1, 0x57, 0x59, 0xff},
}

var (
	red  = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	grey = color.RGBA{0x88, 0x88, 0x88, 0xff}
)

// newPlot is a plot with a title, axis labels and sans-serif text.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.BackgroundColor = nil // the picture is painted white once, under all its plots
	sans := func(s *font.Font) { s.Typeface, s.Variant = "Liberation", "Sans" }
	sans(&p.Title.TextStyle.Font)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		sans(&a.Label.TextStyle.Font)
		sans(&a.Tick.Label.Font)
	}
	sans(&p.Legend.TextStyle.Font)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.Padding = vg.Points(3) // between entries
	p.Title.Padding = vg.Points(8)
	return p
}

// picture is a chart's drawing: its size in points and what draws it on a canvas that size.
// It draws as SVG and as PNG alike.
type picture struct {
	w, h vg.Length
	draw func(draw.Canvas)
}

// tiled draws plots side by side on a w×h canvas (points).
func tiled(w, h vg.Length, plots ...*plot.Plot) picture {
	return picture{w, h, func(dc draw.Canvas) {
		if len(plots) == 1 {
			plots[0].Draw(dc)
			return
		}
		t := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Points(24), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		cs := plot.Align([][]*plot.Plot{plots}, t, dc)
		for i, p := range plots {
			p.Draw(cs[0][i])
		}
	}}
}

// paint draws the picture on c, first filling it white if fill is set. (A vgimg canvas starts
// white: filling it again through the rasterizer costs a fifth of the PNG's time.)
func (p picture) paint(c vg.CanvasSizer, fill bool) {
	dc := draw.New(c)
	if fill {
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
	}
	p.draw(dc)
}

// svg draws the picture as SVG.
func (p picture) svg() (string, error) {
	c := vgsvg.New(p.w, p.h)
	p.paint(c, true)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("display: drawing a chart: %w", err)
	}
	s := b.String()
	// Drop the XML prolog: the SVG goes inline into HTML pages too.
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	// Name metric-compatible fonts and a generic family after Liberation, which few have.
	s = strings.ReplaceAll(s, "font-family:Liberation Sans", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif")
	s = strings.ReplaceAll(s, "font-family:Liberation Mono", "font-family:'Liberation Mono',Cousine,'Courier New',monospace")
	return s, nil
}

// cssDPI is the dots per inch of a CSS pixel.
const cssDPI = 96

// pixels is the picture's size in CSS pixels, as a browser shows its SVG.
func (p picture) pixels() (w, h int) {
	return int(math.Round(p.w.Dots(cssDPI))), int(math.Round(p.h.Dots(cssDPI)))
}

// png draws the picture as PNG, scale pixels per CSS pixel, with gonum/plot's own fonts (the
// Liberation fonts the SVG's text is measured with).
func (p picture) png(scale int) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(p.w, p.h), vgimg.UseDPI(cssDPI*scale))
	p.paint(c, false)
	var b bytes.Buffer
	// BestSpeed: a chart's flat colours compress well enough, in a third of the time.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, c.Image()); err != nil {
		return nil, fmt.Errorf("display: drawing a chart as PNG: %w", err)
	}
	return b.Bytes(), nil
}

// swatch is a legend entry's thumbnail: a filled box, optionally outlined.
type swatch struct {
	fill    color.Color
	outline color.Color
}

func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	pts := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
	if s.fill != nil {
		c.FillPolygon(s.fill, pts)
	}
	if s.outline != nil {
		c.StrokeLines(draw.LineStyle{Color: s.outline, Width: vg.Points(1.5)}, append(pts, pts[0]))
	}
}

// blocks are the eighths of a cell, for sparklines.
var blocks = []rune(" ▁▂▃▄▅▆▇█")

// sparkline draws values from 0 to top as a row of blocks.
func sparkline(vs []float64, top float64) string {
	var b strings.Builder
	for _, v := range vs {
		k := 0
		if top > 0 {
			k = int(v/top*8 + 0.5)
		}
		b.WriteRune(blocks[min(max(k, 0), 8)])
	}
	return b.String()
}

// hbar is a horizontal bar of v/top × width cells, with eighths at its end.
func hbar(v, top float64, width int) string {
	if top <= 0 || v <= 0 {
		return ""
	}
	eighths := int(v/top*float64(width*8) + 0.5)
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	if s == "" {
		s = "▏"
	}
	return s
}

// seconds formats a duration in seconds with a unit that suits its size.
func seconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.0f µs", s*1e6)
}
