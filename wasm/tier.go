package wasm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// States of a module's tiers, as ModuleTier.State reports them.
const (
	// StateInterpreter: calls run on the interpreter, and nothing better is coming (the
	// interpreter tier alone, or a failed compilation).
	StateInterpreter = "interpreter"
	// StateCompiling: calls run on the interpreter while the compiler works in the background.
	StateCompiling = "compiling"
	// StateCompiled: compiled code is ready; the next call runs on it (or already did).
	StateCompiled = "compiled"
)

// ModuleTier is the tier state of one loaded module.
type ModuleTier struct {
	SHA256   string
	State    string        // StateInterpreter, StateCompiling or StateCompiled
	Tier     string        // the engine calls run on now: EngineInterpreter or EngineCompiler
	CacheHit bool          // compiled code came from the cache directory: no interpreter tier
	Loaded   time.Time     // when Load began
	Ready    time.Duration // from Load to callable
	Compiled time.Duration // from Load to compiled code ready; 0 before, or without a compiler
	Err      error         // why the background compilation failed (calls stay interpreted)
}

// code is a module compiled by one engine in one wazero runtime.
type code struct {
	rt   wazero.Runtime
	cm   wazero.CompiledModule
	tier string // EngineCompiler or EngineInterpreter
}

// tierState is what the background compiler shares with an instance. Its own mutex keeps the
// compiler from waiting for a long call, which holds Instance.mu.
type tierState struct {
	mu       sync.Mutex
	st       ModuleTier
	next     *code // compiled code the next call switches to
	switched bool  // the instance runs on compiled code
	closed   bool
}

func (t *tierState) begin(start time.Time, c *code, mode Tier, cacheHit bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Loaded, t.st.Ready, t.st.Tier = start, time.Since(start), c.tier
	switch {
	case c.tier == EngineCompiler:
		t.st.State, t.st.Compiled, t.switched = StateCompiled, t.st.Ready, true
		t.st.CacheHit = cacheHit
	case mode == TierAuto:
		t.st.State = StateCompiling
	default:
		t.st.State = StateInterpreter
	}
}

// close frees compiled code nobody switched to, and tells the compiler to drop its result.
func (t *tierState) close(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.next != nil {
		t.next.cm.Close(ctx)
		t.next = nil
	}
}

// markerDir holds one empty file per module the compiler has compiled into the cache
// directory: wazero's cache has no lookup, and Load must know before compiling whether the
// compiler would be fast (a hit) or slow.
func (r *Runtime) marker(sha string) string {
	if r.opts.cacheDir == "" {
		return ""
	}
	return filepath.Join(r.opts.cacheDir, "rain-compiled", sha+"-"+runtime.GOOS+"-"+runtime.GOARCH)
}

func (r *Runtime) markCompiled(sha string) {
	if m := r.marker(sha); m != "" {
		if err := os.MkdirAll(filepath.Dir(m), 0o755); err == nil {
			os.WriteFile(m, nil, 0o644)
		}
	}
}

// compileFirst compiles the tier a module is first called on: the compiler's when tiering is
// off, the module is small or the compiled code is in the cache (a cache hit), else the
// interpreter's.
func (r *Runtime) compileFirst(ctx context.Context, sha string, bin []byte) (c *code, cacheHit bool, err error) {
	c = &code{rt: r.rt, tier: r.engine}
	if r.tier == TierAuto {
		c.tier = EngineInterpreter
		if m := r.marker(sha); m != "" {
			if _, err := os.Stat(m); err == nil {
				c.rt, c.tier, cacheHit = r.fast, EngineCompiler, true
			}
		}
		if len(bin) < r.opts.tierMin {
			c.rt, c.tier = r.fast, EngineCompiler
		}
	}
	cm, err := c.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.cm = cm
	if c.tier == EngineCompiler {
		r.markCompiled(sha)
	}
	return c, cacheHit, nil
}

// compileInBackground compiles bin with the compiler and offers the code to inst.
func (r *Runtime) compileInBackground(inst *Instance, bin []byte) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		background()
		ctx := context.Background()
		cm, err := r.fast.CompileModule(ctx, bin)
		if r.hold != nil {
			<-r.hold
		}
		t := &inst.tiers
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case err != nil:
			t.st.State, t.st.Err = StateInterpreter, fmt.Errorf("wasm: compiler: %w", err)
		case t.closed:
			cm.Close(ctx)
		default:
			t.next = &code{rt: r.fast, cm: cm, tier: EngineCompiler}
			t.st.State, t.st.Compiled = StateCompiled, time.Since(t.st.Loaded)
		}
		if err == nil {
			r.markCompiled(inst.info.SHA256)
		}
	}()
}

