package session

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rain-wasm/rain/internal/units"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// builtinDoc documents a builtin for %help.
type builtinDoc struct {
	name, usage, summary string
}

// builtinDocs lists the builtins users call by name (Starlark's own, like len and range, are
// documented by Starlark).
func builtinDocs() []builtinDoc {
	return []builtinDoc{
		{"load_module", "load_module(path, name=None)", "load a Wasm module, as %load does, and return it"},
		{"wat", "wat(text, name=\"wat\")", "assemble WebAssembly text and load it"},
		{"nodes", "nodes()", "the cluster's nodes, as a table"},
		{"pmap", "pmap(f, inputs, chunk=None, retries=0, nodes=None, out=None, wait=True, args=(), keep=False)", "run a Wasm function over inputs on every node (or nodes=[IDs] / a number of them); results in input order; no chunk: sized from measured cost; out=zeros(shape, dtype) gives each task an output array as its last argument, the results are those arrays and .stack() makes one of them; over a scattered array d, calls f(part, n, *args[, out]) on the node of each part (out=\"like\": an output shaped as the part), and keep=True leaves the outputs there as a new scattered array"},
		{"pmap_async", "pmap_async(f, inputs, chunk=None, retries=0, nodes=None, out=None)", "pmap in the background: a handle with .done(), .progress(), .wait(timeout=None), .cancel(), and (index, result) pairs as tasks finish"},
		{"broadcast", "broadcast(f, *args)", "run f(*args) once on every node: a dict node → result"},
		{"sweep", "sweep(f, inputs, nodes=None, chunks=None)", "pmap over 1…N nodes (or nodes=[...]) and chunk sizes (None: auto): a table of throughput, speedup and efficiency"},
		{"grain", "grain(f, *args, runs=None, limit=2)", "measure f's cost per call against each node's dispatch overhead: ratio, efficiency, chunk for 90 %, verdict"},
		{"inspect", "inspect(m, func=None, sort=\"index\", all=False, limit=50, start=0, n=40)", "every function's size and static cost, or one function in detail"},
		{"sizes", "sizes(m, top=20)", "a bar chart of a module's largest functions"},
		{"speedup_plot", "speedup_plot(nodes, times, title=\"speedup\")", "speedup and efficiency against nodes, with the ideal and an Amdahl fit"},
		{"array", "array(values, dtype=None)", "an array of numbers: from a list (nested lists for 2-D), a range, bytes or a string (UTF-8, as u8), or an array; dtype u8, i32, i64, f32 or f64 (default i64 for ints, f64 for floats)"},
		{"zeros", "zeros(shape, dtype=\"f64\")", "an array of zeros; shape an int or a tuple, (H, W) for an image"},
		{"read_array", "read_array(path, dtype, shape=None)", "a file's bytes as an array of raw little-endian values"},
		{"read_image", "read_image(path)", "a PNG or PGM file as a u8 array: H×W grey, H×W×3 colour"},
		{"write_image", "write_image(a, path)", "write an array as .png or .pgm: u8 as is (grey, or H×W×3 colour), other numbers through the display's colour map"},
		{"scatter", "scatter(a, parts=None)", "keep an array on the nodes, in parts along its first axis (one per ready node by default), each on one node until free(d) or del d: pmap(f, d) then calls f(part, n) where each part is"},
		{"gather", "gather(d)", "bring a scattered array (from scatter or pmap(..., keep=True)) back from its nodes, as one array"},
		{"free", "free(d)", "drop a scattered array's parts from their nodes (del d, or assigning d anew, does it too)"},
		{"display", "display(value)", "show a value now, as a cell's last value would be shown"},
		{"clear_output", "clear_output(wait=False)", "clear the cell's output"},
		{"input", "input(prompt=\"\")", "ask the user for a line of text"},
		{"help", "help(x)", "explain a magic, builtin, module or function"},
		{"print", "print(*args, sep=\" \")", "print to the cell's output"},
		{"sum", "sum(values, start=0)", "the sum of numbers (a list, a map's results, an array), as Python's sum"},
	}
}

