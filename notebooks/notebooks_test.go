package notebooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/jupytertest"
)

// The tests build the rain binary, install its kernelspec in a temporary prefix, and run every
// notebook here through a real Jupyter client. They need Debian's python3 and its Jupyter
// packages (scripts/install-deps), and for the browser test Chromium, Node and playwright-core
// (browser/install): without them the tests are skipped, or fail when $CI is set.

// artifacts is where a test leaves what a person may want to look at: $RAIN_TEST_ARTIFACTS/NAME
// when set, else a temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RAIN_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// jupyterEnv builds rain, installs the "rain" kernelspec in a temporary prefix, and returns
// the environment in which Jupyter finds it and nothing of the user's.
func jupyterEnv(t *testing.T) []string {
	t.Helper()
	prefix := t.TempDir()
	rain := filepath.Join(prefix, "bin", "rain")
	run(t, time.Minute, nil, "go", "build", "-o", rain, "../cmd/rain")
	run(t, 10*time.Second, nil, rain, "install", "--prefix", prefix)
	return append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(prefix, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(prefix, "data"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(prefix, "config"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(prefix, "runtime"),
		"JUPYTER_PLATFORM_DIRS=0",
		"IPYTHONDIR="+filepath.Join(prefix, "ipython"),
		"XDG_CACHE_HOME="+filepath.Join(prefix, "cache"),
		"PYTHONDONTWRITEBYTECODE=1",
		// Go's build cache stays the developer's, though the cache of built cells is the test's:
		// a %%go cell then compiles Go's runtime for wasip1 once per machine, not per run.
		"GOCACHE="+goCache(t),
	)
}

// goCache is the Go build cache of the go on the PATH.
func goCache(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(run(t, 30*time.Second, nil, "go", "env", "GOCACHE"))
}

// run runs a command to completion and fails the test with its output if it fails.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// notebookPaths lists the workshop notebooks.
func notebookPaths(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks found: %v", err)
	}
	return paths
}

// TestNotebooks executes every notebook with nbclient through the installed kernelspec and
// checks its outputs; then exports the executed notebooks to HTML with nbconvert, as is and
// sanitized, and checks that every chart is still a picture in both.
func TestNotebooks(t *testing.T) {
	py := jupytertest.Python(t, "nbclient", "nbformat", "nbconvert")
	env := jupyterEnv(t)
	out := artifacts(t)
	paths := notebookPaths(t)
	t.Log(run(t, 4*time.Minute, env, py, append([]string{"testdata/execute.py", out}, paths...)...))
	var executed []string
	for _, path := range paths {
		executed = append(executed, filepath.Join(out, filepath.Base(path)))
	}
	// `jupyter nbconvert --to html` as a user runs it, and with --sanitize-html as nbviewer
	// runs it; both with Debian's nbconvert.
	exports := map[string][]string{"html": nil, "sanitized": {"--sanitize-html"}}
	for dir, flags := range exports {
		args := append([]string{"-m", "nbconvert", "--to", "html", "--output-dir", filepath.Join(out, dir)}, flags...)
		run(t, 2*time.Minute, env, py, append(args, executed...)...)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			cells, err := readCells(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			checkCells(t, name, cells)
			for dir := range exports {
				page, err := os.ReadFile(filepath.Join(out, dir, strings.TrimSuffix(name, ".ipynb")+".html"))
				if err != nil {
					t.Fatal(err)
				}
				checkExport(t, dir, cells, string(page))
			}
		})
	}
}

// pngImg is an <img> of PNG data in an exported page; its first submatch is the base64.
var pngImg = regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)