// upgrade switches the instance to compiled code if it is ready, carrying the live instance's
// memory and mutable globals over. A switch that fails leaves the instance on the interpreter
// for good, with the reason in its ModuleTier.Err. i.mu is held.
func (i *Instance) upgrade(ctx context.Context) {
	t := &i.tiers
	t.mu.Lock()
	next := t.next
	t.next = nil
	t.mu.Unlock()
	if next == nil {
		return
	}
	var err error
	if l := i.live; l != nil && !l.mod.IsClosed() {
		var mod api.Module
		mod, err = next.rt.InstantiateModule(ctx, next.cm, i.cfg.WithStdout(&l.stdout).WithStderr(&l.stderr))
		if err == nil {
			if err = carry(l.mod, mod, i.globals); err == nil {
				l.mod.Close(ctx)
				l.mod, l.fns, l.alloc = mod, nil, nil
			} else {
				mod.Close(ctx)
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		next.cm.Close(ctx)
		t.st.State, t.st.Err = StateInterpreter, fmt.Errorf("wasm: tier switch: %w", err)
		return
	}
	i.code.cm.Close(ctx) // safe with a runaway still on an instance of it
	i.code = next
	t.st.Tier, t.switched = EngineCompiler, true
}

// memory is a module's linear memory, or nil when it has none: wazero gives a module without
// memory a nil *MemoryInstance inside a non-nil api.Memory.
func memory(m api.Module) api.Memory {
	mem := m.Memory()
	if mem == nil {
		return nil
	}
	if v := reflect.ValueOf(mem); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return mem
}

// carry copies linear memory and the exported mutable globals from one instance of a module
// to another.
func carry(from, to api.Module, globals []string) error {
	if fm := memory(from); fm != nil {
		tm := memory(to)
		if tm == nil {
			return errors.New("no memory")
		}
		if fs, ts := fm.Size(), tm.Size(); fs > ts {
			if _, ok := tm.Grow((fs - ts) / 65536); !ok {
				return fmt.Errorf("cannot grow memory to %d bytes", fs)
			}
		} else if fs < ts {
			return fmt.Errorf("memory of %d bytes, %d on the new tier", fs, ts)
		}
		b, _ := fm.Read(0, fm.Size())
		if !tm.Write(0, b) {
			return errors.New("memory write out of range")
		}
	}
	for _, name := range globals {
		fg := from.ExportedGlobal(name)
		tg, ok := to.ExportedGlobal(name).(api.MutableGlobal)
		if fg == nil || !ok {
			return fmt.Errorf("global %s missing", strings.TrimPrefix(name, globalExportPrefix))
		}
		tg.Set(fg.Get())
	}
	return nil
}

// Tier is the engine that ran the instance's last call (EngineInterpreter or EngineCompiler),
// or "" before its first call.
func (i *Instance) Tier() string {
	s, _ := i.last.Load().(string)
	return s
}

// TierState reports the module's tier state.
func (i *Instance) TierState() ModuleTier {
	t := &i.tiers
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	st.SHA256 = i.info.SHA256
	return st
}

// Tiers reports the tier state of every loaded module, by SHA-256.
func (r *Runtime) Tiers() []ModuleTier {
	r.mu.Lock()
	insts := make([]*Instance, 0, len(r.instances))
	for _, inst := range r.instances {
		insts = append(insts, inst)
	}
	r.mu.Unlock()
	out := make([]ModuleTier, 0, len(insts))
	for _, inst := range insts {
		out = append(out, inst.TierState())
	}
	slices.SortFunc(out, func(a, b ModuleTier) int { return strings.Compare(a.SHA256, b.SHA256) })
	return out
}

// WaitCompiled waits until the module's compiled code is ready (or its compilation failed),
// or ctx is done. It returns at once without a background compilation.
func (i *Instance) WaitCompiled(ctx context.Context) error {
	for {
		st := i.TierState()
		if st.State != StateCompiling {
			return st.Err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
