package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Engine names.
const (
	EngineCompiler    = "compiler"
	EngineInterpreter = "interpreter"
)

const wasiModule = "wasi_snapshot_preview1"

// Func describes one exported function.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
}

// String is the function's signature as wazero prints it: "divmod(i32,i32) (i32,i32)".
func (f Func) String() string {
	var b strings.Builder
	b.WriteString(f.Name)
	b.WriteString("(")
	b.WriteString(typeList(f.Params))
	b.WriteString(")")
	switch len(f.Results) {
	case 0:
	case 1:
		b.WriteString(" " + api.ValueTypeName(f.Results[0]))
	default:
		b.WriteString(" (" + typeList(f.Results) + ")")
	}
	return b.String()
}

func typeList(ts []api.ValueType) string { return strings.Join(typeNames(ts), ",") }

// funcJSON is how a Func reads in JSON: value types by name.
type funcJSON struct {
	Name    string   `json:"name"`
	Params  []string `json:"params"`
	Results []string `json:"results"`
}

// MarshalJSON writes value types by name: {"name":"add","params":["i32","i32"],"results":["i32"]}.
func (f Func) MarshalJSON() ([]byte, error) {
	return json.Marshal(funcJSON{Name: f.Name, Params: typeNames(f.Params), Results: typeNames(f.Results)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Func) UnmarshalJSON(b []byte) error {
	var j funcJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var err error
	f.Name = j.Name
	if f.Params, err = parseTypes(j.Params); err != nil {
		return err
	}
	f.Results, err = parseTypes(j.Results)
	return err
}

func typeNames(ts []api.ValueType) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return names
}

func parseTypes(names []string) ([]api.ValueType, error) {
	ts := make([]api.ValueType, len(names))
	for i, n := range names {
		switch n {
		case "i32":
			ts[i] = api.ValueTypeI32
		case "i64":
			ts[i] = api.ValueTypeI64
		case "f32":
			ts[i] = api.ValueTypeF32
		case "f64":
			ts[i] = api.ValueTypeF64
		case "externref":
			ts[i] = api.ValueTypeExternref
		default:
			return nil, fmt.Errorf("wasm: unknown value type %q", n)
		}
	}
	return ts, nil
}

// Import names one import of a module.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Kind   string `json:"kind"` // "func", "table", "memory", "global" or "tag"
}

// Info is what Describe learns about a module. It encodes to JSON and back unchanged.
type Info struct {
	SHA256    string            `json:"sha256"`  // hex
	Size      int               `json:"size"`    // bytes
	Exports   []Func            `json:"exports"` // exported functions, in export order
	Imports   []Import          `json:"imports"`
	Functions int               `json:"functions"`  // all functions, imported and defined
	FuncNames map[uint32]string `json:"func_names"` // function index → name, from the name section
	WASI      bool              `json:"wasi"`       // imports wasi_snapshot_preview1
	Reactor   bool              `json:"reactor"`    // exports _initialize
	Command   bool              `json:"command"`    // exports _start
}

// Export returns the exported function called name, and whether there is one.
func (in *Info) Export(name string) (Func, bool) {
	for _, f := range in.Exports {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// Describe validates the module and reports its exports, imports and size. Errors wrap
// ErrInvalid or ErrImport (an *ImportError names the import); those of reading the binary
// came from Decode.
func (m *Module) Describe() (*Info, error) {
	if err := validate(m.bin); err != nil {
		return nil, err
	}
	if err := checkImports(m.Imports); err != nil {
		return nil, err
	}
	return m.info(), nil
}

// validate runs wazero's validation by compiling with the interpreter, which is the cheaper
// engine to compile for.
func validate(bin []byte) error {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return cm.Close(ctx)
}

// info is what Describe reports, without validating.
func (m *Module) info() *Info {
	in := &Info{
		SHA256:    m.SHA256,
		Size:      len(m.bin),
		Imports:   m.Imports,
		Functions: len(m.Funcs),
		FuncNames: map[uint32]string{},
	}
	if in.Imports == nil {
		in.Imports = []Import{}
	}
	for _, f := range m.Funcs {
		if f.Name != "" {
			in.FuncNames[f.Index] = f.Name
		}
	}
	for _, imp := range m.Imports {
		if imp.Module == wasiModule {
			in.WASI = true
		}
	}
	in.Exports = []Func{}
	for _, e := range m.Exports {
		if e.Kind != "func" {
			continue
		}
		t := m.Types[m.Funcs[e.Index].Type]
		in.Exports = append(in.Exports, Func{Name: e.Name, Params: t.Params, Results: t.Results})
		switch e.Name {
		case "_initialize":
			in.Reactor = true
		case "_start":
			in.Command = true
		}
	}
	return in
}
