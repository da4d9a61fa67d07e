package wasm

import "slices"

// Metrics are the static figures of every function of a module and its call graph.
type Metrics struct {
	Funcs   []FuncMetrics // by function index
	Callers [][]uint32    // Callers[i]: the distinct functions that call i directly, ascending
	// Roots are the functions reachable from outside: exports, the start function and those
	// placed in tables by element segments. Retained sizes are dominators under a root joined
	// to all of them, as twiggy computes them.
	Roots []uint32
	// IDom[i] is the immediate dominator of function i, or -1 when it is the root's (or i is
	// unreachable).
	IDom []int32
}

// Analyze walks every function body of m and builds the call graph. It never fails: a body
// that cannot be walked has its Err set and keeps the figures read before the error.
func Analyze(m *Module) *Metrics {
	n := len(m.Funcs)
	a := &Metrics{Funcs: make([]FuncMetrics, n), Callers: make([][]uint32, n)}
	var stack []bool
	for i := range m.Funcs {
		f := &m.Funcs[i]
		fm := &a.Funcs[i]
		fm.Index = uint32(i)
		if f.Imported() {
			fm.Imported = true
			continue
		}
		fm.Bytes, fm.Locals = f.Size, f.Locals
		stack = fm.walk(f.Code, stack)
	}
	for i := range a.Funcs {
		fm := &a.Funcs[i]
		kept := fm.Callees[:0]
		for _, c := range fm.Callees {
			if int(c) < n { // a call to a function that does not exist is dropped from the graph
				kept = append(kept, c)
				a.Callers[c] = append(a.Callers[c], uint32(i))
			}
		}
		fm.Callees = kept
		kept = fm.Refs[:0]
		for _, c := range fm.Refs {
			if int(c) < n {
				kept = append(kept, c)
			}
		}
		fm.Refs = kept
	}
	a.Roots = roots(m)
	a.recursion()
	a.dominators()
	return a
}

// roots lists exported functions, the start function and table elements, without repeats.
func roots(m *Module) []uint32 {
	seen := make(map[uint32]bool)
	var out []uint32
	add := func(i uint32) {
		if int(i) < len(m.Funcs) && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, e := range m.Exports {
		if e.Kind == "func" {
			add(e.Index)
		}
	}
	for _, s := range m.Sections {
		if s.Offset+s.Size > len(m.bin) {
			continue
		}
		body := m.bin[s.Offset : s.Offset+s.Size]
		switch s.ID {
		case secStart:
			w := walker{b: body}
			if i := uint32(w.uleb(32)); w.err == nil {
				add(i)
			}
		case secElement:
			elementFuncs(body, add)
		}
	}
	return out
}

// elementFuncs calls add for every function an element section names. It stops quietly at
// anything malformed: the roots are a best effort, the module's validation is Describe's.
func elementFuncs(body []byte, add func(uint32)) {
	w := walker{b: body}
	n := w.uleb(32)
	for i := uint64(0); i < n && w.err == nil; i++ {
		flags := w.uleb(32)
		if flags > 7 {
			return
		}
		if flags&3 == 2 { // explicit table index
			w.uleb(32)
		}
		if flags&1 == 0 { // active: an offset expression
			constExpr(&w, nil)
		}
		if flags&3 != 0 { // element kind (0x00, funcref) or reference type
			w.byte()
		}
		k := w.uleb(32)
		if k > uint64(len(w.b)-w.pos) {
			return
		}
		for j := uint64(0); j < k && w.err == nil; j++ {
			if flags&4 == 0 {
				add(uint32(w.uleb(32)))
			} else {
				constExpr(&w, add)
			}
		}
	}
}

// constExpr reads a constant expression up to its end, calling add for each ref.func.
func constExpr(w *walker, add func(uint32)) {
	for depth := 0; w.err == nil; {
		in := w.next()
		if w.err != nil || in.prefix != 0 {
			continue
		}
		switch in.op {
		case 0x02, 0x03, 0x04:
			depth++
		case 0x0b:
			if depth == 0 {
				return
			}
			depth--
		case 0xd2:
			if add != nil {
				add(in.callee)
			}
		}
	}
}

// recursion marks the functions on a cycle of direct calls, with Tarjan's strongly connected
// components, iteratively so that deep call chains do not grow the goroutine stack.
func (a *Metrics) recursion() {
	n := len(a.Funcs)
	const unvisited = -1
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
	}
	var stack []uint32
	type frame struct{ v, next uint32 }
	var calls []frame
	counter := int32(0)
	for s := 0; s < n; s++ {
		if index[s] != unvisited {
			continue
		}
		calls = append(calls[:0], frame{v: uint32(s)})
		index[s], low[s] = counter, counter
		counter++
		stack = append(stack, uint32(s))
		onStack[s] = true
		for len(calls) > 0 {
			top := &calls[len(calls)-1]
			v := top.v
			callees := a.Funcs[v].Callees
			if int(top.next) < len(callees) {
				w := callees[top.next]
				top.next++
				if w == v {
					a.Funcs[v].Recursive = true
				}
				if index[w] == unvisited {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{v: w})
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				first := len(stack) - 1
				for stack[first] != v {
					first--
				}
				if len(stack)-first > 1 {
					for _, w := range stack[first:] {
						a.Funcs[w].Recursive = true
					}
				}
				for _, w := range stack[first:] {
					onStack[w] = false
				}
				stack = stack[:first]
			}
		}
	}
}

