package session

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/wasm"
)

// inspector keeps the static analysis (wasm.Analyze) of the modules a session loaded, by
// SHA-256, computed the first time a module is inspected.
type inspector struct {
	mu       sync.Mutex
	analyses map[string]*analysis
}

// analysis is a decoded module and its metrics.
type analysis struct {
	mod *wasm.Module
	met *wasm.Metrics
	ex  map[uint32][]string // function index → export names
}

func newInspector() *inspector {
	return &inspector{analyses: map[string]*analysis{}}
}

// analysis analyses module m once, or says, with a usage error, that it cannot: m was not
// decoded by this session's load.
func (in *inspector) analysis(m *Module) (*analysis, error) {
	if m.mod == nil {
		return nil, usageError("module %s is not one this session loaded: load it again", m.name)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	a, ok := in.analyses[m.mod.SHA256]
	if !ok {
		a = analyse(m.mod)
		in.analyses[m.mod.SHA256] = a
	}
	return a, nil
}

func analyse(m *wasm.Module) *analysis {
	a := &analysis{mod: m, met: wasm.Analyze(m), ex: map[uint32][]string{}}
	for _, e := range m.Exports {
		if e.Kind == "func" {
			a.ex[e.Index] = append(a.ex[e.Index], e.Name)
		}
	}
	return a
}

// inspectOptions are inspect's keyword arguments.
type inspectOptions struct {
	sort  string
	all   bool
	limit int // rows shown (0: all)
	start int // first row shown
	n     int // instructions disassembled, for one function
}

// inspectBig is the number of functions above which only exports are listed by default.
const inspectBig = 40

// inspectSorts are the columns inspect sorts by; numbers sort largest first.
var inspectSorts = []string{"index", "name", "bytes", "instrs", "locals", "loops", "calls", "loads", "stores", "retained"}

func (s *Session) builtinInspect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var fn starlark.Value = starlark.None
	opt := inspectOptions{sort: "index", limit: 50, n: 40}
	if err := unpackArgs(b.Name(), args, kwargs, "x", &x, "func?", &fn, "sort?", &opt.sort,
		"all?", &opt.all, "limit?", &opt.limit, "start?", &opt.start, "n?", &opt.n); err != nil {
		return nil, err
	}
	var m *Module
	var name string
	switch v := x.(type) {
	case *Module:
		m = v
	case *Function:
		m, name = v.module, v.sig.Name
	default:
		return nil, usageError("inspect wants a module or one of its functions, not a %s", x.Type())
	}
	if s, ok := fn.(starlark.String); ok {
		name = string(s)
	} else if fn != starlark.None {
		return nil, usageError("inspect: func must be a function name, not a %s", fn.Type())
	}
	if opt.limit < 0 || opt.start < 0 || opt.n < 0 {
		return nil, usageError("inspect: limit, start and n cannot be negative")
	}
	a, err := s.insp.analysis(m)
	if err != nil {
		return nil, err
	}
	if name != "" {
		idx, err := a.lookup(m.name, name)
		if err != nil {
			return nil, err
		}
		return a.funcDetail(m.name, idx, opt.n)
	}
	t, err := a.table(m.name, opt)
	if err != nil {
		return nil, err
	}
	return tableValue{"inspect", t}, nil
}

