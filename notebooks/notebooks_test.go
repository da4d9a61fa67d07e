package notebooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	)
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
// checks its outputs.
func TestNotebooks(t *testing.T) {
	py := jupytertest.Python(t, "nbclient", "nbformat")
	env := jupyterEnv(t)
	out := artifacts(t)
	paths := notebookPaths(t)
	t.Log(run(t, 2*time.Minute, env, py, append([]string{"testdata/execute.py", out}, paths...)...))
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			cells, err := readCells(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			checkCells(t, name, cells)
		})
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
// and errors (their name, value and traceback).
func (c cell) mime(typ string) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		if v, ok := o.Data[typ]; ok {
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
}

// expected lists, per notebook, the kinds of output that must appear.
var expected = map[string][]expectation{
	"01-hello-wasm.ipynb": {
		{"%load ../examples/basics.wasm", "text/plain", []string{"basics:", "ready on 2 nodes"}},
		{"basics\n", "text/html", []string{"<table", "fib", "divmod", "(i32, i32) -&gt; (i32, i32)"}},
		{"basics.fib(20)", "text/plain", []string{"6765"}},
		{"[basics.fib(n)", "text/plain", []string{"[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]"}},
		{"basics.add(2147483647", "text/plain", []string{"-2147483648"}},
		{"basics.add64(", "text/plain", []string{"1099511627777"}},
		{"basics.addf(", "text/plain", []string{"0.3000000"}},
		{"basics.mul(", "text/plain", []string{"0.02000000"}},
		{"q, r = basics.divmod", "text/plain", []string{"17 = 5 × 3 + 2"}},
		{"%time ", "text/plain", []string{"Wall time", "196418"}},
		{"%timeit", "text/plain", []string{"per loop"}},
		{"%%wat shapes", "text/plain", []string{"shapes:", "2 exports"}},
		{"shapes.area", "text/plain", []string{"(42, 26)"}},
		{"%%c numbers", "text/plain", []string{"numbers:", "2 exports"}},
		{"numbers\n", "text/html", []string{"<table", "gcd", "harmonic"}},
		{"numbers.gcd(1071", "text/plain", []string{"(21, 14.39"}},
		{"basics.trap_nested()", "text/plain", []string{"divide by zero", "crash", "trap_nested"}},
		{"basics.fib(10) +", "text/plain", []string{"61"}},
		{"%nodes", "text/html", []string{"<table", "basics", "shapes", "numbers"}},
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
		}
		if !found {
			t.Errorf("no cell starts with %q", e.source)
		}
	}
}
