package wasm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FuncMetrics are the static figures of one function, from a walk over its instructions.
type FuncMetrics struct {
	Index    uint32
	Imported bool // no body: every figure below but Index is zero
	Bytes    int  // body size, locals included: wasm-objdump -x's size=
	Locals   int  // declared locals, parameters excluded

	Instrs    int // instructions, the final end included (as wasm-objdump -d lists them)
	Loops     int
	LoopDepth int // deepest nesting of loops (0: no loop)

	DirectCalls   int      // call and return_call sites
	IndirectCalls int      // call_indirect, return_call_indirect, call_ref and return_call_ref sites
	Callees       []uint32 // distinct functions called directly, in order of first call
	Refs          []uint32 // distinct functions named by ref.func
	Loads, Stores int      // memory accesses, SIMD and atomic ones included

	Leaf      bool // calls nothing, directly or indirectly
	Recursive bool // on a cycle of direct calls, itself included
	Reachable bool // reachable from an export, the start function or a table
	Retained  int  // Bytes plus those of every function only it reaches (dominator tree)

	Err error // the body could not be walked to its end: the figures are partial
}

// walker decodes instructions from b, the code of a function (or a constant expression).
// Like reader, its first error sticks.
type walker struct {
	b   []byte
	pos int
	err error
	dis *strings.Builder // when non-nil, immediates are written here as they are read
}

var errOpcode = fmt.Errorf("unknown opcode")

func (w *walker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *walker) byte() byte {
	if w.pos >= len(w.b) {
		w.fail(errEOF)
		return 0
	}
	c := w.b[w.pos]
	w.pos++
	return c
}

// uleb reads an unsigned LEB128 of at most bits bits, or at least leniently: the walk must only
// stay in step, validation is Describe's work.
func (w *walker) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if w.pos >= len(w.b) {
			w.fail(errEOF)
			return 0
		}
		c := w.b[w.pos]
		w.pos++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v
		}
		if shift+7 >= bits {
			w.fail(errLEB)
			return 0
		}
	}
}

func (w *walker) sleb(bits uint) int64 {
	var v int64
	shift := uint(0)
	for {
		if w.pos >= len(w.b) {
			w.fail(errEOF)
			return 0
		}
		c := w.b[w.pos]
		w.pos++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
		if shift >= bits+7 {
			w.fail(errLEB)
			return 0
		}
	}
}

func (w *walker) skip(n int) []byte {
	if len(w.b)-w.pos < n {
		w.fail(errEOF)
		w.pos = len(w.b)
		return nil
	}
	b := w.b[w.pos : w.pos+n]
	w.pos += n
	return b
}

// imm writes an immediate to the disassembly, if one is being made.
func (w *walker) imm(s string) {
	if w.dis != nil {
		w.dis.WriteByte(' ')
		w.dis.WriteString(s)
	}
}

func (w *walker) u32imm() uint32 {
	v := uint32(w.uleb(32))
	if w.dis != nil {
		w.imm(strconv.FormatUint(uint64(v), 10))
	}
	return v
}

// blockType reads a block type: empty (0x40), a value type, or a type index (s33).
func (w *walker) blockType() {
	if w.pos < len(w.b) {
		switch c := w.b[w.pos]; {
		case c == 0x40:
			w.pos++
			return
		case c == 0x63 || c == 0x64: // (ref null? ht)
			w.pos++
			w.sleb(33)
			w.imm("ref")
			return
		case c >= 0x6b && c <= 0x7f:
			w.pos++
			w.imm(valueTypeName(c))
			return
		}
	}
	t := w.sleb(33)
	if w.dis != nil {
		w.imm("type[" + strconv.FormatInt(t, 10) + "]")
	}
}

