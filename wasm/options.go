package wasm

import "fmt"

// Option configures a Runtime. Options are checked by NewRuntime, which reports the first
// error.
type Option func(*options) error

type options struct {
	tier      Tier
	tierMin   int // TierAuto compiles modules smaller than this at once
	cacheDir  string
	grants    []Grant
	stoppable bool
	memLimit  MemoryLimit
}

// defaults are the options of a Runtime given none.
func defaults() options {
	return options{tier: TierAuto, tierMin: defaultTierMin}
}

// WithTier selects how modules are compiled: TierAuto (the default) makes a module callable on
// the interpreter at once and switches to compiled code when the compiler, working in the
// background, is done — or compiles at once when the compiled code is in the cache directory;
// TierCompiler and TierInterpreter use that engine alone. Where wazero has no compiler for the
// platform, every tier is the interpreter alone. See the package comment for what a switch
// carries over.
func WithTier(t Tier) Option {
	return func(o *options) error {
		if err := t.check(); err != nil {
			return err
		}
		o.tier = t
		return nil
	}
}

// defaultTierMin is the size under which TierAuto skips the interpreter: wazero's compiler
// takes about 0.3 ms per KiB of module on a 2-core machine, so under 128 KiB the first result
// comes at most some 40 ms later, and every call runs at compiled speed — which is what a
// measurement made right after loading (a grain, a sweep) should see.
const defaultTierMin = 128 << 10

// WithTierMinSize sets the module size, in bytes, under which TierAuto compiles with the
// compiler at once rather than starting on the interpreter. The default is 128 KiB; 0 tiers
// every module.
func WithTierMinSize(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("wasm: tier minimum size %d", n)
		}
		o.tierMin = n
		return nil
	}
}

// WithCacheDir keeps compiled code in dir across runs (and across runtimes sharing dir). The
// default is no on-disk cache.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithGrant lets WASI modules see a host directory (see Grant); NewRuntime checks that it is
// one. It may be given more than once. By default a module sees no host files.
func WithGrant(g Grant) Option {
	return func(o *options) error { o.grants = append(o.grants, g); return nil }
}

// WithStoppable makes calls stop at their next loop header when their context is done
// (wazero's close-on-context-done). The default is off: the check slows compiled loops many
// times over, and it cannot stop recursion without a loop anyway, so Rain's nodes stop a
// runaway call by ending the worker process that runs it instead.
func WithStoppable(on bool) Option {
	return func(o *options) error { o.stoppable = on; return nil }
}

// WithMemoryLimit bounds the linear memory of every instance (see MemoryLimit), rounded down
// to whole 64 KiB pages. The default, 0, is no limit but Wasm's own 4 GiB: a node sets one to
// keep a module from taking its machine's memory.
func WithMemoryLimit(m MemoryLimit) Option {
	return func(o *options) error {
		if m > maxMemory || (m != 0 && m < PageSize) {
			return fmt.Errorf("wasm: memory limit of %d bytes: use 64 KiB to 4 GiB, or 0 for none", uint64(m))
		}
		o.memLimit = m / PageSize * PageSize
		return nil
	}
}

// DefaultEngine is the engine calls end up on by default, TierAuto.Engine(): the compiler where
// wazero supports the platform, the interpreter elsewhere.
func DefaultEngine() string { return TierAuto.Engine() }
