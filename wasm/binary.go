package wasm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// Module is a WebAssembly binary as Decode reads it: the binary itself (Bytes), its SHA-256,
// and its structure: types, imports, functions (with where each body lies in the binary),
// exports and names. Decode checks the binary's framing, not its semantics; Describe and
// Runtime.Load validate fully. A Module is not changed after Decode, so one value may be
// shared: a client ships its bytes while an inspector analyses it.
type Module struct {
	SHA256   string // of the binary, in hex: the module's address on a cluster
	Name     string // module name from the name section, if any
	Types    []FuncType
	Imports  []Import
	Funcs    []Function // the function index space: imported functions first, then defined ones
	Exports  []Export
	Sections []Section // every section, in binary order
	// MemoryMin is the size, in 64 KiB pages, that the module's memory (defined or imported)
	// starts with; 0 without a memory.
	MemoryMin uint64

	bin []byte // the binary, for Bytes and for what Analyze reads beyond the above (start, elements)
}

// Bytes is the binary the module was decoded from, kept as Decode was given it (not copied):
// neither the caller of Decode nor of Bytes may change it.
func (m *Module) Bytes() []byte { return m.bin }

// FuncType is a function signature from the type section.
type FuncType struct {
	Params, Results []api.ValueType
}

// Function is one entry of a module's function index space.
type Function struct {
	Index  uint32
	Type   uint32  // index into Module.Types
	Name   string  // from the name section; empty when the module has none for it
	Import *Import // non-nil for an imported function, which has no body

	// For a defined function: its body (local declarations then code) is Size bytes at
	// Offset in the binary, the figures wasm-objdump -x prints.
	Offset int
	Size   int
	Locals int    // number of locals declared, parameters excluded
	Code   []byte // the instructions after the local declarations, ending with end (0x0b)
}

// Imported reports whether f is imported rather than defined by the module.
func (f *Function) Imported() bool { return f.Import != nil }

// Export is one entry of the export section.
type Export struct {
	Name  string
	Kind  string // "func", "table", "memory", "global" or "tag"
	Index uint32 // in the index space of Kind
}

