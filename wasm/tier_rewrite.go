package wasm

import (
	"fmt"
	"strconv"
)

// globalExportPrefix names the exports exportMutableGlobals adds: "__rain_global_N" exports
// global N (an index in the module's global index space).
const globalExportPrefix = "__rain_global_"

// Value types a carried global may have: numbers only, whose uint64 encoding means the same in
// every runtime (a reference is a pointer into one runtime; a v128 does not fit a uint64).
const (
	valI32 = 0x7f
	valI64 = 0x7e
	valF32 = 0x7d
	valF64 = 0x7c
)

// exportMutableGlobals returns bin with one more export, "__rain_global_N", for every mutable
// global N the module defines with a numeric type, and the names it added. wazero reaches only
// exported globals, and a tier switch must carry every mutable global over (see the package
// comment). The export section is extended (its entry count and size rewritten), or added
// after the global section when the module has none. A module without mutable globals is
// returned unchanged.
func exportMutableGlobals(bin []byte) ([]byte, []string, error) {
	type span struct {
		id               byte
		start, body, end int // of the section's id byte, its contents, and past its end
	}
	var secs []span
	r := &reader{b: bin, pos: 8}
	for r.pos < len(bin) {
		start := r.pos
		id := r.byte()
		size := r.u32()
		if r.err != nil || uint64(r.pos)+uint64(size) > uint64(len(bin)) {
			return nil, nil, &DecodeError{Offset: start, Msg: "section header"}
		}
		secs = append(secs, span{id: id, start: start, body: r.pos, end: r.pos + int(size)})
		r.pos += int(size)
	}

	imported := uint32(0) // imported globals come first in the index space
	var names []string
	taken := map[string]bool{}
	exportAt := -1
	for k, s := range secs {
		sr := &reader{b: bin[:s.end], pos: s.body}
		switch s.id {
		case secImport:
			n := sr.count()
			for i := uint32(0); i < n && sr.err == nil; i++ {
				sr.name()
				sr.name()
				switch sr.byte() {
				case 0:
					sr.u32()
				case 1:
					sr.byte()
					sr.limits()
				case 2:
					sr.limits()
				case 3:
					sr.byte()
					sr.byte()
					imported++
				case 4:
					sr.byte()
					sr.u32()
				}
			}
		case secGlobal:
			n := sr.count()
			for i := uint32(0); i < n && sr.err == nil; i++ {
				typ, mut := sr.byte(), sr.byte()
				if err := skipConstExpr(sr); err != nil {
					return nil, nil, err
				}
				if mut == 1 && (typ == valI32 || typ == valI64 || typ == valF32 || typ == valF64) {
					names = append(names, globalExportPrefix+strconv.Itoa(int(imported+i)))
				}
			}
		case secExport:
			exportAt = k
			n := sr.count()
			for i := uint32(0); i < n && sr.err == nil; i++ {
				taken[sr.name()] = true
				sr.byte()
				sr.u32()
			}
		}
		if sr.err != nil {
			return nil, nil, sr.fail(sectionNames[min(int(s.id), len(sectionNames)-1)])
		}
	}
	if len(names) == 0 {
		return bin, nil, nil
	}

	var entries []byte
	for _, name := range names {
		if taken[name] {
			return nil, nil, fmt.Errorf("%w: the module already exports %q", ErrInvalid, name)
		}
		idx, _ := strconv.Atoi(name[len(globalExportPrefix):])
		entries = append(entries, appendULEB(nil, uint32(len(name)))...)
		entries = append(entries, name...)
		entries = append(entries, 3) // global
		entries = append(entries, appendULEB(nil, uint32(idx))...)
	}

	out := make([]byte, 0, len(bin)+len(entries)+16)
	if exportAt >= 0 {
		s := secs[exportAt]
		er := &reader{b: bin[:s.end], pos: s.body}
		n := er.count()
		var body []byte
		body = append(body, appendULEB(nil, n+uint32(len(names)))...)
		body = append(body, bin[er.pos:s.end]...)
		body = append(body, entries...)
		out = append(out, bin[:s.start]...)
		out = append(out, secExport)
		out = append(out, appendULEB(nil, uint32(len(body)))...)
		out = append(out, body...)
		out = append(out, bin[s.end:]...)
		return out, names, nil
	}
	// No export section: add one before the first section that must follow it.
	at := len(bin)
	for _, s := range secs {
		if s.id != secCustom && int(s.id) < len(sectionOrder) && sectionOrder[s.id] > sectionOrder[secExport] {
			at = s.start
			break
		}
	}
	body := append(appendULEB(nil, uint32(len(names))), entries...)
	out = append(out, bin[:at]...)
	out = append(out, secExport)
	out = append(out, appendULEB(nil, uint32(len(body)))...)
	out = append(out, body...)
	out = append(out, bin[at:]...)
	return out, names, nil
}

// skipConstExpr reads a constant expression (a global's initialiser) up to and including its
// end.
func skipConstExpr(r *reader) error {
	for r.err == nil {
		at := r.pos
		switch op := r.byte(); op {
		case 0x0b: // end
			return nil
		case 0x41: // i32.const
			skipLEB(r)
		case 0x42: // i64.const
			skipLEB(r)
		case 0x43: // f32.const
			r.bytes(4)
		case 0x44: // f64.const
			r.bytes(8)
		case 0x23, 0xd2: // global.get, ref.func
			r.u32()
		case 0xd0: // ref.null
			r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant arithmetic
		case 0xfd: // v128.const
			if sub := r.u32(); sub != 12 && r.err == nil {
				return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("unsupported instruction 0xfd %d in a constant expression", sub)}
			}
			r.bytes(16)
		default:
			if r.err == nil {
				return &DecodeError{Offset: at, Section: r.section, Msg: fmt.Sprintf("unsupported instruction 0x%02x in a constant expression", op)}
			}
		}
	}
	return r.fail("constant expression")
}

// skipLEB reads a LEB128 integer of any sign, of at most 10 bytes.
func skipLEB(r *reader) {
	for k := 0; k < 10 && r.err == nil; k++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	if r.err == nil {
		r.err = errLEB
	}
}

// appendULEB appends n as an unsigned LEB128 integer.
func appendULEB(b []byte, n uint32) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
