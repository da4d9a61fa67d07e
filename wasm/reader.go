package wasm

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// reader reads the primitive encodings of the binary format from b, starting at pos; offsets
// are positions in the whole binary. The first error sticks: later reads return zero values,
// so a decoding loop checks err once per element.
type reader struct {
	b       []byte
	pos     int
	section string
	err     error
}

var (
	errEOF     = errors.New("unexpected end")
	errLEB     = errors.New("integer representation too long")
	errUTF8    = errors.New("name is not valid UTF-8")
	errTooMany = errors.New("count larger than the bytes that remain")
)

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.err = errEOF
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// u32 reads an unsigned LEB128 integer of at most 32 bits.
func (r *reader) u32() uint32 {
	v := r.uleb(32)
	return uint32(v)
}

// uleb reads an unsigned LEB128 integer of at most bits bits: at most ceil(bits/7) bytes, the
// last of which may carry only the bits that remain.
func (r *reader) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if shift+7 >= bits {
			if c>>(bits-shift) != 0 {
				r.err = errLEB
				return 0
			}
			return v
		}
		if c&0x80 == 0 {
			return v
		}
	}
}

// count reads a vector length, which cannot exceed the bytes that remain as every element
// takes at least one.
func (r *reader) count() uint32 {
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)-r.pos) {
		r.err = errTooMany
		return 0
	}
	return n
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil {
		return nil
	}
	if int64(n) > int64(len(r.b)-r.pos) {
		r.err = errEOF
		return nil
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *reader) name() string {
	b := r.bytes(r.u32())
	if r.err == nil && !utf8.Valid(b) {
		r.err = errUTF8
		return ""
	}
	return string(b)
}

func (r *reader) valueTypes() []api.ValueType {
	n := r.count()
	if r.err != nil {
		return nil
	}
	return append([]api.ValueType{}, r.bytes(n)...)
}

// limits reads table or memory limits: a flag byte, the minimum and, when flag bit 0 is set,
// the maximum (64-bit for memory64, flag bit 2). It returns the minimum.
func (r *reader) limits() (min uint64) {
	flag := r.byte()
	bits := uint(32)
	if flag&4 != 0 {
		bits = 64
	}
	min = r.uleb(bits)
	if flag&1 != 0 {
		r.uleb(bits)
	}
	return min
}

// done reports a sticky error, or bytes left over, at the end of a section.
func (r *reader) done() error {
	if r.err != nil {
		return r.fail("")
	}
	if r.pos != len(r.b) {
		return &DecodeError{Offset: r.pos, Section: r.section, Msg: fmt.Sprintf("%d bytes left over at the end of the section", len(r.b)-r.pos)}
	}
	return nil
}

// fail turns the sticky error into a *DecodeError about what.
// what may be empty when the section says enough.
func (r *reader) fail(what string) error {
	msg, off := r.err.Error(), r.pos
	if r.err == errEOF {
		msg, off = "truncated", len(r.b)
	}
	if what != "" {
		msg = what + ": " + msg
	}
	return &DecodeError{Offset: off, Section: r.section, Msg: msg}
}