// Section is where one section lies in the binary.
type Section struct {
	ID     byte
	Name   string // the section's name: "type", "code", ... or a custom section's own name
	Offset int    // of the section's contents, after its id and size
	Size   int
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count", "tag"}

// sectionOrder ranks the non-custom sections in the order the binary must give them.
var sectionOrder = [...]int{secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11,
	secCode: 12, secData: 13}

var externKinds = [...]string{"func", "table", "memory", "global", "tag"}

var magic = []byte{0x00, 'a', 's', 'm'}

// Decode reads the structure of a WebAssembly binary. Errors wrap ErrNotWasm for bytes that are
// not WebAssembly at all and are a *DecodeError (which matches ErrInvalid) for a malformed or
// truncated module.
func Decode(bin []byte) (*Module, error) {
	if len(bin) < 4 || string(bin[:4]) != string(magic) {
		return nil, ErrNotWasm
	}
	if len(bin) < 8 {
		return nil, &DecodeError{Offset: len(bin), Msg: "truncated in the header"}
	}
	switch v := bin[4:8]; {
	case v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 0:
	case v[2] == 1 && v[3] == 0:
		return nil, &DecodeError{Offset: 4, Msg: "a WebAssembly component, not a core module"}
	default:
		return nil, &DecodeError{Offset: 4, Msg: fmt.Sprintf("unsupported binary version % x", v)}
	}
	d := decoder{m: &Module{bin: bin}, bin: bin}
	if err := d.sections(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bin)
	d.m.SHA256 = hex.EncodeToString(sum[:])
	return d.m, nil
}

type decoder struct {
	m        *Module
	bin      []byte
	funcDecl []uint32 // type indices of defined functions, from the function section
	seen     [secTag + 1]bool
}

func (d *decoder) sections() error {
	r := &reader{b: d.bin, pos: 8}
	hasCode := false
	var nameSec *reader
	last := 0 // order of the last non-custom section
	for r.pos < len(d.bin) {
		start := r.pos
		id := r.byte()
		size := r.u32()
		if r.err != nil {
			return r.fail("section header")
		}
		if int(id) >= len(sectionNames) {
			return &DecodeError{Offset: start, Msg: fmt.Sprintf("unknown section id %d", id)}
		}
		s := Section{ID: id, Name: sectionNames[id], Offset: r.pos, Size: int(size)}
		if uint64(r.pos)+uint64(size) > uint64(len(d.bin)) {
			return &DecodeError{Offset: start, Section: s.Name,
				Msg: fmt.Sprintf("truncated: the section says %d bytes, %d remain", size, len(d.bin)-r.pos)}
		}
		body := &reader{b: d.bin[:r.pos+int(size)], pos: r.pos, section: s.Name}
		r.pos += int(size)
		if id != secCustom {
			if d.seen[id] {
				return &DecodeError{Offset: start, Section: s.Name, Msg: "duplicate section"}
			}
			if sectionOrder[id] < last {
				return &DecodeError{Offset: start, Section: s.Name, Msg: "section out of order"}
			}
			d.seen[id], last = true, sectionOrder[id]
		}
		var err error
		switch id {
		case secCustom:
			s.Name = body.name()
			if body.err != nil {
				return body.fail("custom section name")
			}
			if s.Name == "name" {
				nameSec = body // read last, once every function exists
			}
		case secType:
			err = d.types(body)
		case secImport:
			err = d.imports(body)
		case secFunction:
			err = d.functions(body)
		case secMemory:
			err = d.memories(body)
		case secExport:
			err = d.exports(body)
		case secCode:
			hasCode = true
			err = d.code(body)
		}
		if err != nil {
			return err
		}
		d.m.Sections = append(d.m.Sections, s)
	}
	if nameSec != nil {
		d.names(nameSec) // a malformed name section is ignored, as the spec asks
	}
	if len(d.funcDecl) > 0 && !hasCode {
		return &DecodeError{Offset: len(d.bin), Section: "code",
			Msg: fmt.Sprintf("missing: the function section declares %d functions", len(d.funcDecl))}
	}
	for _, e := range d.m.Exports {
		if e.Kind == "func" && int(e.Index) >= len(d.m.Funcs) {
			return &DecodeError{Section: "export", Msg: fmt.Sprintf("export %q names function %d of %d", e.Name, e.Index, len(d.m.Funcs))}
		}
	}
	for _, f := range d.m.Funcs {
		if int(f.Type) >= len(d.m.Types) {
			return &DecodeError{Section: "function", Msg: fmt.Sprintf("function %d has type %d of %d", f.Index, f.Type, len(d.m.Types))}
		}
	}
	return nil
}

func (d *decoder) types(r *reader) error {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		at := r.pos
		if form := r.byte(); form != 0x60 && r.err == nil {
			return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("type %d: unsupported type form 0x%02x", i, form)}
		}
		var t FuncType
		t.Params = r.valueTypes()
		t.Results = r.valueTypes()
		d.m.Types = append(d.m.Types, t)
	}
	return r.done()
}

func (d *decoder) imports(r *reader) error {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		at := r.pos
		imp := Import{Module: r.name(), Name: r.name()}
		kind := r.byte()
		if r.err != nil {
			break
		}
		if int(kind) >= len(externKinds) {
			return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("import %d: unknown kind 0x%02x", i, kind)}
		}
		imp.Kind = externKinds[kind]
		switch kind {
		case 0: // func: type index
			typ := r.u32()
			d.m.Imports = append(d.m.Imports, imp)
			d.m.Funcs = append(d.m.Funcs, Function{Index: uint32(len(d.m.Funcs)), Type: typ, Import: &d.m.Imports[len(d.m.Imports)-1]})
			continue
		case 1: // table: reference type, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			d.m.MemoryMin = max(d.m.MemoryMin, r.limits())
		case 3: // global: value type, mutability
			r.byte()
			r.byte()
		case 4: // tag: attribute, type index
			r.byte()
			r.u32()
		}
		d.m.Imports = append(d.m.Imports, imp)
	}
	// Imports may have moved when the slice grew: point the functions at the final copies.
	fi := 0
	for i := range d.m.Imports {
		if d.m.Imports[i].Kind == "func" {
			d.m.Funcs[fi].Import = &d.m.Imports[i]
			fi++
		}
	}
	return r.done()
}