func valueTypeName(c byte) string {
	switch c {
	case 0x7f:
		return "i32"
	case 0x7e:
		return "i64"
	case 0x7d:
		return "f32"
	case 0x7c:
		return "f64"
	case 0x7b:
		return "v128"
	case 0x70:
		return "funcref"
	case 0x6f:
		return "externref"
	}
	return fmt.Sprintf("0x%02x", c)
}

// memarg reads alignment (with the multi-memory flag, bit 6) and offset.
func (w *walker) memarg() {
	align := w.uleb(32)
	if align&0x40 != 0 {
		w.uleb(32) // memory index
	}
	off := w.uleb(64)
	if w.dis != nil && off != 0 {
		w.imm("offset=" + strconv.FormatUint(off, 10))
	}
}

// instr is what the walk needs to know of one instruction.
type instr struct {
	prefix byte   // 0, or 0xFC, 0xFD, 0xFE
	op     uint32 // the opcode after the prefix
	callee uint32 // call, return_call, ref.func: the function index
}

// next decodes one instruction.
func (w *walker) next() instr {
	in := instr{op: uint32(w.byte())}
	if w.err != nil {
		return in
	}
	switch op := in.op; {
	case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x19, op == 0x1a, op == 0x1b,
		op == 0x0a, op == 0xd1, op == 0xd3, op == 0xd4, op >= 0x45 && op <= 0xc4:
		// no immediate
	case op >= 0x02 && op <= 0x04, op == 0x06: // block, loop, if, try
		w.blockType()
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0c, op == 0x0d, op == 0x18, op == 0xd5, op == 0xd6,
		op >= 0x20 && op <= 0x26, op == 0x14, op == 0x15:
		w.u32imm()
	case op == 0x0e: // br_table
		n := w.uleb(32)
		if n > uint64(len(w.b)-w.pos) {
			w.fail(errTooMany)
			return in
		}
		for i := uint64(0); i <= n && w.err == nil; i++ {
			w.u32imm()
		}
	case op == 0x10, op == 0x12, op == 0xd2: // call, return_call, ref.func
		in.callee = uint32(w.uleb(32))
		w.imm(strconv.FormatUint(uint64(in.callee), 10))
	case op == 0x11, op == 0x13: // call_indirect type table
		t := w.uleb(32)
		tab := w.uleb(32)
		if w.dis != nil {
			w.imm(fmt.Sprintf("type[%d]", t))
			if tab != 0 {
				w.imm(fmt.Sprintf("table[%d]", tab))
			}
		}
	case op == 0x1c: // select t*
		n := w.uleb(32)
		for i := uint64(0); i < n && w.err == nil; i++ {
			w.imm(valueTypeName(w.byte()))
		}
	case op == 0x1f: // try_table bt catch*
		w.blockType()
		n := w.uleb(32)
		for i := uint64(0); i < n && w.err == nil; i++ {
			if k := w.byte(); k <= 1 {
				w.u32imm() // tag
			}
			w.u32imm() // label
		}
	case op >= 0x28 && op <= 0x3e:
		w.memarg()
	case op == 0x3f, op == 0x40: // memory.size, memory.grow: memory index
		w.uleb(32)
	case op == 0x41:
		v := w.sleb(32)
		w.imm(strconv.FormatInt(int64(int32(v)), 10))
	case op == 0x42:
		v := w.sleb(64)
		w.imm(strconv.FormatInt(v, 10))
	case op == 0x43:
		if b := w.skip(4); b != nil && w.dis != nil {
			f := math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
			w.imm(strconv.FormatFloat(float64(f), 'g', -1, 32))
		}
	case op == 0x44:
		if b := w.skip(8); b != nil && w.dis != nil {
			var u uint64
			for i := 7; i >= 0; i-- {
				u = u<<8 | uint64(b[i])
			}
			w.imm(strconv.FormatFloat(math.Float64frombits(u), 'g', -1, 64))
		}
	case op == 0xd0: // ref.null heaptype
		if w.pos < len(w.b) && w.b[w.pos] >= 0x40 && w.b[w.pos] < 0x80 {
			w.imm(valueTypeName(w.byte()))
		} else {
			w.sleb(33)
		}
	case op == 0xfc:
		in.prefix, in.op = 0xfc, uint32(w.uleb(32))
		w.misc(in.op)
	case op == 0xfd:
		in.prefix, in.op = 0xfd, uint32(w.uleb(32))
		w.simd(in.op)
	case op == 0xfe:
		in.prefix, in.op = 0xfe, uint32(w.uleb(32))
		if in.op == 0x03 { // atomic.fence
			w.byte()
		} else {
			w.memarg()
		}
	default:
		w.fail(fmt.Errorf("%w 0x%02x", errOpcode, op))
	}
	return in
}

