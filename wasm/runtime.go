package wasm

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Runtime compiles and instantiates modules, keeping one instance per module.
type Runtime struct {
	rt     wazero.Runtime
	engine string
	opts   options

	mu        sync.Mutex
	instances map[string]*Instance // by SHA-256
}

// NewRuntime returns a Runtime configured by opts. A call on one of its instances stops when
// the call's context is done.
func NewRuntime(ctx context.Context, opts ...Option) (*Runtime, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	for guest, host := range o.dirs {
		if st, err := os.Stat(host); err != nil {
			return nil, fmt.Errorf("wasm: directory for %s: %w", guest, err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("wasm: directory for %s: %s is not a directory", guest, host)
		}
	}
	var cfg wazero.RuntimeConfig
	if o.engine == EngineCompiler {
		cfg = wazero.NewRuntimeConfigCompiler()
	} else {
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
	cfg = cfg.WithCloseOnContextDone(true)
	if o.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(o.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", o.cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	return &Runtime{rt: rt, engine: o.engine, opts: o, instances: map[string]*Instance{}}, nil
}

// Engine is the engine this runtime compiles with.
func (r *Runtime) Engine() string { return r.engine }

// Close releases everything the runtime compiled and instantiated.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.instances = map[string]*Instance{}
	r.mu.Unlock()
	return r.rt.Close(ctx)
}

// Load compiles and instantiates a module, calling _initialize if the module exports it (a
// reactor); a command's _start is not called, but may be called as an export. Output written
// during _initialize goes to stdout and stderr (either may be nil to discard it).
//
// A runtime keeps one instance per module: loading the same bytes again returns the instance
// already loaded. Errors are those of Describe.
func (r *Runtime) Load(ctx context.Context, bin []byte, stdout, stderr io.Writer) (*Instance, error) {
	m, err := Decode(bin)
	if err != nil {
		return nil, err
	}
	if err := checkImports(m.Imports); err != nil {
		return nil, err
	}
	info := newInfo(bin, m)

	r.mu.Lock()
	defer r.mu.Unlock()
	if inst, ok := r.instances[info.SHA256]; ok {
		return inst, nil
	}
	cm, err := r.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	inst := &Instance{rt: r, cm: cm, info: info}
	inst.cfg = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(&inst.stdout).
		WithStderr(&inst.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	if len(r.opts.dirs) > 0 {
		fs := wazero.NewFSConfig()
		for guest, host := range r.opts.dirs {
			fs = fs.WithDirMount(host, guest)
		}
		inst.cfg = inst.cfg.WithFSConfig(fs)
	}
	inst.stdout.w, inst.stderr.w = stdout, stderr
	err = inst.instantiate(ctx)
	inst.stdout.w, inst.stderr.w = nil, nil
	if err != nil {
		cm.Close(ctx)
		return nil, err
	}
	r.instances[info.SHA256] = inst
	return inst, nil
}

// Lookup returns the instance of the module with the given SHA-256 (hex), if it is loaded.
func (r *Runtime) Lookup(sha256 string) (*Instance, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inst, ok := r.instances[sha256]
	return inst, ok
}

// Instance is one instantiated module. Its memory and globals carry over from one call to the
// next. Calls on an Instance are serialised.
//
// A call that is interrupted (its context done) or that exits (WASI proc_exit) closes the
// underlying module; the next call instantiates it afresh, with new memory and globals, and
// calls _initialize again for a reactor.
type Instance struct {
	rt   *Runtime
	cm   wazero.CompiledModule
	cfg  wazero.ModuleConfig
	info *Info

	mu     sync.Mutex
	mod    api.Module
	closed bool
	stdout switchWriter
	stderr switchWriter
}

// instantiate makes a fresh module instance and initialises a reactor. i.mu is held, or i is
// not yet shared.
func (i *Instance) instantiate(ctx context.Context) error {
	mod, err := i.rt.rt.InstantiateModule(ctx, i.cm, i.cfg)
	if err != nil {
		return fmt.Errorf("wasm: instantiate: %w", err)
	}
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			if err := asTrap("_initialize", err); err != nil {
				mod.Close(ctx)
				return err
			}
		}
	}
	i.mod = mod
	return nil
}

// Info describes the instance's module.
func (i *Instance) Info() *Info { return i.info }

// Call calls the export name with args encoded as wazero encodes them (see api.EncodeI32 and
// friends), writing WASI output to stdout and stderr (either may be nil to discard it).
//
// A trap is returned as a *Trap. A WASI proc_exit(0) is a success with no results. When ctx is
// done the call stops and its error wraps ctx.Err().
func (i *Instance) Call(ctx context.Context, name string, args []uint64, stdout, stderr io.Writer) ([]uint64, error) {
	f, ok := i.info.Export(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoExport, name)
	}
	if len(f.Params) != len(args) {
		return nil, fmt.Errorf("wasm: %s takes %d arguments, got %d", f, len(f.Params), len(args))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stdout.w, i.stderr.w = stdout, stderr
	defer func() { i.stdout.w, i.stderr.w = nil, nil }()
	if i.closed {
		return nil, fmt.Errorf("wasm: %s: %w", name, ErrClosed)
	}
	if i.mod == nil || i.mod.IsClosed() {
		if err := i.instantiate(ctx); err != nil {
			return nil, err
		}
	}
	res, err := i.mod.ExportedFunction(name).Call(ctx, args...)
	if err != nil {
		return nil, asTrap(name, err)
	}
	return res, nil
}

// Close frees the instance; loading its module again makes a new one.
func (i *Instance) Close(ctx context.Context) error {
	i.rt.mu.Lock()
	if i.rt.instances[i.info.SHA256] == i {
		delete(i.rt.instances, i.info.SHA256)
	}
	i.rt.mu.Unlock()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	var err error
	if i.mod != nil {
		err = i.mod.Close(ctx)
	}
	if cerr := i.cm.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// switchWriter sends WASI output to whichever writer the current call gave.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}