func (s *Session) newBuiltins() starlark.StringDict {
	b := func(name string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, fn)
	}
	d := starlark.StringDict{
		"__rain_load":    b("load", s.builtinRainLoad),
		"__rain_magic":   b("magic", s.builtinMagic),
		"__rain_time":    b("time", builtinTime),
		"__rain_timeit":  b("timeit", builtinTimeit),
		"__rain_help":    b("help", s.builtinHelp),
		"load_module":    b("load_module", s.builtinLoadModule),
		"wat":            b("wat", s.builtinWat),
		"nodes":          b("nodes", s.builtinNodes),
		"pmap":           b("pmap", s.builtinPmap),
		"pmap_async":     b("pmap_async", s.builtinPmapAsync),
		"broadcast":      b("broadcast", s.builtinBroadcast),
		"grain":          b("grain", s.builtinGrain),
		"sweep":          b("sweep", s.builtinSweep),
		"__rain_grain":   b("grain", s.builtinGrain), // %grain, even if the user rebinds grain
		"inspect":        b("inspect", s.builtinInspect),
		"sizes":          b("sizes", s.builtinSizes),
		"speedup_plot":   b("speedup_plot", builtinSpeedupPlot),
		"__rain_inspect": b("inspect", s.builtinInspect), // %inspect, even if the user rebinds inspect
		"display":        b("display", builtinDisplay),
		"clear_output":   b("clear_output", builtinClearOutput),
		"input":          b("input", builtinInput),
		"help":           b("help", s.builtinHelp),
		"read_array":     b("read_array", s.builtinReadArray),
		"read_image":     b("read_image", s.builtinReadImage),
		"write_image":    b("write_image", s.builtinWriteImage),
		"scatter":        b("scatter", s.builtinScatter),
		"gather":         b("gather", s.builtinGather),
		"free":           b("free", s.builtinFree),
		"__rain_del":     b("del", builtinDel),
		"sum":            b("sum", builtinSum),
	}
	for name, v := range array.Builtins() { // array, zeros
		d[name] = v
	}
	return d
}

// load decodes a module, starts shipping it to the nodes, validates it here meanwhile, and
// announces it: it returns once the module is valid, while the nodes go on receiving and
// compiling it (a call waits for a node that has it). The module is decoded once: the client
// ships that value and the inspector analyses it, so its bytes are kept in one place. A
// module loaded before is not validated again, and its first decoding is the one kept.
func (s *Session) load(thread *starlark.Thread, bin []byte, name string) (*Module, error) {
	mod, err := wasm.Decode(bin)
	if err != nil {
		return nil, err
	}
	return s.loadDecoded(thread, mod, name)
}

// loadDecoded is load of a module decoded already.
func (s *Session) loadDecoded(thread *starlark.Thread, mod *wasm.Module, name string) (*Module, error) {
	ctx := threadContext(thread)
	var info *wasm.Info
	if old, ok := s.modules[mod.SHA256]; ok {
		mod, info = old.mod, old.info
	}
	s.waitLocalNodes(ctx)
	l, err := s.client.StartLoad(mod)
	if err != nil {
		return nil, err
	}
	if info == nil {
		if info, err = mod.Describe(); err != nil {
			l.Cancel()
			return nil, err
		}
	}
	m := s.newModule(name, mod, info)
	s.modules[mod.SHA256] = m
	s.client.NameModule(mod.SHA256, name)
	s.showLoad(ctx, threadOutput(thread), newLoadView(name, m.summary(), l))
	return m, nil
}

