package session

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// Module is a loaded Wasm module: its exported functions are its attributes.
type Module struct {
	name  string
	mod   *wasm.Module // as decoded when it was loaded: its bytes, shipped and inspected
	info  *wasm.Info   // what mod.Describe reported
	s     *Session
	funcs map[string]*Function
	// origin is the cell magic that built the module ("%%rust"), "" for one loaded from a file
	origin string
}

var (
	_ starlark.HasAttrs = (*Module)(nil)
	_ starlark.Callable = (*Function)(nil)
	_ display.Shower    = (*Module)(nil)
)

// newModule names a loaded module. mod may be nil for a module known by its description
// alone, which can be called but not inspected.
func (s *Session) newModule(name string, mod *wasm.Module, info *wasm.Info) *Module {
	m := &Module{name: name, mod: mod, info: info, s: s, funcs: map[string]*Function{}}
	for i := range info.Exports {
		f := &info.Exports[i]
		m.funcs[f.Name] = &Function{module: m, sig: f}
	}
	return m
}

func (m *Module) String() string {
	return fmt.Sprintf("<module %s: %d exports, %s>", m.name, len(m.info.Exports), sizeText(m.info.Size))
}
func (m *Module) Type() string          { return "module" }
func (m *Module) Freeze()               {}
func (m *Module) Truth() starlark.Bool  { return true }
func (m *Module) Hash() (uint32, error) { return starlark.String(m.info.SHA256).Hash() }

// Attr returns the exported function name.
func (m *Module) Attr(name string) (starlark.Value, error) {
	if f, ok := m.funcs[name]; ok {
		return f, nil
	}
	switch name {
	case "sha256":
		return starlark.String(m.info.SHA256), nil
	case "size":
		return starlark.MakeInt(m.info.Size), nil
	case "name":
		return starlark.String(m.name), nil
	}
	return nil, usageError("module %s has no export %q (it exports %s)", m.name, name, m.exportList())
}

// AttrNames lists the exports.
func (m *Module) AttrNames() []string {
	names := make([]string, 0, len(m.funcs))
	for n := range m.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (m *Module) exportList() string {
	names := m.AttrNames()
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + fmt.Sprintf(", … %d more", len(names)-8)
	}
	return strings.Join(names, ", ")
}

// Show is the module as a table of its exports and their signatures.
func (m *Module) Show() display.Bundle { return m.table().Bundle() }

// Terminal is the module's table styled for a terminal.
func (m *Module) Terminal(color bool) string { return m.table().Terminal(color) }

func (m *Module) table() *display.Table {
	t := &display.Table{
		Title:   fmt.Sprintf("%s · %s", m.name, m.summary()),
		Headers: []string{"export", "signature"},
	}
	for _, f := range m.info.Exports {
		t.Rows = append(t.Rows, []string{f.Name, signature(&f)})
	}
	return t
}

// summary is the one line %load prints: exports, functions, size.
func (m *Module) summary() string {
	return fmt.Sprintf("%d exports · %d functions · %s", len(m.info.Exports), m.info.Functions, sizeText(m.info.Size))
}

// Function is an exported Wasm function: calling it runs it on a node.
type Function struct {
	module *Module
	sig    *wasm.Func
	node   string // run on this node only, when set
}

func (f *Function) String() string {
	return fmt.Sprintf("<wasm function %s.%s%s>", f.module.name, f.sig.Name, signature(f.sig))
}
func (f *Function) Type() string         { return "wasm_function" }
func (f *Function) Freeze()              {}
func (f *Function) Truth() starlark.Bool { return true }
func (f *Function) Hash() (uint32, error) {
	return starlark.String(f.module.info.SHA256 + f.sig.Name).Hash()
}
func (f *Function) Name() string { return f.module.name + "." + f.sig.Name }

// export names the function for the cluster client.
func (f *Function) export() cluster.Export {
	return cluster.Export{Module: f.module.info.SHA256, Func: f.sig.Name}
}

// Attr gives a function's methods: on(node).
func (f *Function) Attr(name string) (starlark.Value, error) {
	switch name {
	case "on":
		return starlark.NewBuiltin("on", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var node string
			if err := unpackPositional(f.Name()+".on", args, kwargs, 1, &node); err != nil {
				return nil, err
			}
			if s := f.module.s; s.client != nil {
				if err := s.checkNode(f.Name()+".on", node); err != nil {
					return nil, err
				}
			}
			g := *f
			g.node = node
			return &g, nil
		}), nil
	}
	return nil, nil
}

// AttrNames lists a function's methods.
func (f *Function) AttrNames() []string { return []string{"on"} }

