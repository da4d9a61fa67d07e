package session

import (
	"fmt"
	"os"
	"path/filepath"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
)

// chartValue is a chart as a cell's value: an SVG in Jupyter; in a terminal, a file holding
// the SVG (under os.TempDir()/rain-charts, named by the chart's kind and content), whose path
// is printed under a Unicode summary.
type chartValue struct{ c *display.Chart }

var (
	_ display.Shower     = chartValue{}
	_ display.Terminaler = chartValue{}
)

func (v chartValue) String() string        { return "<chart " + v.c.Kind + ": " + v.c.Title + ">" }
func (v chartValue) Type() string          { return "chart" }
func (v chartValue) Freeze()               {}
func (v chartValue) Truth() starlark.Bool  { return true }
func (v chartValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: chart") }
func (v chartValue) Show() display.Bundle  { return v.c.Bundle() }

// Terminal writes the chart's SVG to its file and gives the summary and the file's path.
func (v chartValue) Terminal(color bool) string {
	path, err := v.save()
	if err != nil {
		return v.c.Terminal(color) + "\n(the chart could not be saved: " + err.Error() + ")"
	}
	return v.c.Terminal(color) + "\nchart: " + path
}

// chartDir is where a terminal's charts go.
func chartDir() string { return filepath.Join(os.TempDir(), "rain-charts") }

func (v chartValue) save() (string, error) {
	dir := chartDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, v.c.FileName())
	return path, os.WriteFile(path, []byte(v.c.SVG), 0o644)
}

// builtinSpeedupPlot is speedup_plot(nodes, times, title=""): speedup and efficiency
// against nodes, from the seconds a run took on each number of nodes.
func builtinSpeedupPlot(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var nodesV, timesV *starlark.List
	title := "speedup"
	if err := unpackArgs(b.Name(), args, kwargs, "nodes", &nodesV, "times", &timesV, "title?", &title); err != nil {
		return nil, err
	}
	nodes := make([]int, nodesV.Len())
	for i := range nodes {
		n, err := starlark.AsInt32(nodesV.Index(i))
		if err != nil {
			return nil, usageError("%s: nodes[%d] must be an int, not %s", b.Name(), i, nodesV.Index(i).Type())
		}
		nodes[i] = n
	}
	times := make([]float64, timesV.Len())
	for i := range times {
		t, ok := starlark.AsFloat(timesV.Index(i))
		if !ok {
			return nil, usageError("%s: times[%d] must be seconds (a number), not %s", b.Name(), i, timesV.Index(i).Type())
		}
		times[i] = t
	}
	c, err := display.Speedup(title, nodes, times)
	if err != nil {
		return nil, usageError("%s: %v", b.Name(), err)
	}
	return chartValue{c}, nil
}

// builtinSizes is sizes(m, top=20): a bar chart of the module's largest functions.
func (s *Session) builtinSizes(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var mv starlark.Value
	top := 20
	if err := unpackArgs(b.Name(), args, kwargs, "m", &mv, "top?", &top); err != nil {
		return nil, err
	}
	m, ok := mv.(*Module)
	if !ok {
		return nil, usageError("%s wants a module, not a %s", b.Name(), mv.Type())
	}
	if top < 1 {
		return nil, usageError("%s: top must be 1 or more, got %d", b.Name(), top)
	}
	a, err := s.insp.analysis(m)
	if err != nil {
		return nil, err
	}
	var sizes []display.Size
	for i, fm := range a.met.Funcs {
		if !fm.Imported {
			sizes = append(sizes, display.Size{Name: a.funcName(uint32(i)), Bytes: fm.Bytes})
		}
	}
	c, err := display.Sizes(m.name+": function sizes", sizes, top)
	if err != nil {
		return nil, usageError("%s: module %s has no functions with code", b.Name(), m.name)
	}
	return chartValue{c}, nil
}