// dominators computes the immediate dominators of the graph whose node 0 is a root joined to
// a.Roots and node i+1 is function i, with edges for direct calls and ref.func, by
// Cooper, Harvey and Kennedy's "A Simple, Fast Dominance Algorithm"; then retained sizes.
func (a *Metrics) dominators() {
	n := len(a.Funcs) + 1
	succ := func(v int) []uint32 {
		if v == 0 {
			return a.Roots
		}
		return a.Funcs[v-1].Callees
	}
	// Reverse postorder by an iterative depth-first search from the root.
	order := make([]int32, n) // node → its postorder number, -1 when unreachable
	for i := range order {
		order[i] = -1
	}
	visited := make([]bool, n)
	post := make([]int32, 0, n) // postorder → node
	type frame struct {
		v    int32
		next int
		refs bool // walking Refs after Callees
	}
	stk := []frame{{v: 0}}
	visited[0] = true
	for len(stk) > 0 {
		top := &stk[len(stk)-1]
		var s []uint32
		if top.v == 0 {
			s = succ(0)
		} else if top.refs {
			s = a.Funcs[top.v-1].Refs
		} else {
			s = succ(int(top.v))
		}
		if top.next < len(s) {
			w := int32(s[top.next]) + 1
			top.next++
			if !visited[w] {
				visited[w] = true
				stk = append(stk, frame{v: w})
			}
			continue
		}
		if top.v != 0 && !top.refs {
			top.refs, top.next = true, 0
			continue
		}
		order[top.v] = int32(len(post))
		post = append(post, top.v)
		stk = stk[:len(stk)-1]
	}
	// Predecessors, among reachable nodes.
	preds := make([][]int32, n)
	for _, v := range post {
		if v == 0 {
			for _, w := range a.Roots {
				preds[w+1] = append(preds[w+1], 0)
			}
			continue
		}
		f := &a.Funcs[v-1]
		for _, w := range f.Callees {
			preds[w+1] = append(preds[w+1], v)
		}
		for _, w := range f.Refs {
			preds[w+1] = append(preds[w+1], v)
		}
	}
	idom := make([]int32, n)
	for i := range idom {
		idom[i] = -1
	}
	idom[0] = 0
	intersect := func(b1, b2 int32) int32 {
		for b1 != b2 {
			for order[b1] < order[b2] {
				b1 = idom[b1]
			}
			for order[b2] < order[b1] {
				b2 = idom[b2]
			}
		}
		return b1
	}
	for changed := true; changed; {
		changed = false
		for i := len(post) - 2; i >= 0; i-- { // reverse postorder, root (last) excluded
			b := post[i]
			newIdom := int32(-1)
			for _, p := range preds[b] {
				if idom[p] == -1 {
					continue
				}
				if newIdom == -1 {
					newIdom = p
				} else {
					newIdom = intersect(p, newIdom)
				}
			}
			if newIdom != -1 && idom[b] != newIdom {
				idom[b] = newIdom
				changed = true
			}
		}
	}
	// Retained sizes: in postorder every node comes after all it dominates.
	a.IDom = make([]int32, len(a.Funcs))
	for i := range a.Funcs {
		fm := &a.Funcs[i]
		fm.Retained = fm.Bytes
		fm.Reachable = order[i+1] >= 0
		a.IDom[i] = -1
		if d := idom[i+1]; fm.Reachable && d > 0 {
			a.IDom[i] = d - 1
		}
	}
	for _, v := range post {
		if v == 0 {
			continue
		}
		if d := idom[v]; d > 0 {
			a.Funcs[d-1].Retained += a.Funcs[v-1].Retained
		}
	}
}

// Dominated lists the functions whose immediate dominator is i, ascending.
func (a *Metrics) Dominated(i uint32) []uint32 {
	var out []uint32
	for j, d := range a.IDom {
		if d == int32(i) {
			out = append(out, uint32(j))
		}
	}
	return slices.Clip(out)
}
