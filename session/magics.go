package session

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// magic is one %name (line) or %%name (cell) magic.
type magic struct {
	name    string
	usage   string // "%load PATH [as NAME]"
	summary string // one line
	doc     string // more, for %help NAME
	cell    bool
	// translate turns a line magic's arguments into a Starlark statement; lhs is the target
	// when the magic stood on the right of an assignment.
	translate func(args, lhs string) (string, error)
	// run carries out a line magic that translates to __rain_magic(name, args).
	run func(thread *starlark.Thread, args string) (starlark.Value, error)
	// runCell carries out a cell magic.
	runCell func(thread *starlark.Thread, args, body string) (starlark.Value, error)
}

// call is the default translation: __rain_magic("name", "args").
func (m *magic) call(args, lhs string) (string, error) {
	stmt := "__rain_magic(" + quote(m.name) + ", " + quote(args) + ")"
	if lhs != "" {
		stmt = lhs + " = " + stmt
	}
	return stmt, nil
}

func (s *Session) newMagics() map[string]*magic {
	list := []*magic{
		{
			name: "load", usage: "%load PATH [as NAME]",
			summary: "load a Wasm module and ship it to every node",
			doc: "Reads PATH (a .wasm file; relative to the working directory), validates it, starts shipping\n" +
				"it to every node and binds it to NAME (default: the file's name). It returns without waiting\n" +
				"for the nodes: they receive, instantiate and compile it in the background, and a call of\n" +
				"NAME.f(args) meanwhile waits for a node that has it. Prints a one-line summary that follows\n" +
				"the nodes (in Jupyter it is redrawn until they run compiled code; the REPL prints the end\n" +
				"of the load above its prompt). NAME alone shows the exports.",
			translate: translateLoad,
		},
		{
			name: "time", usage: "%time EXPR",
			summary: "run EXPR once and print how long it took",
			doc:     "Evaluates EXPR, prints the wall time it took, and gives EXPR's value.",
			translate: func(args, lhs string) (string, error) {
				return timingCall("__rain_time", args, lhs, "")
			},
		},
		{
			name: "timeit", usage: "%timeit [-n LOOPS] [-r RUNS] EXPR",
			summary: "time EXPR over many runs: mean ± standard deviation",
			doc: "Runs EXPR LOOPS times per run, RUNS runs (default 7), and prints the mean and standard\n" +
				"deviation per loop. Without -n, LOOPS is chosen so that a run takes at least 0.2 s.",
			translate: translateTimeit,
		},
		{name: "who", usage: "%who", summary: "list the names you have defined", run: s.magicWho},
		{
			name: "help", usage: "%help [NAME]",
			summary: "list every magic and builtin, or explain one",
			doc:     "%help alone lists everything; %help NAME (or NAME?) explains one magic, builtin,\nmodule or Wasm function.",
			run:     s.magicHelp,
		},
		{name: "nodes", usage: "%nodes", summary: "list the cluster's nodes", run: s.magicNodes},
		{
			name: "cluster", usage: "%cluster [connect URL [TOKEN]]",
			summary: "where the hub is and how nodes join; or move to a shared hub",
			doc: "%cluster prints the hub's address and the exact `rain node --join ...` line for another\n" +
				"machine. %cluster connect URL [TOKEN] moves this session to a shared hub (see `rain hub`):\n" +
				"its local nodes stop and loaded modules are shipped to the hub's nodes.",
			run: s.magicCluster,
		},
		{
			name: "dashboard", usage: "%dashboard",
			summary: "the address of the cluster's live dashboard in the browser",
			doc: "Shows the address (a link in Jupyter) of the page that shows the cluster live: its nodes,\n" +
				"a task stream of the last seconds, every session's maps with their progress, and the modules\n" +
				"each node holds. The session's own hub serves one (see --dashboard); on a shared hub it is the\n" +
				"hub's (`rain hub` serves one), or one this session starts if none watches the hub. The address\n" +
				"carries the token that opens the page: share it as you would the hub's token.",
			run: s.magicDashboard,
		},
		{
			name: "inspect", usage: "%inspect MODULE[.FUNCTION] [sort=COL] [all] [limit=N] [start=N] [n=N]",
			summary: "how big and how costly each function of a module is, or one function in detail",
			doc: "%inspect MODULE tables every function (exports only above 40 functions: add all): bytes,\n" +
				"instructions, locals, loops, calls, memory accesses, leaf/recursive and retained bytes.\n" +
				"sort= index, name, bytes, instrs, locals, loops, calls, loads, stores or retained; limit= and\n" +
				"start= page the rows. %inspect MODULE.FUNCTION (any function: export, name-section name or\n" +
				"func[N]) shows its callers, callees, call graph and first n= instructions. Same as inspect(...).",
			translate: translateInspect,
		},
		{
			name: "grain", usage: "%grain MODULE.FUNCTION [ARGS...] [runs=N] [limit=SECONDS]",
			summary: "measure a function's cost per call against the dispatch overhead: is it worth shipping?",
			doc: "Runs the function with ARGS on a node many times (at most 1000 runs or about 1 s), timing each\n" +
				"call on the node (median and p10–p90), measures each node's dispatch overhead (round trip minus\n" +
				"node-side time), and reports the grain ratio (cost ÷ overhead), the efficiency of a map of single\n" +
				"calls, the chunk size for 90 % efficiency and a verdict: ship as is, batch ≥ N per task, or keep\n" +
				"local. A call that traps is reported; one running past limit= (2 s) is stopped. Same as grain(...).",
			translate: translateGrain,
		},
		{
			name: "wat", usage: "%%wat NAME", cell: true,
			summary: "the cell is WebAssembly text: assemble it (wabt's wat2wasm) and load it as NAME",
			doc:     "The rest of the cell is a module in WebAssembly text format. It is assembled with\nwat2wasm (Debian package wabt) and loaded like %load, bound to NAME.",
			runCell: s.cellWat,
		},
		{
			name: "c", usage: "%%c NAME [CLANG-FLAGS...]", cell: true,
			summary: "the cell is C: compile it to Wasm (clang, wasm-ld) and load it as NAME",
			doc: "The rest of the cell is C, compiled with clang --target=wasm32 -O2 and linked with\n" +
				"wasm-ld (Debian packages clang and lld). Every non-static function is exported, with its\n" +
				"name kept. No libc: for printf and files, build with wasi-libc outside and %load the file.",
			runCell: s.cellC,
		},
	}
	m := make(map[string]*magic, len(list))
	for _, mg := range list {
		if mg.translate == nil && !mg.cell {
			mg.translate = mg.call
		}
		m[mg.name] = mg
	}
	return m
}

