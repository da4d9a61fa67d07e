package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Option configures a Runtime.
type Option func(*options) error

type options struct {
	engine   string
	cacheDir string
	dirs     map[string]string // guest path → host path
}

// WithEngine selects EngineCompiler or EngineInterpreter. The default is the compiler where
// wazero supports the platform, the interpreter elsewhere.
func WithEngine(name string) Option {
	return func(o *options) error {
		switch name {
		case "", "auto":
			o.engine = DefaultEngine()
		case EngineCompiler, EngineInterpreter:
			o.engine = name
		default:
			return fmt.Errorf("wasm: unknown engine %q: use %q or %q", name, EngineCompiler, EngineInterpreter)
		}
		return nil
	}
}

// WithCacheDir keeps compiled code in dir across runs. The default is no on-disk cache.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithDir grants WASI modules access to the host directory host, seen by the guest as guest.
// By default a module sees no host files.
func WithDir(host, guest string) Option {
	return func(o *options) error {
		if o.dirs == nil {
			o.dirs = map[string]string{}
		}
		o.dirs[guest] = host
		return nil
	}
}

// DefaultEngine is the compiler where wazero supports the platform, the interpreter elsewhere.
func DefaultEngine() string {
	if compilerSupported() {
		return EngineCompiler
	}
	return EngineInterpreter
}

// Runtime compiles and instantiates modules.
type Runtime struct {
	rt     wazero.Runtime
	engine string
	opts   options
}

// NewRuntime returns a Runtime configured by opts.
func NewRuntime(ctx context.Context, opts ...Option) (*Runtime, error) {
	o := options{engine: DefaultEngine()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var cfg wazero.RuntimeConfig
	if o.engine == EngineCompiler {
		cfg = wazero.NewRuntimeConfigCompiler()
	} else {
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
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
	return &Runtime{rt: rt, engine: o.engine, opts: o}, nil
}

// Engine is the engine this runtime compiles with.
func (r *Runtime) Engine() string { return r.engine }

// Close releases everything the runtime compiled.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// Instance is one instantiated module. Calls on an Instance are serialised.
type Instance struct {
	mu     sync.Mutex
	mod    api.Module
	stdout switchWriter
	stderr switchWriter
}

// Load compiles and instantiates a module, calling _initialize if the module exports it.
// Output written during _initialize goes to stdout and stderr.
func (r *Runtime) Load(ctx context.Context, bin []byte, stdout, stderr io.Writer) (*Instance, error) {
	cm, err := r.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	inst := &Instance{}
	inst.stdout.w, inst.stderr.w = stdout, stderr
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(&inst.stdout).
		WithStderr(&inst.stderr)
	if len(r.opts.dirs) > 0 {
		fs := wazero.NewFSConfig()
		for guest, host := range r.opts.dirs {
			fs = fs.WithDirMount(host, guest)
		}
		cfg = cfg.WithFSConfig(fs)
	}
	mod, err := r.rt.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return nil, fmt.Errorf("wasm: instantiate: %w", err)
	}
	inst.mod = mod
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ctx); err != nil {
			mod.Close(ctx)
			return nil, fmt.Errorf("wasm: _initialize: %w", asTrap("_initialize", err))
		}
	}
	inst.stdout.w, inst.stderr.w = nil, nil
	return inst, nil
}

// Call calls the export name with args encoded as wazero encodes them, writing WASI output to
// stdout and stderr (either may be nil to discard it).
func (i *Instance) Call(ctx context.Context, name string, args []uint64, stdout, stderr io.Writer) ([]uint64, error) {
	fn := i.mod.ExportedFunction(name)
	if fn == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoExport, name)
	}
	if want := len(fn.Definition().ParamTypes()); want != len(args) {
		return nil, fmt.Errorf("wasm: %s takes %d arguments, got %d", name, want, len(args))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.stdout.w, i.stderr.w = stdout, stderr
	defer func() { i.stdout.w, i.stderr.w = nil, nil }()
	res, err := fn.Call(ctx, args...)
	if err != nil {
		return nil, asTrap(name, err)
	}
	return res, nil
}

// Close frees the instance.
func (i *Instance) Close(ctx context.Context) error { return i.mod.Close(ctx) }

// switchWriter sends WASI output to whichever writer the current call gave.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) {
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

// Errors.
var (
	// ErrInvalid is returned for bytes that are not a valid WebAssembly module.
	ErrInvalid = errors.New("wasm: invalid module")
	// ErrNoExport is returned when a call names a function the module does not export.
	ErrNoExport = errors.New("wasm: no such export")
)

// asTrap turns a wazero runtime error into a *Trap.
func asTrap(fn string, err error) error {
	return err // TODO: parse the message and stack into a *Trap
}
