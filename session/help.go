package session

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/display"
)

// Page is help text: the REPL prints it, the Jupyter kernel shows it in the pager.
type Page struct{ text string }

var _ display.Shower = Page{}

func (p Page) String() string        { return p.text }
func (p Page) Type() string          { return "help" }
func (p Page) Freeze()               {}
func (p Page) Truth() starlark.Bool  { return true }
func (p Page) Hash() (uint32, error) { return starlark.String(p.text).Hash() }

// Show is the page as text.
func (p Page) Show() display.Bundle { return display.Plain(p.text) }

// Page is the page for a pager.
func (p Page) Page() display.Bundle { return p.Show() }

// Text is a value shown as plain text, unquoted (what %cluster prints).
type Text string

var _ display.Shower = Text("")

func (t Text) String() string        { return string(t) }
func (t Text) Type() string          { return "text" }
func (t Text) Freeze()               {}
func (t Text) Truth() starlark.Bool  { return t != "" }
func (t Text) Hash() (uint32, error) { return starlark.String(t).Hash() }

// Show is the text as text/plain.
func (t Text) Show() display.Bundle { return display.Plain(string(t)) }

func (s *Session) magicHelp(thread *starlark.Thread, args string) (starlark.Value, error) {
	if args == "" {
		return Page{s.helpIndex()}, nil
	}
	text, ok := s.helpFor(args, 1)
	if !ok {
		return nil, usageError("%%help: nothing is called %q: %%help lists the magics and builtins", args)
	}
	return Page{text}, nil
}

func (s *Session) builtinHelp(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	detail := 0
	if err := unpackPositional(b.Name(), args, kwargs, 0, &x, &detail); err != nil {
		return nil, err
	}
	if x == nil {
		return Page{s.helpIndex()}, nil
	}
	if name, ok := x.(starlark.String); ok {
		text, ok := s.helpFor(string(name), detail)
		if !ok {
			return nil, usageError("help: nothing is called %q: %%help lists the magics and builtins", string(name))
		}
		return Page{text}, nil
	}
	return Page{describeValue(x, detail)}, nil
}

// helpIndex lists every magic and builtin.
func (s *Session) helpIndex() string {
	t := &display.Table{Headers: []string{"magic", "what it does"}}
	for _, name := range sortedKeys(s.magics) {
		m := s.magics[name]
		t.Rows = append(t.Rows, []string{m.usage, m.summary})
	}
	b := &display.Table{Headers: []string{"builtin", "what it does"}}
	for _, d := range builtinDocs() {
		b.Rows = append(b.Rows, []string{d.usage, d.summary})
	}
	return "Rain cells are Starlark (Python syntax) with IPython-style magics.\n" +
		"A loaded module's exports are functions: m.f(1, 2) runs f on a node.\n\n" +
		t.Plain() + "\n\n" + b.Plain() + "\n\n" +
		"NAME? or %help NAME explains one. Ctrl-C (or Jupyter's interrupt) stops a running call."
}

// helpFor explains a magic, builtin or name in the session; detail 1 says more.
func (s *Session) helpFor(name string, detail int) (string, bool) {
	name = strings.TrimSpace(name)
	if m, ok := s.magics[strings.TrimLeft(name, "%")]; ok && (strings.HasPrefix(name, "%") || s.lookup(name) == nil) {
		text := m.usage + "\n    " + m.summary
		if m.doc != "" {
			text += "\n\n" + m.doc
		}
		return text, true
	}
	for _, d := range builtinDocs() {
		if d.name == name {
			return d.usage + "\n    " + d.summary, true
		}
	}
	if v := s.lookup(name); v != nil {
		return describeValue(v, detail), true
	}
	return "", false
}

// lookup resolves a dotted name (m, m.f) in the session's globals, without calling anything.
func (s *Session) lookup(dotted string) starlark.Value {
	parts := strings.Split(dotted, ".")
	s.mu.Lock()
	v, ok := s.globals[parts[0]]
	s.mu.Unlock()
	if !ok {
		if u, ok := starlark.Universe[parts[0]]; ok {
			v = u
		} else {
			return nil
		}
	}
	for _, p := range parts[1:] {
		h, ok := v.(starlark.HasAttrs)
		if !ok {
			return nil
		}
		next, err := h.Attr(p)
		if err != nil || next == nil {
			return nil
		}
		v = next
	}
	return v
}

// describeValue explains a value: a module's exports, a function's signature.
func describeValue(v starlark.Value, detail int) string {
	switch x := v.(type) {
	case *array.Array:
		return describeArray(x)
	case *Module:
		return x.table().Plain()
	case *Function:
		return fmt.Sprintf("%s%s\n    exported Wasm function of module %s (%s)", x.Name(), signature(x.sig), x.module.name, x.module.summary())
	case *starlark.Builtin:
		return fmt.Sprintf("%s(...)\n    builtin function", x.Name())
	case *starlark.Function:
		params := make([]string, x.NumParams())
		for i := range params {
			params[i], _ = x.Param(i)
		}
		text := fmt.Sprintf("%s(%s)\n    function defined at %s", x.Name(), strings.Join(params, ", "), x.Position())
		if doc := x.Doc(); doc != "" {
			text += "\n\n" + doc
		}
		return text
	}
	return fmt.Sprintf("%s\n    type: %s", display.Repr(v), v.Type())
}
