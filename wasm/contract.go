package wasm

// CONTRACT — the API other packages code against. Implementations live in other files of this
// package; this file only declares types and signatures.

import (
	"github.com/tetratelabs/wazero/api"
)

// Engine names.
const (
	EngineCompiler    = "compiler"
	EngineInterpreter = "interpreter"
)

// Func describes one exported function.
type Func struct {
	Name    string
	Params  []api.ValueType
	Results []api.ValueType
}

// Import names one import of a module.
type Import struct {
	Module, Name string
	Kind         string // "func", "memory", "table", "global"
}

// Info is what Describe learns about a module.
type Info struct {
	SHA256    string // hex
	Size      int    // bytes
	Exports   []Func // exported functions, in export order
	Imports   []Import
	Functions int  // all functions, imported and defined
	WASI      bool // imports wasi_snapshot_preview1
	Reactor   bool // exports _initialize
	Command   bool // exports _start
}