// waitLocalNodes gives local nodes that are still starting a moment to come up, so that a
// module is shipped to all of them at once.
func (s *Session) waitLocalNodes(ctx context.Context) {
	want := 1
	if s.local != nil {
		want = s.opts.nodes
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_ = s.client.WaitNodes(wctx, want)
}

// readModule reads a .wasm file named in a cell, relative to the session's directory.
func (s *Session) readModule(path string) ([]byte, error) {
	path = s.cellPath(path)
	bin, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, usageError("no such file: %s", path)
		}
		return nil, usageError("cannot read %s: %v", path, err)
	}
	return bin, nil
}

func (s *Session) builtinRainLoad(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, name string
	if err := unpackPositional("%load", args, kwargs, 2, &path, &name); err != nil {
		return nil, err
	}
	return s.loadFile(thread, path, name)
}

func (s *Session) builtinLoadModule(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var name starlark.Value = starlark.None
	if err := unpackArgs(b.Name(), args, kwargs, "path", &path, "name?", &name); err != nil {
		return nil, err
	}
	n := moduleName(path)
	if s, ok := name.(starlark.String); ok {
		n = string(s)
	}
	return s.loadFile(thread, path, n)
}

// loadFile loads the module in the file at path, a path the user gave: its errors name it.
func (s *Session) loadFile(thread *starlark.Thread, path, name string) (starlark.Value, error) {
	bin, err := s.readModule(path)
	if err != nil {
		return nil, err
	}
	m, err := s.load(thread, bin, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func (s *Session) builtinWat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	name := "wat"
	if err := unpackArgs(b.Name(), args, kwargs, "text", &text, "name?", &name); err != nil {
		return nil, err
	}
	bin, err := s.compiler.build(threadContext(thread), langWAT, text, nil)
	if err != nil {
		return nil, err
	}
	return s.load(thread, bin, name)
}

// cellCompiled is the runCell of a language's magic: %%MAGIC NAME, or %%MAGIC NAME [FLAGS...]
// where the compiler takes flags. It builds the cell (or finds it built), and binds NAME to the
// module. NAME may be bound again by the same magic (a cell edited and run again), not by
// another: a builtin, or a module loaded otherwise, keeps its name.
func (s *Session) cellCompiled(lang *language, flags bool) func(*starlark.Thread, string, string) (starlark.Value, error) {
	return func(thread *starlark.Thread, args, body string) (starlark.Value, error) {
		f := strings.Fields(args)
		if len(f) == 0 || !identifier.MatchString(f[0]) || !flags && len(f) > 1 {
			usage := "NAME"
			if flags {
				usage = "NAME [FLAGS...]"
			}
			return nil, usageError("usage: %%%%%s %s, then the source on the next lines (NAME: letters, digits, _)", lang.magic, usage)
		}
		name, origin := f[0], "%%"+lang.magic
		if err := s.checkCellName(name, origin); err != nil {
			return nil, err
		}
		bin, err := s.compiler.build(threadContext(thread), lang, body, f[1:])
		if err != nil {
			return nil, err
		}
		mod, err := wasm.Decode(bin)
		if err != nil {
			return nil, err
		}
		if err := checkExports(lang, mod); err != nil {
			return nil, err
		}
		m, err := s.loadDecoded(thread, mod, name)
		if err != nil {
			return nil, err
		}
		m.origin = origin
		s.mu.Lock()
		s.globals[name] = m
		s.mu.Unlock()
		return nil, nil
	}
}

// checkCellName refuses to bind a cell's module to the name of a builtin or of a module that
// did not come from the same magic.
func (s *Session) checkCellName(name, origin string) error {
	if _, ok := s.builtin[name]; ok {
		return usageError("%s is a builtin: give the %s cell another name", name, origin)
	}
	s.mu.Lock()
	old, ok := s.globals[name].(*Module)
	s.mu.Unlock()
	if ok && old.origin != origin {
		from := "loaded from a file"
		if old.origin != "" {
			from = "built by " + old.origin
		}
		return usageError("%s is a module %s: give the %s cell another name, or set %s = None first", name, from, origin, name)
	}
	return nil
}

func (s *Session) builtinMagic(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, rest string
	if err := unpackPositional("magic", args, kwargs, 2, &name, &rest); err != nil {
		return nil, err
	}
	return s.magics[name].run(thread, strings.TrimSpace(rest))
}

// timed calls fn and measures it.
func timed(thread *starlark.Thread, fn starlark.Callable) (starlark.Value, time.Duration, error) {
	start := time.Now()
	v, err := starlark.Call(thread, fn, nil, nil)
	return v, time.Since(start), err
}

func builtinTime(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var src string
	if err := unpackPositional("%time", args, kwargs, 2, &fn, &src); err != nil {
		return nil, err
	}
	v, d, err := timed(thread, fn)
	if err != nil {
		return nil, err
	}
	threadOutput(thread).Stream("stdout", "Wall time: "+units.Duration(d)+"\n")
	return v, nil
}

func builtinTimeit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var src string
	var loops, runs int
	if err := unpackPositional("%timeit", args, kwargs, 4, &fn, &src, &loops, &runs); err != nil {
		return nil, err
	}
	run := func(n int) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < n; i++ {
			if _, err := starlark.Call(thread, fn, nil, nil); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	if loops == 0 { // as IPython: the first power of ten whose run takes 0.2 s
		for loops = 1; ; loops *= 10 {
			d, err := run(loops)
			if err != nil {
				return nil, err
			}
			if d >= 200*time.Millisecond || loops >= 1_000_000 {
				break
			}
		}
	}
	per := make([]float64, runs)
	for i := range per {
		d, err := run(loops)
		if err != nil {
			return nil, err
		}
		per[i] = float64(d) / float64(loops)
	}
	mean, sd := meanStd(per)
	line := fmt.Sprintf("%s ± %s per loop (mean ± std. dev. of %d run%s, %d loop%s each)\n",
		units.Duration(time.Duration(mean)), units.Duration(time.Duration(sd)), runs, plural(runs), loops, plural(loops))
	threadOutput(thread).Stream("stdout", line)
	return starlark.None, nil
}

func meanStd(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	if len(xs) > 1 {
		sd = math.Sqrt(sd / float64(len(xs)-1))
	}
	return mean, sd
}

func (s *Session) magicWho(thread *starlark.Thread, args string) (starlark.Value, error) {
	if args != "" {
		return nil, usageError("%%who takes no arguments")
	}
	s.mu.Lock()
	names := s.userNames()
	s.mu.Unlock()
	if len(names) == 0 {
		threadOutput(thread).Stream("stdout", "Interactive namespace is empty.\n")
		return starlark.None, nil
	}
	threadOutput(thread).Stream("stdout", strings.Join(names, "\t")+"\n")
	return starlark.None, nil
}

func builtinDisplay(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, usageError("display takes no keyword arguments: display(value, ...)")
	}
	for _, v := range args {
		threadOutput(thread).Display(display.Of(v), "", false)
	}
	return starlark.None, nil
}

func builtinClearOutput(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wait := false
	if err := unpackArgs(b.Name(), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	threadOutput(thread).Clear(wait)
	return starlark.None, nil
}

func builtinInput(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	prompt := ""
	password := false
	if err := unpackArgs(b.Name(), args, kwargs, "prompt?", &prompt, "password?", &password); err != nil {
		return nil, err
	}
	line, err := threadOutput(thread).Input(prompt, password)
	if err != nil {
		return nil, err
	}
	return starlark.String(line), nil
}

// builtinSum is Python's sum, which Starlark lacks: start plus each value, in order.
func builtinSum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var values starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := unpackArgs(b.Name(), args, kwargs, "values", &values, "start?", &acc); err != nil {
		return nil, err
	}
	it := values.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		var err error
		if acc, err = starlark.Binary(syntax.PLUS, acc, x); err != nil {
			return nil, usageError("sum: %v: sum takes numbers", err)
		}
	}
	return acc, nil
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