// translateInspect: `%inspect m[.f] [sort=COL] [all] [limit=N] [start=N] [n=N]` calls
// inspect(m, func="f", ...); the function part may itself hold dots ("gw.runtime.main").
func translateInspect(args, lhs string) (string, error) {
	f := strings.Fields(args)
	if len(f) == 0 {
		return "", fmt.Errorf("usage: %%inspect MODULE[.FUNCTION] [sort=COL] [all] [limit=N] [start=N] [n=N]")
	}
	mod, fn, hasFn := strings.Cut(f[0], ".")
	if !identifier.MatchString(mod) {
		return "", fmt.Errorf("%q is not a module name", mod)
	}
	call := []string{mod}
	if hasFn {
		if fn == "" {
			return "", fmt.Errorf("give a function name after %q", mod+".")
		}
		call = append(call, "func="+quote(fn))
	}
	for _, a := range f[1:] {
		k, v, hasV := strings.Cut(a, "=")
		switch {
		case k == "all" && (!hasV || v == "true" || v == "True"):
			call = append(call, "all=True")
		case k == "all" && (v == "false" || v == "False"):
			call = append(call, "all=False")
		case k == "sort" && hasV:
			call = append(call, "sort="+quote(v))
		case (k == "limit" || k == "start" || k == "n") && hasV:
			if _, err := strconv.Atoi(v); err != nil {
				return "", fmt.Errorf("%s wants a number, got %q", k, v)
			}
			call = append(call, k+"="+v)
		default:
			return "", fmt.Errorf("unknown option %q (sort=COL, all, limit=N, start=N, n=N)", a)
		}
	}
	stmt := "__rain_inspect(" + strings.Join(call, ", ") + ")"
	if lhs != "" {
		stmt = lhs + " = " + stmt
	}
	return stmt, nil
}

// funcName is a function's name from the name section, else its first export name, else
// func[N].
func (a *analysis) funcName(i uint32) string {
	if int(i) < len(a.mod.Funcs) && a.mod.Funcs[i].Name != "" {
		return a.mod.Funcs[i].Name
	}
	if e := a.ex[i]; len(e) > 0 {
		return e[0]
	}
	return fmt.Sprintf("func[%d]", i)
}

// lookup finds a function by export name, name-section name, func[N] or N.
func (a *analysis) lookup(module, name string) (uint32, error) {
	for _, e := range a.mod.Exports {
		if e.Kind == "func" && e.Name == name {
			return e.Index, nil
		}
	}
	for i := range a.mod.Funcs {
		if a.mod.Funcs[i].Name == name {
			return uint32(i), nil
		}
	}
	num := strings.TrimSuffix(strings.TrimPrefix(name, "func["), "]")
	if i, err := strconv.ParseUint(num, 10, 32); err == nil && int(i) < len(a.mod.Funcs) {
		return uint32(i), nil
	}
	return 0, usageError("module %s has no function %q: %%inspect %s lists them", module, name, module)
}

// exports maps function index → export names.
func (a *analysis) exports() map[uint32][]string { return a.ex }

// signature is function i's "(i32, i32) -> i32".
func (a *analysis) signature(i uint32) string {
	f := &a.mod.Funcs[i]
	if int(f.Type) >= len(a.mod.Types) {
		return "?"
	}
	t := a.mod.Types[f.Type]
	return signature(&wasm.Func{Params: t.Params, Results: t.Results})
}

func (a *analysis) flags(i uint32, ex map[uint32][]string) string {
	fm := &a.met.Funcs[i]
	var f []string
	switch {
	case fm.Imported:
		imp := a.mod.Funcs[i].Import
		f = append(f, "import "+imp.Module+"."+imp.Name)
	case len(ex[i]) > 0:
		f = append(f, "export")
	}
	if !fm.Imported {
		if fm.Leaf {
			f = append(f, "leaf")
		}
		if fm.Recursive {
			f = append(f, "recursive")
		}
		if !fm.Reachable {
			f = append(f, "unreached")
		}
		if fm.Err != nil {
			f = append(f, "undecoded")
		}
	}
	return strings.Join(f, " ")
}

// sortKey is the figure a sort column reads.
func sortKey(fm *wasm.FuncMetrics, col string) int {
	switch col {
	case "bytes":
		return fm.Bytes
	case "instrs":
		return fm.Instrs
	case "locals":
		return fm.Locals
	case "loops":
		return fm.Loops
	case "calls":
		return fm.DirectCalls + fm.IndirectCalls
	case "loads":
		return fm.Loads
	case "stores":
		return fm.Stores
	case "retained":
		return fm.Retained
	}
	return -int(fm.Index)
}