// translateLoad: `%load PATH [as NAME]` binds NAME to the module.
func translateLoad(args, lhs string) (string, error) {
	path, name, err := parseLoad(args)
	if err != nil {
		return "", err
	}
	if lhs == "" {
		lhs = name
	}
	return lhs + " = __rain_load(" + quote(path) + ", " + quote(name) + ")", nil
}

func parseLoad(args string) (path, name string, err error) {
	f := strings.Fields(args)
	switch {
	case len(f) == 1:
		path = f[0]
		name = moduleName(path)
	case len(f) == 3 && f[1] == "as":
		path, name = f[0], f[2]
	default:
		return "", "", fmt.Errorf("usage: %%load PATH [as NAME]")
	}
	if !identifier.MatchString(name) {
		return "", "", fmt.Errorf("%q is not a valid name: use letters, digits and _", name)
	}
	return path, name, nil
}

// moduleName derives a name from a file: "examples/mandel-brot.wasm" → "mandel_brot".
func moduleName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	b := []byte(base)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "module"
	}
	return string(b)
}

// timingCall wraps EXPR in a lambda so that it is evaluated where it stands.
func timingCall(fn, expr, lhs, extra string) (string, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return "", fmt.Errorf("give an expression to time")
	}
	if _, err := fileOptions().ParseExpr("<magic>", expr, 0); err != nil {
		return "", fmt.Errorf("%q is not an expression", expr)
	}
	stmt := fn + "(lambda: (" + expr + "), " + quote(expr) + extra + ")"
	if lhs != "" {
		stmt = lhs + " = " + stmt
	}
	return stmt, nil
}

func translateTimeit(args, lhs string) (string, error) {
	loops, runs := 0, 7
	f := strings.Fields(args)
	for len(f) >= 2 && (f[0] == "-n" || f[0] == "-r") {
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 1 {
			return "", fmt.Errorf("%s wants a positive number, got %q", f[0], f[1])
		}
		if f[0] == "-n" {
			loops = n
		} else {
			runs = n
		}
		args = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(args), f[0]))
		args = strings.TrimSpace(strings.TrimPrefix(args, f[1]))
		f = f[2:]
	}
	return timingCall("__rain_timeit", args, lhs, fmt.Sprintf(", %d, %d", loops, runs))
}

// runCellMagic runs a cell whose first line is %%name args.
func (s *Session) runCellMagic(thread *starlark.Thread, first, body string) (starlark.Value, error) {
	name, args, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(first), "%%"), " ")
	mg, ok := s.magics[name]
	if !ok || !mg.cell {
		return nil, usageError("unknown cell magic %%%%%s: %%help lists the magics", name)
	}
	return mg.runCell(thread, strings.TrimSpace(args), body)
}
