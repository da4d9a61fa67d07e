package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// errorCase is a cell that fails: the kind of its error, and words its one line holds.
type errorCase struct {
	code, kind, value string
}

// checkErrors runs each case's cell in a session that new makes, and checks its error's kind
// and that its message is one line holding the case's words.
func checkErrors(t *testing.T, new func(t *testing.T) *Session, cases []errorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.code, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			_, err := new(t).Exec(ctx, tt.code, &recorder{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			if e.Name != tt.kind || !strings.Contains(e.Value, tt.value) || strings.Contains(e.Value, "\n") {
				t.Errorf("got %s: %q, want %s: …%s… on one line", e.Name, e.Value, tt.kind, tt.value)
			}
		})
	}
}

// TestErrorKinds holds a bad input for every magic and builtin that needs no cluster, and a
// cell for each kind Starlark and the compilers give: each fails with the kind the package
// comment gives it, in one line.
func TestErrorKinds(t *testing.T) {
	withBasics := func(t *testing.T) *Session {
		s := offline(t)
		bindExample(t, s, "b", "basics.wasm")
		return s
	}
	checkErrors(t, withBasics, []errorCase{
		// What the user typed: magics.
		{"%frob", "UsageError", "unknown magic %frob"},
		{"%%frob x\nbody", "UsageError", "unknown cell magic %%frob"},
		{"x = 1\n%%wat m", "UsageError", "must be the first line"},
		{"%load a b c d", "UsageError", "usage: %load PATH [as NAME]"},
		{"%load x.wasm as 9x", "UsageError", "not a valid name"},
		{"%load nothing.wasm", "UsageError", "no such file"},
		{"%time", "UsageError", "give an expression"},
		{"x = %time y = 1", "UsageError", "assign once"},
		{"%timeit -n zero 1", "UsageError", "-n wants a positive number"},
		{"%help nothing_at_all", "UsageError", "nothing is called"},
		{"%who x", "UsageError", "%who takes no arguments"},
		{"%nodes x", "UsageError", "%nodes takes no arguments"},
		{"%cluster frob", "UsageError", "usage: %cluster"},
		{"%cluster connect http://127.0.0.1:4222", "UsageError", "the scheme must be nats, tls, ws or wss"},
		{"%cluster launch pbs 2", "UsageError", `unknown launcher "pbs": launch slurm|mpi|ssh|local`},
		{"%cluster launch slurm 0", "UsageError", `"0" nodes: N must be a whole number above 0`},
		{"%cluster stop slurm-1", "UsageError", `no job is called "slurm-1"`},
		{"%inspect", "UsageError", "usage: %inspect"},
		{"%inspect b sort=size", "UsageError", `cannot sort by "size"`},
		{"%grain", "UsageError", "usage: %grain"},
		{"%grain b.add 1 2 tries=3", "UsageError", `unknown option "tries=3"`},
		{"%%wat 9x\n(module)", "UsageError", "usage: %%wat NAME"},
		// What the user typed: a Wasm function's arguments, a module's exports.
		{"b.add(1)", "UsageError", "b.add(i32, i32) -> i32 takes 2 arguments, got 1"},
		{`b.add(1, "two")`, "UsageError", "argument 2: want an int for i32, got string"},
		{"b.add(4294967296, 1)", "UsageError", "argument 1: 4294967296 out of range for i32"},
		{"b.add(1, 2, x=3)", "UsageError", "takes no keyword arguments"},
		{"b.nope", "UsageError", `module b has no export "nope" (it exports`},
		{"b.add.on(1)", "UsageError", "on: for parameter 1: got int, want string"},
		// What the user typed: builtins.
		{"pmap(b.add)", "UsageError", "pmap: missing argument for inputs"},
		{"pmap(len, [1])", "UsageError", "pmap: first argument must be a Wasm function"},
		{"pmap(b.add, 3)", "UsageError", "pmap: inputs must be iterable"},
		{"pmap(b.add, [])", "UsageError", "pmap: inputs is empty"},
		{"pmap(b.add, [(1,)])", "UsageError", "pmap: input 0: b.add(i32, i32) -> i32 takes 2 arguments, got 1"},
		{"pmap(b.add, [(1, 2)], chunk=0)", "UsageError", "pmap: chunk must be a positive int or None, got 0"},
		{"pmap(b.add, [(1, 2)], retries=-1)", "UsageError", "pmap: retries must be 0 or more, got -1"},
		{"pmap_async(b.add, [(1, 2)], wait=True)", "UsageError", `unexpected keyword argument "wait"`},
		{"broadcast()", "UsageError", "broadcast: missing argument for f"},
		{"broadcast(len)", "UsageError", "broadcast: first argument must be a Wasm function"},
		{"broadcast(b.add, 1)", "UsageError", "broadcast: b.add(i32, i32) -> i32 takes 2 arguments, got 1"},
		{"broadcast(b.add, 1, 2, x=1)", "UsageError", "broadcast takes no keyword arguments"},
		{"grain()", "UsageError", "grain: missing argument for f"},
		{"grain(len)", "UsageError", "grain: first argument must be a Wasm function"},
		{"grain(b.add, 1)", "UsageError", "grain: b.add(i32, i32) -> i32 takes 2 arguments, got 1"},
		{"grain(b.add, 1, 2, runs=-1)", "UsageError", "grain: runs must be"},
		{"grain(b.add, 1, 2, limit=0)", "UsageError", "grain: limit must be a positive number of seconds, got 0"},
		{"grain(b.add, 1, 2, limit='2')", "UsageError", `grain: limit must be a positive number of seconds, got "2"`},
		{"grain(b.add, 1, 2, tries=3)", "UsageError", `unexpected keyword argument "tries"`},
		{"sweep(b.add)", "UsageError", "sweep: missing argument for inputs"},
		{"sweep(len, [1])", "UsageError", "sweep: first argument must be a Wasm function"},
		{"inspect(1)", "UsageError", "inspect wants a module or one of its functions, not a int"},
		{"inspect(b, func=1)", "UsageError", "inspect: func must be a function name"},
		{"inspect(b, limit=-1)", "UsageError", "inspect: limit, start and n cannot be negative"},
		{`inspect(b, func="nope")`, "UsageError", `module b has no function "nope"`},
		{"sizes(1)", "UsageError", "sizes wants a module, not a int"},
		{"sizes(b, top=0)", "UsageError", "sizes: top must be 1 or more, got 0"},
		{`speedup_plot([1, "a"], [1.0, 2.0])`, "UsageError", "speedup_plot: nodes[1] must be an int, not string"},
		{`speedup_plot([1, 2], [1.0, "a"])`, "UsageError", "speedup_plot: times[1] must be seconds"},
		{"speedup_plot((1, 2), [1.0, 2.0])", "UsageError", "speedup_plot: for parameter nodes: got tuple, want list"},
		{"display(1, x=2)", "UsageError", "display takes no keyword arguments"},
		{"clear_output(1, 2)", "UsageError", "clear_output: got 2 arguments, want at most 1"},
		{"input(1, 2, 3)", "UsageError", "input: got 3 arguments, want at most 2"},
		{"help(1, 2, 3)", "UsageError", "help: got 3 arguments, want at most 2"},
		{`help("nothing_at_all")`, "UsageError", "help: nothing is called"},
		{"nodes(1)", "UsageError", "nodes: got 1 arguments, want 0"},
		{"load_module()", "UsageError", "load_module: missing argument for path"},
		{`load_module("nothing.wasm")`, "UsageError", "no such file"},
		{"wat()", "UsageError", "wat: missing argument for text"},
		{"scatter()", "UsageError", "scatter: missing argument for a"},
		{"scatter([1, 2], 2)", "UsageError", "scatter: a must be an array"},
		{`scatter(array([1.0], "f64"), 2)`, "UsageError", "scatter: 2 parts of an array of 1 row: give at most 1 parts"},
		{`scatter(array([1.0], "f64"), parts="2")`, "UsageError", "scatter: parts must be an int, got string"},
		{"gather()", "UsageError", "gather: missing argument for d"},
		{"gather([1])", "UsageError", "gather: give a scattered array"},
		{"free(1)", "UsageError", "free: give a scattered array"},
		{"pmap(b.add, [(1, 2)], keep=True)", "UsageError", "pmap: keep=True leaves the outputs beside the scattered parts"},
		{"pmap(b.add, [(1, 2)], args=(1,))", "UsageError", "pmap: args= gives the arguments after (part, n)"},
		// The cell does not compile.
		{"x = (1 +\ny = 2", "SyntaxError", "line 2, column"},
		{"%%wat broken\n(module (func (export \"f\") (result i32) i32.const))", "CompileError", ""},
		// Starlark's own.
		{"nope + 1", "Error", "undefined: nope"},
		{`1 + "a"`, "Error", "unknown binary op: int + string"},
		{"len(1)", "Error", "len: value of type int has no len"},
		{"fail('boom')", "Error", "boom"},
		// The world: a front end without stdin.
		{"input()", "StdinError", "does not accept input"},
	})
}