// table lists the module's functions.
func (a *analysis) table(module string, opt inspectOptions) (*display.Table, error) {
	if !slices.Contains(inspectSorts, opt.sort) {
		return nil, usageError("inspect: cannot sort by %q: choose one of %s", opt.sort, strings.Join(inspectSorts, ", "))
	}
	ex := a.exports()
	n := len(a.met.Funcs)
	var idx []uint32
	for i := range a.met.Funcs {
		if opt.all || n <= inspectBig || len(ex[uint32(i)]) > 0 {
			idx = append(idx, uint32(i))
		}
	}
	hidden := n - len(idx)
	switch opt.sort {
	case "index":
	case "name":
		sort.SliceStable(idx, func(x, y int) bool { return a.funcName(idx[x]) < a.funcName(idx[y]) })
	default:
		sort.SliceStable(idx, func(x, y int) bool {
			return sortKey(&a.met.Funcs[idx[x]], opt.sort) > sortKey(&a.met.Funcs[idx[y]], opt.sort)
		})
	}
	shown := len(idx)
	from := min(opt.start, shown)
	to := shown
	if opt.limit > 0 {
		to = min(from+opt.limit, shown)
	}
	defined, size := 0, 0
	for _, fm := range a.met.Funcs {
		if !fm.Imported {
			defined++
			size += fm.Bytes
		}
	}
	t := &display.Table{
		Title: fmt.Sprintf("%s: %d function%s (%d defined, %d imported) · %s of code",
			module, n, plural(n), defined, n-defined, sizeText(size)),
		Headers: []string{"#", "function", "signature", "bytes", "instrs", "locals", "loops", "depth",
			"calls", "indirect", "loads", "stores", "retained", "flags"},
		Right: map[int]bool{0: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true},
	}
	for _, i := range idx[from:to] {
		fm := &a.met.Funcs[i]
		name := a.funcName(i)
		if e := ex[i]; len(e) > 0 && e[0] != name {
			name += " (" + strings.Join(e, ", ") + ")"
		}
		row := []string{strconv.Itoa(int(i)), name, a.signature(i)}
		if fm.Imported {
			row = append(row, "–", "–", "–", "–", "–", "–", "–", "–", "–", "–")
		} else {
			row = append(row, strconv.Itoa(fm.Bytes), strconv.Itoa(fm.Instrs), strconv.Itoa(fm.Locals),
				strconv.Itoa(fm.Loops), strconv.Itoa(fm.LoopDepth), strconv.Itoa(fm.DirectCalls),
				strconv.Itoa(fm.IndirectCalls), strconv.Itoa(fm.Loads), strconv.Itoa(fm.Stores),
				strconv.Itoa(fm.Retained))
		}
		t.Rows = append(t.Rows, append(row, a.flags(i, ex)))
	}
	var notes []string
	if from > 0 || to < shown {
		next := ""
		if to < shown {
			next = fmt.Sprintf(": inspect(%s%s, start=%d) for the next", module, optText(opt), to)
		}
		notes = append(notes, fmt.Sprintf("rows %d–%d of %d%s", from+1, to, shown, next))
	}
	if hidden > 0 {
		notes = append(notes, fmt.Sprintf("… %d internal and imported function%s hidden (only exports are listed above %d functions): inspect(%s, all=True)",
			hidden, plural(hidden), inspectBig, module))
	}
	if n == 0 {
		notes = append(notes, "the module has no functions")
	}
	t.Note = strings.Join(notes, "\n")
	return t, nil
}

// optText repeats the options that select rows, for the note that pages on.
func optText(opt inspectOptions) string {
	var s string
	if opt.sort != "index" {
		s += ", sort=" + quote(opt.sort)
	}
	if opt.all {
		s += ", all=True"
	}
	if opt.limit != 50 {
		s += ", limit=" + strconv.Itoa(opt.limit)
	}
	return s
}