// checkExport checks a notebook's HTML export (export: "html", or "sanitized" by
// --sanitize-html) against its cells: every cell whose outputs hold a chart (image/svg+xml)
// also holds its PNG rendition, and shows the chart in the page as an <img> of PNG data, with
// the SVG beside it for browsers unless sanitized (or too long). nbconvert empties image/svg+xml (lxml's
// Cleaner keeps <svg> and drops all inside it), so a chart sent as SVG alone is a blank box.
func checkExport(t *testing.T, export string, cells []cell, page string) {
	t.Helper()
	// The lab template gives each cell a <div class="jp-Cell …">, in the notebook's order.
	parts := strings.Split(page, `<div class="jp-Cell `)[1:]
	if len(parts) != len(cells) {
		t.Fatalf("%s export: %d cells in the page, %d in the notebook", export, len(parts), len(cells))
	}
	for i, c := range cells {
		svg := c.mime("image/svg+xml")
		if c.Type != "code" || svg == "" {
			continue
		}
		first, _, _ := strings.Cut(c.source(), "\n")
		if !strings.HasPrefix(svg, "<svg") || c.mime("image/png") == "" {
			t.Errorf("cell %d (%s): a chart without its SVG and PNG: SVG %.40q, PNG %d bytes", i, first, svg, len(c.mime("image/png")))
		}
		part := parts[i]
		m := pngImg.FindStringSubmatch(part)
		if m == nil {
			_, output, _ := strings.Cut(part, "jp-OutputArea")
			t.Errorf("cell %d (%s): the %s export shows no <img> of PNG data; the output is:\n%.600s", i, first, export, output)
			continue
		}
		data, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Errorf("cell %d (%s): the %s export's PNG: %v", i, first, export, err)
			continue
		}
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width < 200 || cfg.Height < 100 {
			t.Errorf("cell %d (%s): the %s export's PNG is %d×%d: %v", i, first, export, cfg.Width, cfg.Height, err)
		}
		if strings.Contains(part, `data-mime-type="image/svg+xml"`) {
			t.Errorf("cell %d (%s): the %s export shows image/svg+xml, which nbconvert empties", i, first, export)
		}
		// A browser shows the SVG, unless it is too long to carry twice (display's maxSVGInHTML).
		if export == "html" && len(svg) <= 1<<20 && !strings.Contains(part, `<source srcset="data:image/svg+xml;base64,`) {
			t.Errorf("cell %d (%s): the export lost the chart's SVG, which a browser shows", i, first)
		}
	}
}

// A cell as an executed notebook stores it (nbformat 4), and as the classic notebook's
// JavaScript gives it.
type cell struct {
	Type     string          `json:"cell_type"`
	Source   json.RawMessage `json:"source"` // a string, or a list of lines
	Count    *int            `json:"execution_count"`
	Metadata struct {
		Tags []string `json:"tags"`
	} `json:"metadata"`
	Outputs []output `json:"outputs"`
}

type output struct {
	Type      string            `json:"output_type"`
	Name      string            `json:"name"` // of a stream
	Text      json.RawMessage   `json:"text"`
	Data      map[string]any    `json:"data"`
	Ename     string            `json:"ename"`
	Evalue    string            `json:"evalue"`
	Traceback []string          `json:"traceback"`
	Metadata  map[string]any    `json:"metadata"`
	Transient map[string]string `json:"transient"`
}

// joined reads a string or a list of strings, as nbformat stores multi-line text.
func joined(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	json.Unmarshal(raw, &lines)
	return strings.Join(lines, "")
}

func (c cell) source() string { return joined(c.Source) }

func (c cell) tagged(tag string) bool {
	for _, t := range c.Metadata.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// mime is the text of every output of the cell in a MIME type: text/plain includes streams,
// and errors (their name, value and traceback); application/json is the data marshalled.
func (c cell) mime(typ string) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		if v, ok := o.Data[typ]; ok && typ == "application/json" {
			j, _ := json.Marshal(v)
			b.Write(j)
		} else if ok {
			switch v := v.(type) {
			case string:
				b.WriteString(v)
			case []any:
				for _, l := range v {
					fmt.Fprint(&b, l)
				}
			}
		}
		if typ == "text/plain" {
			b.WriteString(joined(o.Text))
			if o.Type == "error" {
				fmt.Fprintf(&b, "%s: %s\n%s", o.Ename, o.Evalue, strings.Join(o.Traceback, "\n"))
			}
		}
	}
	return b.String()
}

