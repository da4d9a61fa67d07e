package display

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sampleSpans is a map of 24 tasks on two nodes, the fast one taking more, with a retry and
// a failure, then a second map.
func sampleSpans() []Span {
	var s []Span
	t := map[string]float64{}
	for i := 0; i < 24; i++ {
		lane, d := "node-1", 0.020
		if i%3 == 2 {
			lane, d = "node-2", 0.035
		}
		g := "mb.row"
		if i >= 18 {
			g = "mb.escape"
		}
		s = append(s, Span{Lane: lane, Group: g, Start: t[lane], End: t[lane] + d, Retries: b2i(i == 7), Failed: i == 11})
		t[lane] += d + 0.002
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func charts(t *testing.T) map[string]*Chart {
	t.Helper()
	tl, err := Timeline("pmap(mb.row): 24 tasks on 2 nodes", sampleSpans())
	if err != nil {
		t.Fatal(err)
	}
	sp, err := Speedup("mandelbrot rows", []int{1, 2, 4, 8}, []float64{8.0, 4.3, 2.4, 1.5})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []Size
	for i, n := range []string{"row", "escape", "main", "__stdio_write", "memcpy", "a_very_long_function_name_from_a_cpp_mangler_ZN3foo3barEv", "printf_core", "fmt_fp", "pop_arg", "malloc", "free"} {
		sizes = append(sizes, Size{n, 4000 / (i + 1)})
	}
	sz, err := Sizes("mb: function sizes", sizes, 8)
	if err != nil {
		t.Fatal(err)
	}
	cg, err := CallGraph("trap_nested () -> i32 · basics func[7]", []string{"main", "a_very_long_function_name_from_a_cpp_mangler", "+3 more"}, "trap_nested", nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Chart{"timeline": tl, "speedup": sp, "sizes": sz, "callgraph": cg}
}

// TestChartStructure checks what a reader needs in each SVG: the title, axis labels with
// units, the legend's entries, and for the timeline one bar per task.
func TestChartStructure(t *testing.T) {
	cs := charts(t)
	tests := []struct {
		chart string
		want  []string
	}{
		{"timeline", []string{"pmap(mb.row): 24 tasks on 2 nodes", "time since the map began (ms)", ">node<", ">node-1<", ">node-2<", ">mb.row<", ">mb.escape<", ">retried (1)<", ">failed (1)<"}},
		{"speedup", []string{"speedup over 1 node", "efficiency (% of ideal)", "speedup (×)", ">nodes<", ">measured<", ">ideal<", "Amdahl fit: serial fraction", "mandelbrot rows: speedup over 1 node"}},
		{"callgraph", []string{">main<", ">a_very_long_functio…<", ">+3 more<", ">trap_nested<", ">no callees<", "font-family:'Liberation Mono',Cousine,'Courier New',monospace"}},
		{"sizes", []string{"mb: function sizes", "size of the function&#39;s code (bytes)", ">row<", ">4000<", "(largest 8 of 11)", "+3 more: 1207 bytes", "a_very_long_function_name_f…"}},
	}
	for _, tt := range tests {
		t.Run(tt.chart, func(t *testing.T) {
			c := cs[tt.chart]
			if !strings.HasPrefix(c.SVG, "<svg") || !strings.HasSuffix(strings.TrimSpace(c.SVG), "</svg>") {
				t.Errorf("not an SVG: %.80s", c.SVG)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.SVG, w) {
					t.Errorf("SVG lacks %q", w)
				}
			}
			b := c.Bundle()
			if b["image/svg+xml"] != c.SVG || !strings.HasPrefix(b.Text(), c.Title+"\n") {
				t.Errorf("bundle: %v", b.Text())
			}
			os.WriteFile(filepath.Join(t.TempDir(), c.FileName()), []byte(c.SVG), 0o644)
		})
	}
	// One filled bar per task: the bars are the paths filled with the groups' colours or grey.
	bars := regexp.MustCompile(`(?i)fill:(#4e79a7|#f28e2b|#888888)`).FindAllString(cs["timeline"].SVG, -1)
	if want := 24 + 3; len(bars) != want { // and the legend's three swatches
		t.Errorf("timeline: %d filled bars and swatches, want %d", len(bars), want)
	}
}

func TestChartSummaries(t *testing.T) {
	cs := charts(t)
	for name, want := range map[string][]string{
		"timeline": {"node-1 ▕", "16 tasks, busy", "node-2 ▕", "8 tasks", "1 retried · 1 failed"},
		"speedup":  {"nodes             1      2      4      8", "speedup       1.00×  1.86×", "efficiency", "Amdahl fit: serial fraction"},
		"sizes":    {"row                         4000 ██████████████████████████████", "… 3 more functions"},
	} {
		got := cs[name].Terminal(false)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s summary lacks %q:\n%s", name, w, got)
			}
		}
		if strings.Contains(got, "\x1b[") {
			t.Errorf("%s: ANSI without colour", name)
		}
	}
}