// TestErrorKindsOnCluster: the bad inputs that need nodes to be judged, and failures of the
// world, each fail with their kind in one line.
func TestErrorKindsOnCluster(t *testing.T) {
	s := online(t, 2)
	pmapRun(t, s, "r = pmap(basics.add, [(i, 1) for i in range(20)])\nh = pmap_async(basics.add, [(1, 2)])")
	same := func(*testing.T) *Session { return s }
	checkErrors(t, same, []errorCase{
		{"%load basics.wat as w", "UsageError", "basics.wat: wasm: not a WebAssembly module"},
		{`wat('(module (import "env" "missing" (func)))')`, "UsageError", "env.missing"},
		{"pmap(basics.add, [(1, 2)], nodes=3)", "UsageError", "pmap: nodes=3, but 2 nodes ready: give 1 to 2"},
		{"pmap(basics.add, [(1, 2)], nodes=['x'])", "UsageError", `pmap: no node is called "x": the nodes are`},
		{"pmap(basics.add, [(1, 2)], nodes=[])", "UsageError", "pmap: nodes is empty"},
		{"pmap(basics.add, [(1, 2)], nodes='a')", "UsageError", "pmap: nodes must be a number or a list of node IDs, got string"},
		{"pmap(basics.add, [(1, 2)], nodes=[1])", "UsageError", "got a int in it"},
		{"basics.add.on('x')(1, 2)", "UsageError", `basics.add.on: no node is called "x"`},
		{"sweep(basics.add, [(1, 2)], nodes=[3])", "UsageError", "sweep: nodes=3, but 2 nodes ready"},
		{"sweep(basics.add, [(1, 2)], nodes=[0])", "UsageError", "sweep: nodes must hold positive ints, got 0"},
		{"sweep(basics.add, [(1, 2)], chunks=[])", "UsageError", "sweep: chunks is empty"},
		{"sweep(basics.add, [(1, 2)], chunks=3)", "UsageError", "sweep: chunks must be a list of ints, got int"},
		{"r.speedup", "UsageError", "a map has no .speedup"},
		{"r.timeline(by='node')", "UsageError", `timeline: by must be "map" or "tier", not "node"`},
		{"r.timeline(title=1)", "UsageError", "timeline: title must be a string, not int"},
		{"h.wait(timeout=-1)", "UsageError", "map_handle.wait: timeout must be a positive number of seconds or None"},
		{"h.wait(1, 2)", "UsageError", "map_handle.wait: got 2 arguments, want at most 1"},
		{"h.done(1)", "UsageError", "map_handle.done: got 1 arguments, want 0"},
		{"pmap(basics.add, scatter(array(range(8), 'i32'), 2))", "UsageError", "pmap: the part: basics.add: argument 1 is an array, but module basics exports no allocator"},
		{"pmap(mandelbrot.row_pixels, scatter(array(range(8), 'i32'), 2), nodes=1)", "UsageError", "pmap: nodes= does not apply to a scattered array"},
		{"pmap(basics.fib, scatter(array(range(8), 'i32'), 2))", "UsageError", "over a scattered array pmap calls basics.fib(part, n), 2 arguments, but basics.fib(i32) -> i32 takes 1"},
		// The world.
		{"basics.trap_div(0)", "Trap", "integer divide by zero (on node "},
		{"broadcast(basics.trap_div, 0)", "Trap", "integer divide by zero"},
	})
	pmapRun(t, s, "h = pmap_async(basics.spin, [()])")
	t.Cleanup(func() { s.Exec(context.Background(), "h.cancel()", &recorder{}) })
	checkErrors(t, same, []errorCase{{"h.wait(timeout=0.05)", "Timeout", "map_handle.wait: timed out after 50 ms with 0/1 tasks done"}})
	pmapRun(t, s, "h.cancel()")
	checkErrors(t, same, []errorCase{{"h.wait()", "Interrupted", "map_handle.wait: the map was cancelled with 0/1 tasks done"}})
}