func (d *decoder) functions(r *reader) error {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		d.funcDecl = append(d.funcDecl, r.u32())
	}
	return r.done()
}

// memories reads the memory section for the size the module's memory starts with (the
// largest, should the multi-memory proposal give it several).
func (d *decoder) memories(r *reader) error {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		d.m.MemoryMin = max(d.m.MemoryMin, r.limits())
	}
	return r.done()
}

func (d *decoder) exports(r *reader) error {
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		at := r.pos
		e := Export{Name: r.name()}
		kind := r.byte()
		e.Index = r.u32()
		if r.err != nil {
			break
		}
		if int(kind) >= len(externKinds) {
			return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("export %q: unknown kind 0x%02x", e.Name, kind)}
		}
		e.Kind = externKinds[kind]
		d.m.Exports = append(d.m.Exports, e)
	}
	return r.done()
}

// code records where each function body lies, and reads its local declarations so that Code
// starts at the first instruction.
func (d *decoder) code(r *reader) error {
	at := r.pos
	n := r.count()
	if r.err == nil && int(n) != len(d.funcDecl) {
		return &DecodeError{Offset: at, Section: r.section,
			Msg: fmt.Sprintf("%d bodies for the %d functions the function section declares", n, len(d.funcDecl))}
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		at := r.pos
		size := r.u32()
		if r.err != nil {
			break
		}
		if uint64(r.pos)+uint64(size) > uint64(len(r.b)) {
			return &DecodeError{Offset: at, Section: r.section,
				Msg: fmt.Sprintf("body of function %d: %d bytes, past the end of the section", len(d.m.Funcs), size)}
		}
		f := Function{Index: uint32(len(d.m.Funcs)), Type: d.funcDecl[i], Offset: r.pos, Size: int(size)}
		body := &reader{b: r.b[:r.pos+int(size)], pos: r.pos, section: r.section}
		r.pos += int(size)
		locals := uint64(0)
		groups := body.count()
		for j := uint32(0); j < groups && body.err == nil; j++ {
			locals += uint64(body.u32())
			body.byte()
		}
		if body.err != nil {
			return body.fail(fmt.Sprintf("locals of function %d", f.Index))
		}
		if locals > 1<<32-1 {
			return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("function %d declares %d locals", f.Index, locals)}
		}
		f.Locals = int(locals)
		f.Code = body.b[body.pos:]
		if len(f.Code) == 0 || f.Code[len(f.Code)-1] != 0x0b {
			return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("body of function %d does not end with end (0x0b)", f.Index)}
		}
		d.m.Funcs = append(d.m.Funcs, f)
	}
	return r.done()
}

// names reads the module and function names of the "name" custom section.
func (d *decoder) names(r *reader) {
	for r.pos < len(r.b) && r.err == nil {
		id := r.byte()
		size := r.u32()
		if r.err != nil || uint64(r.pos)+uint64(size) > uint64(len(r.b)) {
			return
		}
		sub := &reader{b: r.b[:r.pos+int(size)], pos: r.pos, section: r.section}
		r.pos += int(size)
		switch id {
		case 0:
			if name := sub.name(); sub.err == nil {
				d.m.Name = name
			}
		case 1:
			n := sub.count()
			for i := uint32(0); i < n && sub.err == nil; i++ {
				idx, name := sub.u32(), sub.name()
				if sub.err == nil && int(idx) < len(d.m.Funcs) {
					d.m.Funcs[idx].Name = name
				}
			}
		}
	}
}