func TestChartErrors(t *testing.T) {
	if _, err := Timeline("t", nil); !errors.Is(err, ErrNoData) {
		t.Errorf("empty timeline: %v", err)
	}
	for _, c := range []struct {
		nodes []int
		times []float64
	}{{[]int{1, 2}, []float64{1}}, {[]int{0}, []float64{1}}, {[]int{1}, []float64{0}}, {[]int{2, 2}, []float64{1, 1}}, {nil, nil}} {
		if _, err := Speedup("s", c.nodes, c.times); err == nil {
			t.Errorf("Speedup(%v, %v): no error", c.nodes, c.times)
		}
	}
	if _, err := Sizes("s", nil, 3); !errors.Is(err, ErrNoData) {
		t.Errorf("no sizes: %v", err)
	}
	if _, err := CallGraph("g", nil, "", nil); !errors.Is(err, ErrNoData) {
		t.Errorf("a call graph of no function: %v", err)
	}
}

// TestChartSVGRenders renders each chart's SVG to PNG with rsvg-convert (Debian's
// librsvg2-bin), when it is installed, under RAIN_CHART_DIR if set (to look at them) or the
// test's directory.
func TestChartSVGRenders(t *testing.T) {
	conv, err := exec.LookPath("rsvg-convert")
	if err != nil {
		t.Skip("rsvg-convert is not installed (apt-get install librsvg2-bin)")
	}
	dir := os.Getenv("RAIN_CHART_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for name, c := range charts(t) {
		svg := filepath.Join(dir, name+".svg")
		if err := os.WriteFile(svg, []byte(c.SVG), 0o644); err != nil {
			t.Fatal(err)
		}
		png := filepath.Join(dir, name+".png")
		if out, err := exec.Command(conv, "-b", "white", "-o", png, svg).CombinedOutput(); err != nil {
			t.Errorf("%s: rsvg-convert: %v\n%s", name, err, out)
		} else if st, err := os.Stat(png); err != nil || st.Size() < 2000 {
			t.Errorf("%s: PNG missing or tiny: %v", name, err)
		}
	}
}