// CallInternal converts the arguments from the function's Wasm signature, runs the call on a
// node and converts the results back. An array passed for an i32 parameter goes by pointer,
// and what the function left in it is written back into it (see callArgs).
func (f *Function) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, usageError("%s%s takes no keyword arguments", f.Name(), signature(f.sig))
	}
	ca, err := f.encode(args)
	if err != nil {
		return nil, err
	}
	out := threadOutput(thread)
	res, err := f.module.s.client.Call(threadContext(thread), cluster.Call{
		Export:  f.export(),
		Args:    ca.raw,
		Buffers: ca.bufs,
		Node:    f.node,
		Stdout:  streamWriter{out, "stdout"},
		Stderr:  streamWriter{out, "stderr"},
	})
	if err != nil {
		return nil, err
	}
	if len(res.Values) != len(f.sig.Results) {
		return nil, failure(kindCluster, "%s: node %s answered %d values for %d results: a node of another build?", f.Name(), res.Node, len(res.Values), len(f.sig.Results))
	}
	if err := ca.writeBack(f, res); err != nil {
		return nil, err
	}
	return decodeResults(f.sig.Results, res.Values), nil
}

var (
	minI32 = big.NewInt(math.MinInt32)
	maxU32 = big.NewInt(math.MaxUint32)
	minI64 = big.NewInt(math.MinInt64)
	maxU64 = new(big.Int).SetUint64(math.MaxUint64)
)

func encodeValue(t api.ValueType, v starlark.Value) (uint64, error) {
	switch t {
	case api.ValueTypeI32, api.ValueTypeI64:
		var n *big.Int
		switch x := v.(type) {
		case starlark.Int:
			n = x.BigInt()
		case starlark.Bool:
			n = big.NewInt(0)
			if x {
				n.SetInt64(1)
			}
		default:
			return 0, fmt.Errorf("want an int for %s, got %s", api.ValueTypeName(t), v.Type())
		}
		lo, hi := minI32, maxU32
		if t == api.ValueTypeI64 {
			lo, hi = minI64, maxU64
		}
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			return 0, fmt.Errorf("%s out of range for %s", n, api.ValueTypeName(t))
		}
		if n.Sign() < 0 {
			if t == api.ValueTypeI32 {
				return api.EncodeI32(int32(n.Int64())), nil
			}
			return api.EncodeI64(n.Int64()), nil
		}
		return n.Uint64(), nil
	case api.ValueTypeF32, api.ValueTypeF64:
		var x float64
		switch y := v.(type) {
		case starlark.Float:
			x = float64(y)
		case starlark.Int:
			x = float64(y.Float())
		default:
			return 0, fmt.Errorf("want a float for %s, got %s", api.ValueTypeName(t), v.Type())
		}
		if t == api.ValueTypeF32 {
			return api.EncodeF32(float32(x)), nil
		}
		return api.EncodeF64(x), nil
	}
	return 0, fmt.Errorf("cannot pass a %s from a cell", api.ValueTypeName(t))
}

func decodeValue(t api.ValueType, raw uint64) starlark.Value {
	switch t {
	case api.ValueTypeI32:
		return starlark.MakeInt64(int64(api.DecodeI32(raw)))
	case api.ValueTypeI64:
		return starlark.MakeInt64(int64(raw))
	case api.ValueTypeF32:
		return starlark.Float(api.DecodeF32(raw))
	case api.ValueTypeF64:
		return starlark.Float(api.DecodeF64(raw))
	}
	return starlark.MakeUint64(raw)
}

// decodeResults turns the values of a call's results into a Starlark value: None for no result,
// a tuple for several. They came from a node: None too if there are fewer than types (a
// malformed answer must not crash the session).
func decodeResults(types []api.ValueType, raw []uint64) starlark.Value {
	if len(raw) < len(types) {
		return starlark.None
	}
	switch len(types) {
	case 0:
		return starlark.None
	case 1:
		return decodeValue(types[0], raw[0])
	}
	t := make(starlark.Tuple, len(types))
	for i, ty := range types {
		t[i] = decodeValue(ty, raw[i])
	}
	return t
}

// signature is "(i32, i32) -> i32".
func signature(f *wasm.Func) string {
	names := func(ts []api.ValueType) []string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return s
	}
	sig := "(" + strings.Join(names(f.Params), ", ") + ")"
	switch len(f.Results) {
	case 0:
		return sig
	case 1:
		return sig + " -> " + names(f.Results)[0]
	}
	return sig + " -> (" + strings.Join(names(f.Results), ", ") + ")"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func sizeText(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