// misc reads the immediates of an 0xFC-prefixed instruction.
func (w *walker) misc(op uint32) {
	switch {
	case op <= 7: // saturating truncations
	case op == 8, op == 10, op == 12, op == 14: // memory.init, memory.copy, table.init, table.copy
		w.u32imm()
		w.u32imm()
	case op == 9, op == 11, op == 13, op == 15, op == 16, op == 17:
		w.u32imm()
	default:
		w.fail(fmt.Errorf("%w 0xfc %d", errOpcode, op))
	}
}

// simd reads the immediates of an 0xFD-prefixed instruction.
func (w *walker) simd(op uint32) {
	switch {
	case op <= 0x0b, op == 0x5c, op == 0x5d: // loads and stores
		w.memarg()
	case op == 0x0c, op == 0x0d: // v128.const, i8x16.shuffle
		w.skip(16)
	case op >= 0x15 && op <= 0x22: // extract_lane, replace_lane
		l := w.byte()
		w.imm(strconv.Itoa(int(l)))
	case op >= 0x54 && op <= 0x5b: // load_lane, store_lane
		w.memarg()
		l := w.byte()
		w.imm(strconv.Itoa(int(l)))
	case op <= 0x113: // no immediate
	default:
		w.fail(fmt.Errorf("%w 0xfd %d", errOpcode, op))
	}
}

// isLoad and isStore classify memory accesses.
func (in instr) isLoad() bool {
	switch in.prefix {
	case 0:
		return in.op >= 0x28 && in.op <= 0x35
	case 0xfd:
		return in.op <= 0x0a || in.op >= 0x54 && in.op <= 0x57 || in.op == 0x5c || in.op == 0x5d
	case 0xfe:
		return in.op >= 0x10 && in.op <= 0x16 || in.op >= 0x1e // loads and read-modify-writes
	}
	return false
}

func (in instr) isStore() bool {
	switch in.prefix {
	case 0:
		return in.op >= 0x36 && in.op <= 0x3e
	case 0xfd:
		return in.op == 0x0b || in.op >= 0x58 && in.op <= 0x5b
	case 0xfe:
		return in.op >= 0x17 && in.op <= 0x1d || in.op >= 0x1e // stores and read-modify-writes
	}
	return false
}

// name is the instruction's mnemonic.
func (in instr) name() string {
	var s string
	switch in.prefix {
	case 0:
		s = opNames[in.op]
	case 0xfc:
		if in.op < 256 {
			s = opNamesFC[in.op]
		}
	case 0xfd:
		if in.op < 256 {
			s = opNamesFD[in.op]
		}
	case 0xfe:
		if in.op < 256 {
			s = opNamesFE[in.op]
		}
	}
	if s == "" {
		if in.prefix != 0 {
			return fmt.Sprintf("0x%02x.%d", in.prefix, in.op)
		}
		return fmt.Sprintf("0x%02x", in.op)
	}
	return s
}

