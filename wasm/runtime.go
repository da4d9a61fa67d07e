package wasm

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Runtime compiles and instantiates modules, keeping one instance per module.
type Runtime struct {
	rt     wazero.Runtime // the interpreter's when tiered, else the one engine's
	fast   wazero.Runtime // the compiler's when tiered, else nil
	engine string         // EngineCompiler or EngineInterpreter: the engine calls end up on
	tier   Tier           // TierInterpreter wherever wazero has no compiler
	opts   options
	bg     sync.WaitGroup // background compilations
	hold   chan struct{}  // tests: background compilations wait for it before offering their code

	mu        sync.Mutex
	instances map[string]*Instance // by SHA-256
	runaways  atomic.Int64
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
	for _, g := range o.grants {
		if st, err := os.Stat(g.Host); err != nil {
			return nil, fmt.Errorf("wasm: directory for %s: %w", g.Guest, err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("wasm: directory for %s: %s is not a directory", g.Guest, g.Host)
		}
	}
	r := &Runtime{tier: o.tier, opts: o, instances: map[string]*Instance{}}
	if !compilerSupported() {
		r.tier = TierInterpreter
	}
	r.engine = r.tier.Engine()
	var err error
	switch r.tier {
	case TierAuto:
		// Calls start on the interpreter (no cache: it compiles fast) and move to the compiler's.
		if r.rt, err = newWazero(ctx, EngineInterpreter, "", o); err != nil {
			return nil, err
		}
		if r.fast, err = newWazero(ctx, EngineCompiler, o.cacheDir, o); err != nil {
			r.rt.Close(ctx)
			return nil, err
		}
	default:
		if r.rt, err = newWazero(ctx, r.engine, o.cacheDir, o); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// newWazero returns a wazero runtime for engine, with WASI, configured by o (but for its cache
// directory: the interpreter's tier has none).
func newWazero(ctx context.Context, engine, cacheDir string, o options) (wazero.Runtime, error) {
	var cfg wazero.RuntimeConfig
	if engine == EngineCompiler {
		cfg = wazero.NewRuntimeConfigCompiler()
	} else {
		cfg = wazero.NewRuntimeConfigInterpreter()
	}
	cfg = cfg.WithCloseOnContextDone(o.stoppable).WithMemoryLimitPages(o.memLimit.pages())
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	return rt, nil
}

// Engine is the engine this runtime's calls end up on: the compiler when tiered.
func (r *Runtime) Engine() string { return r.engine }

// Tier is how this runtime compiles, as WithTier asked: TierInterpreter wherever wazero has no
// compiler for the platform.
func (r *Runtime) Tier() Tier { return r.tier }

// Close releases everything the runtime compiled and instantiated, once background
// compilations have finished.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.instances = map[string]*Instance{}
	r.mu.Unlock()
	r.bg.Wait()
	err := r.rt.Close(ctx)
	if r.fast != nil {
		if ferr := r.fast.Close(ctx); err == nil {
			err = ferr
		}
	}
	return err
}

// Load compiles and instantiates a module, calling _initialize if the module exports it (a
// reactor); a command's _start is not called, but may be called as an export. Output written
// during _initialize goes to stdout and stderr (either may be nil to discard it).
//
// A runtime keeps one instance per module: loading the same bytes again returns the instance
// already loaded. Errors are those of Decode and Describe. With TierAuto the module is callable on the
// interpreter when Load returns, and on compiled code once the background compiler is done
// (see the package comment's Tiers).
func (r *Runtime) Load(ctx context.Context, bin []byte, stdout, stderr io.Writer) (*Instance, error) {
	m, err := Decode(bin)
	if err != nil {
		return nil, err
	}
	if err := checkImports(m.Imports); err != nil {
		return nil, err
	}
	info := m.info()

	r.mu.Lock()
	defer r.mu.Unlock()
	if inst, ok := r.instances[info.SHA256]; ok {
		return inst, nil
	}
	start := time.Now()
	prepared, globals, err := exportMutableGlobals(bin)
	if err != nil {
		return nil, err
	}
	if lim := r.opts.memLimit; lim != 0 && m.MemoryMin > uint64(lim)/PageSize {
		return nil, &MemoryLimitError{Min: m.MemoryMin * PageSize, Limit: lim}
	}
	c, cacheHit, err := r.compileFirst(ctx, info.SHA256, prepared)
	if err != nil {
		return nil, err
	}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	if len(r.opts.grants) > 0 {
		fs := wazero.NewFSConfig()
		for _, g := range r.opts.grants {
			fs = fs.WithDirMount(g.Host, g.Guest)
		}
		cfg = cfg.WithFSConfig(fs)
	}
	inst := &Instance{rt: r, code: c, cfg: cfg, info: info, globals: globals}
	if err := inst.instantiate(ctx, stdout, stderr); err != nil {
		c.cm.Close(ctx)
		return nil, err
	}
	inst.tiers.begin(start, c, r.tier, cacheHit)
	if r.tier == TierAuto && c.tier == EngineInterpreter {
		r.compileInBackground(inst, prepared)
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

// MemoryLimit is the limit on each instance's memory, 0 for none (see WithMemoryLimit).
func (r *Runtime) MemoryLimit() MemoryLimit { return r.opts.memLimit }

// Runaways is the number of interrupted calls whose Wasm code is still running. Neither of
// wazero's engines checks for interruption at function calls, only at loop headers, so code
// that recurses without looping cannot be stopped in-process: Call returns when its context is
// done, but the code goes on, using a core, until it finishes or the process ends. A node with
// runaways should restart its process.
func (r *Runtime) Runaways() int { return int(r.runaways.Load()) }
