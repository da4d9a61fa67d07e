package session

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
)

// funcDetail is %inspect m.f: one function's figures, its callers and callees, the call graph
// around it (a tree as text, a layered chart) and the start of its disassembly.
type funcDetail struct {
	title   string     // "fib (i32) -> i32 · basics func[0]"
	figures [][]string // label, value
	callers []string
	callees []string
	tree    string         // the call graph around the function, as text
	graph   *display.Chart // and drawn: callers, the function, callees
	disasm  []string
	note    string // what the disassembly leaves out, or why there is none
}

var (
	_ display.Shower     = (*funcDetail)(nil)
	_ display.Terminaler = (*funcDetail)(nil)
)

func (d *funcDetail) String() string        { return d.plain() }
func (d *funcDetail) Type() string          { return "inspect" }
func (d *funcDetail) Freeze()               {}
func (d *funcDetail) Truth() starlark.Bool  { return true }
func (d *funcDetail) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: inspect") }

// Show gives text, HTML (with the call graph, since notebooks prefer HTML) and the call graph
// alone as SVG and PNG.
func (d *funcDetail) Show() display.Bundle {
	b := d.graph.Bundle()
	b["text/plain"], b["text/html"] = d.plain(), d.html()
	return b
}

func (d *funcDetail) Terminal(color bool) string {
	r := display.Renderer(color)
	bold := r.NewStyle().Bold(true)
	faint := r.NewStyle().Faint(true)
	var b strings.Builder
	b.WriteString(bold.Render(d.title) + "\n")
	for _, f := range d.figures {
		fmt.Fprintf(&b, "  %-10s %s\n", f[0], f[1])
	}
	b.WriteString(bold.Render("call graph") + "\n" + d.tree + "\n")
	if len(d.disasm) > 0 {
		b.WriteString(bold.Render("code") + "\n" + strings.Join(d.disasm, "\n") + "\n")
	}
	if d.note != "" {
		b.WriteString(faint.Render(d.note) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (d *funcDetail) plain() string { return d.Terminal(false) }

func (d *funcDetail) html() string {
	var b strings.Builder
	b.WriteString(`<div class="rain-inspect"><p style="font-weight:bold">` + html.EscapeString(d.title) + `</p>`)
	b.WriteString(`<table class="rain-table"><tbody>`)
	for _, f := range d.figures {
		b.WriteString(`<tr><th style="text-align:left">` + html.EscapeString(f[0]) + `</th><td style="text-align:left">` + html.EscapeString(f[1]) + `</td></tr>`)
	}
	b.WriteString(`</tbody></table>`)
	b.WriteString(d.graph.HTML())
	if len(d.disasm) > 0 {
		b.WriteString(`<pre style="font-size:smaller">` + html.EscapeString(strings.Join(d.disasm, "\n")) + `</pre>`)
	}
	if d.note != "" {
		b.WriteString(`<p style="font-size:smaller">` + html.EscapeString(d.note) + `</p>`)
	}
	b.WriteString(`</div>`)
	return b.String()
}

// detailFanout is how many callers or callees are named, drawn or listed at one level.
const detailFanout = 12

// funcDetail describes function i of the module called module, with its first n instructions.
func (a *analysis) funcDetail(module string, i uint32, n int) (*funcDetail, error) {
	fm := &a.met.Funcs[i]
	f := &a.mod.Funcs[i]
	name := a.funcName(i)
	d := &funcDetail{title: fmt.Sprintf("%s %s · %s func[%d]", name, a.signature(i), module, i)}
	ex := a.exports()
	add := func(label, value string) { d.figures = append(d.figures, []string{label, value}) }
	if len(ex[i]) > 0 {
		add("exported", strings.Join(ex[i], ", "))
	}
	for _, c := range a.met.Callers[i] {
		d.callers = append(d.callers, a.funcName(c))
	}
	if fm.Imported {
		add("imported", f.Import.Module+"."+f.Import.Name+": no body, so no figures of its own")
	} else {
		for _, c := range fm.Callees {
			d.callees = append(d.callees, a.funcName(c))
		}
		add("bytes", fmt.Sprintf("%d (retains %d: itself and all only it reaches)", fm.Bytes, fm.Retained))
		add("instrs", strconv.Itoa(fm.Instrs))
		add("locals", strconv.Itoa(fm.Locals))
		add("loops", fmt.Sprintf("%d, nested %d deep", fm.Loops, fm.LoopDepth))
		add("calls", fmt.Sprintf("%d direct (to %d function%s), %d indirect", fm.DirectCalls, len(fm.Callees), plural(len(fm.Callees)), fm.IndirectCalls))
		add("memory", fmt.Sprintf("%d loads, %d stores", fm.Loads, fm.Stores))
		if fl := a.flags(i, map[uint32][]string{}); fl != "" {
			add("flags", fl)
		}
	}
	add("callers", nameList(d.callers, "none"))
	if !fm.Imported {
		add("callees", nameList(d.callees, "none"))
	}
	d.tree = a.tree(i)
	var err error
	if d.graph, err = a.callGraph(i, d.title); err != nil {
		return nil, err
	}
	if fm.Imported {
		d.note = fmt.Sprintf("%s is imported from %s.%s: it has no body to disassemble", name, f.Import.Module, f.Import.Name)
		return d, nil
	}
	ins, err := a.mod.Disassemble(i, n)
	for _, in := range ins {
		d.disasm = append(d.disasm, fmt.Sprintf("%06x: %s%s", in.Offset, strings.Repeat("  ", in.Depth), in.Text))
	}
	switch {
	case err != nil:
		d.note = "the disassembly stops at an instruction it cannot decode: " + err.Error()
	case n > 0 && fm.Instrs > n:
		d.note = fmt.Sprintf("first %d of %d instructions: inspect(%s, func=%s, n=%d) for all", n, fm.Instrs, module, quote(name), fm.Instrs)
	}
	return d, nil
}

func nameList(names []string, none string) string {
	switch {
	case len(names) == 0:
		return none
	case len(names) > detailFanout:
		return strings.Join(names[:detailFanout], ", ") + fmt.Sprintf(", … %d more", len(names)-detailFanout)
	}
	return strings.Join(names, ", ")
}

// tree draws the callers of i above it and its callees two levels below it.
func (a *analysis) tree(i uint32) string {
	var b strings.Builder
	callers := a.met.Callers[i]
	for k, c := range callers {
		if k == detailFanout {
			fmt.Fprintf(&b, "  … %d more callers\n", len(callers)-k)
			break
		}
		fmt.Fprintf(&b, "  %s\n", a.funcName(c))
	}
	if len(callers) > 0 {
		b.WriteString("  ↓\n")
	}
	b.WriteString("▶ " + a.funcName(i) + a.mark(i) + "\n")
	seen := map[uint32]bool{i: true}
	var walk func(v uint32, prefix string, depth int)
	walk = func(v uint32, prefix string, depth int) {
		cs := a.met.Funcs[v].Callees
		for k, c := range cs {
			last := k == len(cs)-1 || k == detailFanout-1
			branch, next := "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
			if k == detailFanout-1 && len(cs) > detailFanout {
				fmt.Fprintf(&b, "%s%s… %d more\n", prefix, branch, len(cs)-k)
				break
			}
			label := a.funcName(c) + a.mark(c)
			if seen[c] && c != v {
				label += " ↑"
			}
			b.WriteString(prefix + branch + label + "\n")
			if depth < 2 && !seen[c] {
				seen[c] = true
				walk(c, prefix+next, depth+1)
			}
		}
	}
	walk(i, "  ", 1)
	return strings.TrimRight(b.String(), "\n")
}

// mark notes an import, recursion or a leaf after a name in the tree.
func (a *analysis) mark(i uint32) string {
	fm := &a.met.Funcs[i]
	switch {
	case fm.Imported:
		return " (import)"
	case fm.Recursive:
		return " (recursive)"
	}
	return ""
}

// callGraph draws three layers: callers, the function, callees; with "+N more" as the last of a
// row longer than detailFanout.
func (a *analysis) callGraph(i uint32, title string) (*display.Chart, error) {
	row := func(idx []uint32) []string {
		var names []string
		for k, c := range idx {
			if k == detailFanout-1 && len(idx) > detailFanout {
				names = append(names, fmt.Sprintf("+%d more", len(idx)-k))
				break
			}
			names = append(names, a.funcName(c))
		}
		return names
	}
	return display.CallGraph(title, row(a.met.Callers[i]), a.funcName(i), row(a.met.Funcs[i].Callees))
}
