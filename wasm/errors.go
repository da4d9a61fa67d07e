package wasm

import (
	"errors"
	"fmt"
)

var (
	// ErrNotWasm is returned for bytes that do not start with the WebAssembly magic number.
	ErrNotWasm = errors.New("wasm: not a WebAssembly module (bad magic)")

	// ErrInvalid is returned (wrapped, or matched by a *DecodeError) for a module that is
	// truncated, malformed, or fails validation.
	ErrInvalid = errors.New("wasm: invalid module")

	// ErrImport is returned (wrapped) for a module that imports from anything but
	// wasi_snapshot_preview1: no node provides such imports. The message names the import.
	ErrImport = errors.New("wasm: unresolvable import")

	// ErrNoExport is returned (wrapped) when a call names a function the module does not export.
	ErrNoExport = errors.New("wasm: no such export")

	// ErrClosed is returned (wrapped) by a call on an Instance after its Close.
	ErrClosed = errors.New("wasm: instance closed")
)

// DecodeError is a malformed or truncated module, with the byte offset where decoding failed.
// errors.Is(err, ErrInvalid) holds for it.
type DecodeError struct {
	Offset  int    // in the binary
	Section string // "type", "code", ...; empty for the header and section framing
	Msg     string
}

func (e *DecodeError) Error() string {
	where := fmt.Sprintf("at byte %d", e.Offset)
	if e.Section != "" {
		where += " (" + e.Section + " section)"
	}
	return fmt.Sprintf("wasm: invalid module %s: %s", where, e.Msg)
}

// Is makes errors.Is(err, ErrInvalid) true for a *DecodeError.
func (e *DecodeError) Is(target error) bool { return target == ErrInvalid }

// ImportError is an import no node provides: anything not from wasi_snapshot_preview1.
// errors.Is(err, ErrImport) holds for it.
type ImportError struct {
	Import Import
}

func (e *ImportError) Error() string {
	what := ""
	if e.Import.Kind != "func" {
		what = " (a " + e.Import.Kind + ")"
	}
	return fmt.Sprintf("wasm: module imports %s.%s%s, which no node provides", e.Import.Module, e.Import.Name, what)
}

// Is makes errors.Is(err, ErrImport) true for an *ImportError.
func (e *ImportError) Is(target error) bool { return target == ErrImport }

// checkImports returns an *ImportError for the first import no node can provide.
func checkImports(imports []Import) error {
	for _, imp := range imports {
		if imp.Module != wasiModule {
			return &ImportError{Import: imp}
		}
	}
	return nil
}