// TestChartBundle checks what a notebook gets of each chart: the SVG, a PNG rendition at twice
// the SVG's size in CSS pixels, and HTML whose <picture> shows the SVG to a browser and keeps
// the PNG's <img> for a sanitizer (nbconvert's HTML export drops SVG's elements).
func TestChartBundle(t *testing.T) {
	src := regexp.MustCompile(`^<picture><source srcset="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)" type="image/svg\+xml">` +
		`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)" alt="([^"]*)"></picture>$`)
	for name, c := range charts(t) {
		t.Run(name, func(t *testing.T) {
			b := c.Bundle()
			if b["image/svg+xml"] != c.SVG {
				t.Errorf("image/svg+xml is not the SVG")
			}
			m := src.FindStringSubmatch(b["text/html"].(string))
			if m == nil {
				t.Fatalf("text/html is not a <picture> of the SVG and the PNG: %.200s", b["text/html"])
			}
			if svg, err := base64.StdEncoding.DecodeString(m[1]); err != nil || string(svg) != c.SVG {
				t.Errorf("the <picture>'s source is not the SVG: %v", err)
			}
			if m[2] != b["image/png"] {
				t.Errorf("the <img> is not the image/png")
			}
			data, err := base64.StdEncoding.DecodeString(m[2])
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("image/png: %v", err)
			}
			// The SVG's size is in points, as vgsvg writes it: 720pt is 960 CSS pixels.
			wh := regexp.MustCompile(`^<svg width="([\d.]+)pt" height="([\d.]+)pt"`).FindStringSubmatch(c.SVG)
			if wh == nil {
				t.Fatalf("no size in the SVG: %.80s", c.SVG)
			}
			for i, got := range []int{cfg.Width, cfg.Height} {
				pt, _ := strconv.ParseFloat(wh[i+1], 64)
				css, _ := strconv.Atoi(m[3+i])
				want, wantPNG := int(math.Round(pt*96/72)), int(math.Round(pt*96/72*PNGScale))
				if css != want || got != wantPNG {
					t.Errorf("size %d: %spt is %d CSS pixels and %d in the PNG, want %d and %d", i, wh[i+1], css, got, want, wantPNG)
				}
			}
			if m[5] != html.EscapeString(c.Title) {
				t.Errorf("alt %q, want the title %q", m[5], c.Title)
			}
			if again, _ := c.PNG(); !bytes.Equal(again, data) {
				t.Errorf("a second PNG() is not the first")
			}
		})
	}
	// A chart whose SVG is too long to carry twice shows its PNG alone.
	big, err := newChart("x", "big", "", charts(t)["sizes"].pic)
	if err != nil {
		t.Fatal(err)
	}
	big.SVG = "<svg>" + strings.Repeat(" ", maxSVGInHTML) + "</svg>"
	if h := big.Bundle()["text/html"].(string); !strings.HasPrefix(h, `<img src="data:image/png;base64,`) || strings.Contains(h, "<picture>") {
		t.Errorf("a long SVG's HTML: %.100s", h)
	}
	// A chart made without a drawing has no PNG: its HTML is the SVG inline.
	c := &Chart{Kind: "x", Title: "x", SVG: "<svg></svg>"}
	if b := c.Bundle(); b["text/html"] != "<svg></svg>" || b["image/png"] != nil {
		t.Errorf("a chart without a drawing: %v", b)
	}
}

// BenchmarkChartPNG measures a PNG rendition of each chart, and of a timeline of 1024 tasks.
func BenchmarkChartPNG(b *testing.B) {
	cs := charts(&testing.T{})
	var spans []Span
	for i := 0; i < 1024; i++ {
		spans = append(spans, Span{Lane: fmt.Sprintf("node-%d", i%2), Group: "mb.row", Start: float64(i/2) * 0.0011, End: float64(i/2)*0.0011 + 0.001})
	}
	tl, err := Timeline("pmap(mb.row): 1024 tasks", spans)
	if err != nil {
		b.Fatal(err)
	}
	cs["timeline-1024"] = tl
	for _, name := range []string{"timeline", "timeline-1024", "speedup", "sizes", "callgraph"} {
		b.Run(name, func(b *testing.B) {
			var n int
			for i := 0; i < b.N; i++ {
				data, err := cs[name].pic.png(PNGScale)
				if err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

func TestProgress(t *testing.T) {
	b := Progress("━━━━━━━━━━────────── 512/1024 · 2 nodes", 512, 1024)
	if b.Text() != "━━━━━━━━━━────────── 512/1024 · 2 nodes" {
		t.Errorf("text: %q", b.Text())
	}
	h := b["text/html"].(string)
	for _, w := range []string{`width:50.0%`, `> 512/1024 · 2 nodes</div>`} {
		if !strings.Contains(h, w) {
			t.Errorf("html lacks %q: %s", w, h)
		}
	}
	done := Progress("━━━━ 4/4\n4 tasks on 2 nodes <fast>", 4, 4)["text/html"].(string)
	if !strings.Contains(done, "width:100.0%") || !strings.Contains(done, "4 tasks on 2 nodes &lt;fast&gt;") {
		t.Errorf("done: %s", done)
	}
}
