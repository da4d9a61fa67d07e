// Package wasm decodes WebAssembly modules and runs them on wazero.
//
// Decode reads the structure of a binary with our own decoder: types, imports, functions
// (where each body lies, its locals and its code), exports and the names of the "name"
// section. Describe validates a module and reports what a user needs to call it: its exports
// with their signatures, its imports, its size and its SHA-256. Errors carry the "wasm: "
// prefix and match the sentinels ErrNotWasm, ErrInvalid (a *DecodeError gives the byte offset)
// and ErrImport (an *ImportError names it): a module may import only from
// wasi_snapshot_preview1.
//
// A Runtime compiles and instantiates modules (compiler or interpreter engine, with an on-disk
// compilation cache) and an Instance calls their exports with raw uint64 values as wazero
// encodes them (see api.EncodeI32 and friends).
//
// A module instance lives as long as the node that loaded it: a runtime keeps one instance per
// module, and memory and globals carry over from one call to the next, as they would in a
// process. Reactor modules (those that export _initialize) have it called once, at
// instantiation. Command modules (those that export _start) are not started; _start may be
// called as an export, and a proc_exit(0) in it is a success.
//
// WASI output is captured per call: each call gives its own stdout and stderr writers. A
// module sees no host files unless WithDir grants a directory, and it reads the host's clocks
// and random numbers.
//
// A trap is returned as a *Trap whose Error is one line ("wasm: trap in fib: integer divide by
// zero") and whose Stack lists the Wasm frames by name. A call whose context is done returns
// at once; with WithStoppable its code stops at its next loop header, and the instance is made
// afresh at the next call. Code that recurses without looping, or any code without
// WithStoppable, cannot be stopped in-process: it runs on, Runtime.Runaways counts it, and a
// node restarts its worker process.
package wasm
