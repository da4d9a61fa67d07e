package session

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/cluster/launch"
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

// cellDocTail ends the help of every compiled language's magic.
const cellDocTail = "\nA compiler's errors come back as its own messages, at the cell's lines (cell:LINE, the\n" +
	"magic's line being line 1). Each module built is kept in the user's cache directory\n" +
	"(rain/cells): an unchanged cell is not compiled again."

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
			name: "time", usage: "%time EXPR  |  %time NAME = EXPR",
			summary: "run EXPR once and print how long it took",
			doc: "Evaluates EXPR, prints the wall time it took, and gives EXPR's value; with NAME = (or\n" +
				"A, B =), assigns it as the statement would.",
			translate: func(args, lhs string) (string, error) {
				if name, expr, ok := assignment(args); ok {
					if lhs != "" {
						return "", fmt.Errorf("%s = %%time %s: assign once", lhs, strings.TrimSpace(args))
					}
					args, lhs = expr, name
				}
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
			name: "cluster", usage: "%cluster [connect|launch|stop ...]",
			summary: "the hub, its join line and jobs; launch nodes (Slurm, MPI, SSH), stop them; move to a shared hub",
			doc: "%cluster [connect URL [TOKEN] | launch LAUNCHER ... | stop JOB]\n\n" +
				"%cluster prints the hub's address, the exact `rain node --join ...` line for another\n" +
				"machine, and the jobs this session launched. %cluster connect URL [TOKEN] moves this session\n" +
				"to a shared hub (see `rain hub`): its local nodes and jobs stop and loaded modules are shipped\n" +
				"to the hub's nodes.\n\n" +
				"%cluster launch starts nodes where the machines are, as a job:\n" +
				"  %cluster launch " + launch.Usage("slurm") + "\n" +
				"  %cluster launch " + launch.Usage("mpi") + "\n" +
				"  %cluster launch " + launch.Usage("ssh") + "\n" +
				"  %cluster launch " + launch.Usage("local") + "\n" +
				"The job shows its state live (pending with Slurm's reason, running, done, failed with the\n" +
				"end of its output) and its nodes as they join; `j = %cluster launch ...` keeps it: j.state,\n" +
				"j.nodes, j.stop(). The nodes run with this session's --tier, --dir and --memory-limit unless\n" +
				"the launch gives its own, and find rain at --rain PATH, else at this binary's path (a shared\n" +
				"file system), else on their PATH; ssh copies rain to a host that has none (its OS and\n" +
				"architecture's binary of `make release`). The hub's token reaches them in their environment,\n" +
				"never on a command line. %cluster stop JOB ends one (scancel, mpirun, ssh); every job ends\n" +
				"with the session, even when it is killed. ssh runs $RAIN_SSH when set (\"ssh -F FILE\").",
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
			runCell: s.cellCompiled(langWAT, false),
		},
		{
			name: "c", usage: "%%c NAME [CLANG-FLAGS...]", cell: true,
			summary: "the cell is C: compile it to Wasm (clang, wasm-ld) and load it as NAME",
			doc: "The rest of the cell is C, compiled with clang --target=wasm32 -O2 and linked with\n" +
				"wasm-ld (Debian packages clang and lld). Every non-static function is exported, with its\n" +
				"name kept. No libc: for printf and files, build with wasi-libc outside and %load the file.\n" +
				"Arrays: export malloc and free; without libc, a stack of allocations does, whose free(p)\n" +
				"frees p and all allocated after it, as Rain frees a call's arrays:\n\n" +
				"    extern unsigned char __heap_base;\n" +
				"    static unsigned char *top = &__heap_base;\n" +
				"    void *malloc(unsigned long n) { unsigned char *p = top; top += (n + 15) & ~15UL; unsigned long need = (unsigned long)top, have = __builtin_wasm_memory_size(0) << 16; if (need > have) __builtin_wasm_memory_grow(0, (need - have + 65535) >> 16); return p; }\n" +
				"    void free(void *p) { if ((unsigned char *)p < top) top = p; }\n\n" +
				"and write into an array passed as unsigned char *out.\n" +
				cellDocTail,
			runCell: s.cellCompiled(langC, true),
		},
		{
			name: "go", usage: "%%go NAME [GO-BUILD-FLAGS...]", cell: true,
			summary: "the cell is Go: build it for WASI (go build, GOOS=wasip1) and load it as NAME",
			doc: "The rest of the cell is Go whose exported functions are marked //go:wasmexport NAME; it is\n" +
				"built with the Go toolchain (1.24 or newer) as a WASI reactor: GOOS=wasip1 GOARCH=wasm\n" +
				"go build -buildmode=c-shared. The package clause and an empty main may be left out. Only\n" +
				"the standard library: no module is downloaded. Parameters and results: int32, uint32,\n" +
				"int64, uint64, float32, float64, or a pointer into memory (unsafe.Pointer, *[N]byte).\n" +
				"Arrays: export malloc and free, keeping each buffer alive until it is freed:\n\n" +
				"    import \"unsafe\"\n" +
				"    var keep = map[unsafe.Pointer][]byte{}\n" +
				"    //go:wasmexport malloc\n" +
				"    func malloc(n uint32) unsafe.Pointer { b := make([]byte, n); p := unsafe.Pointer(unsafe.SliceData(b)); keep[p] = b; return p }\n" +
				"    //go:wasmexport free\n" +
				"    func free(p unsafe.Pointer) { delete(keep, p) }\n\n" +
				"and write into an array passed as out *[1024]byte, or unsafe.Slice((*byte)(p), n).\n" +
				cellDocTail,
			runCell: s.cellCompiled(langGo, true),
		},
		{
			name: "rust", usage: "%%rust NAME [RUSTC-FLAGS...]", cell: true,
			summary: "the cell is Rust: compile it to Wasm (Debian's rustc) and load it as NAME",
			doc: "The rest of the cell is Rust whose exported functions are #[no_mangle] pub extern \"C\" fn,\n" +
				"compiled with Debian's rustc and its wasm32 standard library (packages rustc and\n" +
				"libstd-rust-dev-wasm32): rustc --target wasm32-unknown-unknown --crate-type cdylib -O.\n" +
				"Parameters and results: i32, u32, i64, u64, f32, f64 or a raw pointer; a type Wasm cannot\n" +
				"carry (String, &str, a struct without #[repr(C)]) is an error. Arrays: export malloc and\n" +
				"free on std::alloc, keeping each buffer's size in front of it for its Layout:\n\n" +
				"    use std::alloc::{alloc, dealloc, Layout};\n" +
				"    #[no_mangle] pub unsafe extern \"C\" fn malloc(n: usize) -> *mut u8 { let p = alloc(Layout::from_size_align_unchecked(n + 8, 8)); *(p as *mut usize) = n; p.add(8) }\n" +
				"    #[no_mangle] pub unsafe extern \"C\" fn free(p: *mut u8) { let p = p.sub(8); dealloc(p, Layout::from_size_align_unchecked(*(p as *mut usize) + 8, 8)) }\n\n" +
				"and write into an array passed as out: *mut u8 through std::slice::from_raw_parts_mut(out, n).\n" +
				cellDocTail,
			runCell: s.cellCompiled(langRust, true),
		},
		{
			name: "ts", usage: "%%ts NAME [ASC-FLAGS...]", cell: true,
			summary: "the cell is TypeScript (AssemblyScript): compile it to Wasm (asc) and load it as NAME",
			doc: "The rest of the cell is AssemblyScript, TypeScript's syntax with Wasm's types (i32, i64,\n" +
				"f32, f64, u8, usize), whose exported functions are `export function`. It is compiled with\n" +
				"asc -O3 from the npm package assemblyscript, which scripts/install-deps installs into\n" +
				"scripts/asc (pinned in its package-lock.json; needs Node.js); the session keeps the\n" +
				"compiler running after the first cell. abort() traps: the module imports nothing.\n" +
				"Arrays: export malloc and free on AssemblyScript's own heap:\n\n" +
				"    export function malloc(n: usize): usize { return heap.alloc(n); }\n" +
				"    export function free(p: usize): void { heap.free(p); }\n\n" +
				"and write into an array passed as out: usize with store<u8>(out + i, v).\n" +
				cellDocTail,
			runCell: s.cellCompiled(langTS, true),
		},
	}
	m := make(map[string]*magic, len(list))
	for _, mg := range list {
		if mg.name == "cluster" {
			mg.translate = mg.translateCluster
		}
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

// assignment splits "NAMES = EXPR", NAMES one name or several separated by commas, into its
// two sides.
func assignment(stmt string) (names, expr string, ok bool) {
	m := assignStmt.FindStringSubmatch(stmt)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
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
