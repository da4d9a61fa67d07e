// Package wasm decodes WebAssembly modules and runs them on wazero.
//
// Decode reads a binary once, with our own decoder, into a Module: the binary itself and its
// SHA-256, its types, imports, functions (where each body lies, its locals and its code),
// exports and the names of the "name" section. A client decodes a module once and shares that
// value: Module.Describe validates it and reports what a user needs to call it (its exports
// with their signatures, its imports, its size and its SHA-256), Analyze measures its
// functions, and Module.Bytes is what is shipped to the nodes. Errors carry the "wasm: "
// prefix and match the sentinels ErrNotWasm, ErrInvalid (a *DecodeError gives the byte offset)
// and ErrImport (an *ImportError names it): a module may import only from
// wasi_snapshot_preview1.
//
// A Runtime compiles and instantiates modules (compiler or interpreter engine, with an on-disk
// compilation cache) and an Instance calls their exports with raw uint64 values as wazero
// encodes them (see api.EncodeI32 and friends).
//
// # Tiers
//
// By default (WithTier(TierAuto), where wazero has a compiler for the platform) Load makes a
// module callable on wazero's interpreter, which compiles even a 2 MB module in tens of
// milliseconds, and compiles it with wazero's compiler in the background, in a second wazero
// runtime that shares the on-disk compilation cache. The first call after the compiled code is
// ready switches the instance to it. When the cache directory already holds the compiled code
// (a marker file per module SHA-256 under rain-compiled/ says so: wazero's cache has no
// lookup), Load compiles with the compiler at once, which then takes milliseconds, and the
// interpreter tier is skipped; so it is for a module under 128 KiB (WithTierMinSize), which
// the compiler compiles in tens of milliseconds. Instance.Tier says which engine ran the last call, and
// Runtime.Tiers each module's state (interpreter, compiling, compiled) with its times.
//
// A switch never changes a result: the instance is one per module, so its state moves with
// it. At the switch the compiled module is instantiated without _initialize, linear memory is
// copied over (grown to the same size) and so is every mutable global. wazero reaches only
// exported globals, so before compiling either tier Load rewrites the module to also export
// each mutable global N of a numeric type as "__rain_global_N" (Info shows the module as the
// user gave it). Not carried: tables changed at run time (table.set, table.grow, elem.drop),
// mutable globals of reference or v128 type, dropped data segments, and WASI state beyond
// memory — files a module opened through a granted directory are closed; stdout and stderr
// are the call's writers anyway. A module with a start section runs it again, output
// discarded, before its state is overwritten. A compilation or switch that fails leaves the
// module on the interpreter, with the reason in ModuleTier.Err.
//
// A module instance lives as long as the node that loaded it: a runtime keeps one instance per
// module, and memory and globals carry over from one call to the next, as they would in a
// process. Reactor modules (those that export _initialize) have it called once, at
// instantiation. Command modules (those that export _start) are not started; _start may be
// called as an export, and a proc_exit(0) in it is a success.
//
// WASI output is captured per call: each call gives its own stdout and stderr writers. A
// module sees no host files unless WithGrant grants a directory, and it reads the host's clocks
// and random numbers.
//
// # Arrays
//
// Instance.CallBuffers passes arrays by pointer, as C takes them: each Buffer is bytes bound to
// an i32 parameter. The instance allocates room for it in its linear memory through the
// module's allocator, copies the bytes there, passes the pointer, and once the function
// returns copies back what it left there (Buffer.Changed says whether that changed anything;
// a Buffer.ReadOnly is left as it was, with no pass over it) and frees the room: calls with arrays, however many, do not grow the memory. The allocator
// is found by its exports (Info.Allocator): malloc(i32) i32 and free(i32), as C compiled with
// wasi-libc exports them when linked with -Wl,--export=malloc,--export=free, or else
// cabi_realloc(i32,i32,i32,i32) i32, as the component model's toolchains export it
// (cabi_realloc(0, 0, align, size) allocates, cabi_realloc(ptr, size, align, 0) frees). A
// module with neither gets an error that says what to export (ErrNoAllocator); a buffer the
// memory cannot hold an *AllocError that names its size and the limit; a pointer outside the
// memory, or not aligned as asked, ErrBadPointer. Buffers are allocated at each call, after any
// tier switch, so they live in whichever tier's memory the call runs on.
//
// WithMemoryLimit bounds each instance's linear memory (the default is Wasm's own 4 GiB): a
// memory.grow past it returns -1, and a module whose memory starts larger fails to load with a
// *MemoryLimitError. Programs mostly turn a failed grow into a trap that says nothing of
// memory, so a trap while the memory is at or near the limit names the limit in its message
// and matches ErrMemoryLimit. The instance stays usable, its memory as large as it got.
//
// A trap is returned as a *Trap whose Error is one line ("wasm: trap in fib: integer divide by
// zero") and whose Stack lists the Wasm frames by name. A call whose context is done returns
// at once; with WithStoppable its code stops at its next loop header, and the instance is made
// afresh at the next call. Code that recurses without looping, or any code without
// WithStoppable, cannot be stopped in-process: it runs on, Runtime.Runaways counts it, and a
// node restarts its worker process.
package wasm
