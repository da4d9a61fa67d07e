// Package wasm decodes WebAssembly modules and runs them on wazero.
//
// Describe validates a module and reports what a user needs to call it: its exports with their
// signatures, its imports, its size and its SHA-256. A Runtime compiles and instantiates modules
// (compiler or interpreter engine, with an on-disk compilation cache) and an Instance calls their
// exports with raw uint64 values as wazero encodes them (see api.EncodeI32 and friends).
//
// A module instance lives as long as the node that loaded it: memory and globals carry over from
// one call to the next on the same node, as they would in a process. Reactor modules (those that
// export _initialize) have it called once, at instantiation.
package wasm