func readCells(path string) ([]cell, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nb struct {
		Cells []cell `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return nb.Cells, nil
}

// expectation is what one cell of a notebook must show, found by the start of its source.
type expectation struct {
	source string // the cell's source starts with this
	mime   string // in this MIME type (text/plain: also streams and tracebacks)
	want   []string
	number *number // when set, a number found in the output must be in range
}

// number is a number in a cell's output: the first submatch of re, between lo and hi.
type number struct {
	re     string
	lo, hi float64
}

// in checks that the output has the number, in range.
func (n *number) in(got string) error {
	m := regexp.MustCompile(n.re).FindStringSubmatch(got)
	if m == nil {
		return fmt.Errorf("no match for %q", n.re)
	}
	x, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return fmt.Errorf("%q: %v", m[1], err)
	}
	if x < n.lo || x > n.hi {
		return fmt.Errorf("%s = %g, not in [%g, %g]", n.re, x, n.lo, n.hi)
	}
	return nil
}

// expected lists, per notebook, the kinds of output that must appear.
var expected = map[string][]expectation{
	"01-hello-wasm.ipynb": {
		{"%load ../examples/basics.wasm", "text/plain", []string{"basics:", "ready on 2 nodes"}, nil},
		{"basics\n", "text/html", []string{"<table", "fib", "divmod", "(i32, i32) -&gt; (i32, i32)"}, nil},
		{"basics.fib(20)", "text/plain", []string{"6765"}, nil},
		{"[basics.fib(n)", "text/plain", []string{"[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]"}, nil},
		{"basics.add(2147483647", "text/plain", []string{"-2147483648"}, nil},
		{"basics.add64(", "text/plain", []string{"1099511627777"}, nil},
		{"basics.addf(", "text/plain", []string{"0.3000000"}, nil},
		{"basics.mul(", "text/plain", []string{"0.02000000"}, nil},
		{"q, r = basics.divmod", "text/plain", []string{"17 = 5 × 3 + 2"}, nil},
		{"%time ", "text/plain", []string{"Wall time", "196418"}, nil},
		{"%timeit", "text/plain", []string{"per loop"}, nil},
		{"%%wat shapes", "text/plain", []string{"shapes:", "2 exports"}, nil},
		{"shapes.area", "text/plain", []string{"(42, 26)"}, nil},
		{"%%c numbers", "text/plain", []string{"numbers:", "2 exports"}, nil},
		{"numbers\n", "text/html", []string{"<table", "gcd", "harmonic"}, nil},
		{"numbers.gcd(1071", "text/plain", []string{"(21, 14.39"}, nil},
		{"basics.trap_nested()", "text/plain", []string{"divide by zero", "crash", "trap_nested"}, nil},
		{"basics.fib(10) +", "text/plain", []string{"61"}, nil},
		{"%inspect basics.trap_nested", "image/svg+xml", []string{"<svg", "trap_nested", "crash"}, nil},
		{"%inspect basics.trap_nested", "text/plain", []string{"call graph", "callees    crash"}, nil},
		{"%nodes", "text/html", []string{"<table", "basics", "shapes", "numbers"}, nil},
		{"[basics.fib(n)", "application/json", []string{"[0,1,1,2,3,5,8,13,21,34,55,89]"}, nil},
	},
	"02-granularity.ipynb": {
		{"%load ../examples/mandelbrot.wasm as mb", "text/plain", []string{"mb:", "ready on 2 nodes"}, nil},
		{"%inspect mb\n", "text/html", []string{"<table", "escape", "row", "rows"}, nil},
		{"%inspect basics.trap_nested", "image/svg+xml", []string{"<svg", "trap_nested", "crash"}, nil},
		{"%inspect mb.row", "text/plain", []string{"row (i32) -> i32", "loops"}, nil},
		{"%inspect mb.row", "image/svg+xml", []string{"<svg", "row"}, nil},
		{"sizes(mb)", "image/svg+xml", []string{"<svg", "escape"}, nil},
		{"%grain mb.escape", "text/html", []string{"<table", "keep local"}, nil},
		{"%grain mb.row", "text/html", []string{"<table", "batch"}, nil},
		{"points = ", "text/plain", []string{"4000"}, nil},
		{"tiny = ", "text/html", []string{"<table", "chunk 1 "}, nil},
		{"batched = ", "text/html", []string{"<table", "chunk 2000"}, nil},
		{"auto = ", "text/html", []string{"<table", "auto:"}, nil},
		{"for name, r in", "text/plain", []string{"chunk=1 ·", "calls/s", "same results: True"}, nil},
		// How much faster is a measurement of a busy machine: benchmarks hold speed, not tests.
		{"print(\"batching made", "text/plain", []string{"batching made this map", "× faster"}, nil},
		{"by_hand = ", "text/html", []string{"<table", "16 tasks"}, nil},
		{"auto.chunks", "text/plain", []string{"[1, 1, 1, 1, "}, nil}, // a single call per slot first (2 per node); how it grows is grain.Auto's (the largest chunk is checked below)
		{"print(auto.chunk_reason)", "text/plain", []string{"auto:", "per chunk for 90%"}, nil},
		{"rows = pmap(mb.row", "text/plain", []string{"auto:", "s/call on the node"}, nil},
		{"print(\"escape: largest", "text/plain", nil, &number{`escape: largest chunk (\d+)`, 100, 1e5}},
	},
	"03-speedup-amdahl.ipynb": {
		{"%nodes", "text/html", []string{"<table", "linux/", "mb"}, nil},
		{"%time mb.rows(0, 1024)", "text/plain", []string{"Wall time", "49861519"}, nil},
		{"def best(n)", "text/html", []string{"<table", "on 1 node"}, nil},
		{"two = best(2)", "text/html", []string{"<table", "on 2 nodes"}, nil},
		{"def round2", "text/plain", []string{"same image: True"}, &number{`S\(2\) = ([\d.]+)`, 0.3, 2.5}},
		{"speedup_plot(", "image/svg+xml", []string{"<svg", "Amdahl"}, nil},
		{"def amdahl", "text/plain", []string{"serial 5%:", "1024 nodes → 19.64×"}, nil},
		{"S = one.elapsed", "text/plain", []string{"serial fraction ≈"}, nil},
		{"two.timeline()", "image/svg+xml", []string{"<svg"}, nil},
		{"two.per_node", "text/plain", []string{"tasks", "busy"}, nil},
		{"print(\"average nodes busy", "text/plain", nil, &number{`during the map: ([\d.]+) of 2`, 0.2, 2.01}},
		{"sweep(mb.row", "text/html", []string{"<table", "efficiency"}, nil},
	},
	"04-balancing-faults.ipynb": {
		{"%load ../examples/mandelbrot.wasm as mb", "text/plain", []string{"mb:", "basics:"}, nil},
		{"for y in range(0, 1024, 128)", "text/plain", []string{"row 0 · 1816 steps", "row 512 · 198301 steps", "█"}, nil},
		{"r = pmap(mb.row", "text/html", []string{"<table", "chunk 16"}, nil},
		{"r.per_node", "text/plain", []string{"tasks", "busy"}, nil},
		{"r.timeline()", "image/svg+xml", []string{"<svg"}, nil},
		{"coarse = pmap", "text/plain", []string{"chunk 384:", "rows · busy"}, nil},
		{"coarse.timeline()", "image/svg+xml", []string{"<svg"}, nil},
		{"inputs = [1, 0, 2]", "text/html", []string{"<table", "1 failed", "divide by zero"}, nil},
		{"list(bad)", "text/plain", []string{"[100, None, 50]"}, nil},
		{"bad.errors", "text/plain", []string{"1: ", "divide by zero"}, nil},
		{"basics.trap_div(inputs", "text/plain", []string{"divide by zero", "trap_div"}, nil},
		{"again = pmap", "text/plain", []string{"retried 2 times"}, nil},
		{"healthy = pmap", "text/plain", []string{"retried: 0", "retries per task: [0]"}, nil},
		{"%nodes", "text/html", []string{"<table", "restarts"}, nil},
		{"h = pmap_async", "text/plain", []string{"started; progress: ("}, nil},
		{"done = 0", "text/plain", []string{"1024 rows done"}, nil},
		{"h.wait()", "text/html", []string{"<table", "0 failed"}, nil},
		{"slow = pmap_async", "text/plain", []string{"progress: (", ", 400)"}, nil},
		{"slow.cancel()", "text/plain", []string{"after cancel", "done: True"}, nil},
		{"basics.fib(20)", "text/plain", []string{"6765"}, nil},
	},
	"05-tiers.ipynb": {
		{"%time load_module(", "text/plain", []string{"Wall time", "1788 functions"}, nil},
		{"%load ../examples/gowasm.wasm as go", "text/plain", []string{"go:", " on 2 nodes"}, nil},
		{"%nodes", "text/html", []string{"<table", "linux/", "compiler"}, nil},
		{"sizes(go", "image/svg+xml", []string{"<svg", "runtime."}, nil},
		{"%inspect go", "text/html", []string{"<table", "collatz"}, nil},
		{"%time go.collatz(27)", "text/plain", []string{"Wall time", "111"}, nil},
		{"%timeit", "text/plain", []string{"per loop"}, nil},
		{"go.hello()", "text/plain", []string{"hello from Go"}, nil},
		{"r = pmap(go.collatz", "text/html", []string{"<table", "auto:"}, nil},
		{"print(\"longest chain", "text/plain", []string{"starts at 17647 with 278 steps"}, nil},
		{"r.timeline(", "image/svg+xml", []string{"<svg", "collatz over 20,000"}, nil},
		{"broadcast(go.calls)", "text/plain", []string{"vm-"}, nil},
	},
	"06-code-and-data.ipynb": {
		{"%load ../examples/stats.wasm", "text/plain", []string{"stats:", "mandelbrot:", "ready on 2 nodes"}, nil},
		{"xs = array(", "text/plain", []string{"11.0"}, nil},
		{"out = zeros(4", "text/plain", []string{"[15.0, 25.0, 30.0, 40.0]"}, nil},
		// The Mandelbrot image, as a PNG.
		{"img = pmap(mandelbrot.row_pixels", "image/png", []string{"iVBORw0KGgo"}, nil},
		{"img = pmap(mandelbrot.row_pixels", "text/plain", []string{"1024×1024"}, nil},
		{"def ms(", "text/plain", []string{"16 calls with a 4 MiB slice each:", "MiB/s", "calls/s"}, nil},
		{"one = array(", "text/plain", []string{"2000 calls with 8 bytes each:", "calls/s"}, nil},
		{"d = %time scatter", "text/plain", []string{"Wall time"}, nil},
		{"d\n", "text/html", []string{"<table", "scattered f64 array (8388608,)", "16 parts"}, nil},
		{"r = pmap(stats.sum, d)", "text/plain", []string{"same sum: True"}, nil},
		// A map over scattered data sends a few hundred bytes a call, none of the data.
		{"print(\"the map sent", "text/plain", []string{"none of them the 67108864 bytes of data"}, &number{`\((\d+) a call\)`, 1, 2048}},
		{"maps = [pmap", "text/plain", []string{"5 maps over the scattered 64 MiB:", "MiB/s"}, nil},
		{"doubled = pmap", "text/html", []string{"<table", "scattered f64 array (8388608,)"}, nil},
		{"t = 0.0", "text/plain", []string{"twice the sum: True", "gathered (8388608,) 6.0"}, nil},
		{"%nodes", "text/html", []string{"<table", "data"}, nil},
	},
	"07-your-language.ipynb": {
		{"%%c mb_c", "text/plain", []string{"mb_c:", "5 exports"}, nil},
		{"%%go mb_go", "text/plain", []string{"mb_go:", "6 exports"}, nil},
		{"%%rust mb_rust", "text/plain", []string{"mb_rust:", "5 exports"}, nil},
		{"%%ts mb_ts", "text/plain", []string{"mb_ts:", "5 exports"}, nil},
		{"%%rust oops", "text/plain", []string{"CompileError", "rustc: error[E0277]", "--> cell:4:7"}, nil},
		{"langs = ", "text/plain", []string{`{"C": 198301, "Go": 198301, "Rust": 198301, "TypeScript": 198301}`}, nil},
		{"out = zeros(1024", "text/plain", []string{"array u8 · 1024 values · min 0 · max 184"}, nil},
		{"images = {}", "text/plain", []string{"TypeScript: 1024 rows in", "array u8 · 1024×1024"}, nil},
		{"images = {}", "image/png", []string{"iVBORw0KGgo"}, nil},
		{"print(\"the same image", "text/plain", []string{"the same image in every language: True"}, nil},
		{"cost = ", "text/plain", []string{"C: ", "Go: ", "Rust: ", "TypeScript: ", "µs a row"}, nil},
		{"for name, m in langs", "text/plain", []string{"C: ", "Go: ", "Rust: ", "TypeScript: ", " bytes"}, nil},
		{"%inspect mb_rust", "text/html", []string{"<table", "row_pixels", "malloc"}, nil},
		{"%inspect mb_go", "text/plain", []string{"_initialize", "row_pixels", "malloc"}, nil},
		{"sizes(mb_go", "image/svg+xml", []string{"<svg", "runtime."}, nil},
	},
}

// checkCells checks an executed notebook: every code cell ran; only cells tagged
// raises-exception have an error output, and they do; the expected outputs appear.
func checkCells(t *testing.T, name string, cells []cell) {
	t.Helper()
	for i, c := range cells {
		if c.Type != "code" {
			continue
		}
		first, _, _ := strings.Cut(c.source(), "\n")
		if c.Count == nil {
			t.Errorf("cell %d (%s) did not run", i, first)
		}
		errs := 0
		for _, o := range c.Outputs {
			if o.Type == "error" {
				errs++
				if !c.tagged("raises-exception") {
					t.Errorf("cell %d (%s): unexpected error %s: %s\n%s", i, first, o.Ename, o.Evalue, strings.Join(o.Traceback, "\n"))
				}
			}
		}
		if c.tagged("raises-exception") && errs == 0 {
			t.Errorf("cell %d (%s) is tagged raises-exception but shows no error", i, first)
		}
	}
	for _, e := range expected[name] {
		found := false
		for _, c := range cells {
			if c.Type != "code" || !strings.HasPrefix(c.source()+"\n", e.source) {
				continue
			}
			found = true
			got := c.mime(e.mime)
			for _, w := range e.want {
				if !strings.Contains(got, w) {
					t.Errorf("cell %q: %s lacks %q; it is:\n%s", e.source, e.mime, w, got)
				}
			}
			if e.number != nil {
				if err := e.number.in(got); err != nil {
					t.Errorf("cell %q: %s: %v; it is:\n%s", e.source, e.mime, err, got)
				}
			}
		}
		if !found {
			t.Errorf("no cell starts with %q", e.source)
		}
	}
}