// walk computes the figures of one defined function, but those of the call graph.
// stack is scratch space, returned for the next function.
func (fm *FuncMetrics) walk(code []byte, stack []bool) []bool {
	w := walker{b: code}
	stack = stack[:0]
	loops := 0 // loops open
	seen := map[uint32]bool(nil)
	for w.pos < len(w.b) && w.err == nil {
		in := w.next()
		if w.err != nil {
			break
		}
		fm.Instrs++
		if in.prefix != 0 {
			if in.isLoad() {
				fm.Loads++
			}
			if in.isStore() {
				fm.Stores++
			}
			continue
		}
		switch op := in.op; {
		case op == 0x02 || op == 0x04 || op == 0x06 || op == 0x1f:
			stack = append(stack, false)
		case op == 0x03:
			stack = append(stack, true)
			fm.Loops++
			loops++
			fm.LoopDepth = max(fm.LoopDepth, loops)
		case op == 0x0b:
			if n := len(stack); n > 0 {
				if stack[n-1] {
					loops--
				}
				stack = stack[:n-1]
			} else if w.pos != len(w.b) {
				w.fail(fmt.Errorf("end of the function before the end of its body"))
			}
		case op == 0x10 || op == 0x12:
			fm.DirectCalls++
			if !seen[in.callee] {
				if seen == nil {
					seen = map[uint32]bool{}
				}
				seen[in.callee] = true
				fm.Callees = append(fm.Callees, in.callee)
			}
		case op == 0x11 || op == 0x13 || op == 0x14 || op == 0x15:
			fm.IndirectCalls++
		case op == 0xd2:
			if !containsU32(fm.Refs, in.callee) {
				fm.Refs = append(fm.Refs, in.callee)
			}
		case op >= 0x28 && op <= 0x35:
			fm.Loads++
		case op >= 0x36 && op <= 0x3e:
			fm.Stores++
		}
	}
	if w.err == nil && len(stack) > 0 {
		w.err = fmt.Errorf("%d blocks not closed", len(stack))
	}
	if w.err != nil {
		fm.Err = fmt.Errorf("function %d: at byte %d of its code: %w", fm.Index, w.pos, w.err)
	}
	fm.Leaf = fm.DirectCalls == 0 && fm.IndirectCalls == 0
	return stack
}

func containsU32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Instr is one disassembled instruction.
type Instr struct {
	Offset int    // in the binary
	Depth  int    // block nesting, for indentation
	Text   string // mnemonic and immediates: "call 3", "i32.load offset=8"
}

// Disassemble decodes the first max instructions of function idx (all when max <= 0). The
// instructions decoded before an error are returned with it.
func (m *Module) Disassemble(idx uint32, max int) ([]Instr, error) {
	if int(idx) >= len(m.Funcs) {
		return nil, fmt.Errorf("wasm: no function %d: the module has %d", idx, len(m.Funcs))
	}
	f := &m.Funcs[idx]
	if f.Imported() {
		return nil, fmt.Errorf("wasm: function %d is imported from %s.%s: it has no body", idx, f.Import.Module, f.Import.Name)
	}
	base := f.Offset + f.Size - len(f.Code)
	var out []Instr
	var b strings.Builder
	w := walker{b: f.Code, dis: &b}
	depth := 0
	for w.pos < len(w.b) && (max <= 0 || len(out) < max) {
		at := w.pos
		b.Reset()
		in := w.next()
		if w.err != nil {
			return out, fmt.Errorf("wasm: function %d, byte %d of its code: %w", idx, at, w.err)
		}
		d := depth
		if in.prefix == 0 {
			switch in.op {
			case 0x02, 0x03, 0x04, 0x06, 0x1f:
				depth++
			case 0x05, 0x07, 0x19:
				d--
			case 0x0b, 0x18:
				depth--
				d = depth
			case 0x10, 0x12, 0xd2:
				if int(in.callee) < len(m.Funcs) && m.Funcs[in.callee].Name != "" {
					b.WriteString(" <" + m.Funcs[in.callee].Name + ">")
				}
			}
		}
		out = append(out, Instr{Offset: base + at, Depth: max0(d), Text: in.name() + b.String()})
	}
	return out, nil
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}
