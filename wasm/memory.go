package wasm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/tetratelabs/wazero/api"
)

// PageSize is the size of a Wasm memory page: memories grow by whole pages.
const PageSize = 64 << 10

// maxMemory is the most a 32-bit Wasm memory can hold: 65536 pages, 4 GiB.
const maxMemory = 1 << 32

// MemoryLimit bounds the linear memory of each instance, in bytes, a whole number of 64 KiB
// pages; 0 is no limit but Wasm's own 4 GiB. A memory.grow past the limit returns -1, as the
// Wasm spec lets an engine do, and a module whose memory starts larger fails to load.
//
// It is a flag.Value: Set parses what a user gives (see ParseMemoryLimit), and String writes
// it back in a form Set reads.
type MemoryLimit uint64

// ParseMemoryLimit reads a memory limit: a number with a binary unit — "512MiB", "2GiB",
// "1.5G", "64KiB", "65536B" (K, M and G, with or without "i" and "B", case ignored, all powers
// of 1024) — or "none" or "0" for no limit. A bare number other than 0 is refused rather than
// guessed at (bytes? megabytes?). The size is rounded down to whole 64 KiB pages; it must be at
// least one page and at most 4 GiB, the most a 32-bit memory can hold.
func ParseMemoryLimit(s string) (MemoryLimit, error) {
	bad := func(why string) error {
		return fmt.Errorf("wasm: memory limit %q: %s; use a size such as 512MiB, 2GiB or 1G (64KiB to 4GiB), or none", s, why)
	}
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "none") {
		return 0, nil
	}
	num, suffix := t, ""
	if k := strings.IndexFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsSpace(r) }); k >= 0 {
		num, suffix = t[:k], strings.TrimSpace(t[k:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, bad("not a size")
	}
	unit := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(suffix), "b"), "i")
	var scale float64
	switch {
	case n == 0:
		return 0, nil
	case suffix == "":
		return 0, bad("no unit")
	case unit == "":
		scale = 1 // "B"
	case unit == "k":
		scale = 1 << 10
	case unit == "m":
		scale = 1 << 20
	case unit == "g":
		scale = 1 << 30
	case unit == "t":
		scale = 1 << 40
	default:
		return 0, bad("unknown unit")
	}
	switch bytes := n * scale; {
	case bytes > maxMemory:
		return 0, bad("over 4GiB, the most a Wasm memory can hold")
	case bytes < PageSize:
		return 0, bad("under one 64KiB page")
	default:
		return MemoryLimit(uint64(bytes) / PageSize * PageSize), nil
	}
}

// Set parses s as ParseMemoryLimit does: a MemoryLimit is a flag.Value.
func (m *MemoryLimit) Set(s string) error {
	v, err := ParseMemoryLimit(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String is the limit in the largest binary unit that holds it whole ("256 MiB", "1536 MiB",
// "4 GiB", "64 KiB"), or "none"; ParseMemoryLimit reads it back.
func (m MemoryLimit) String() string {
	switch {
	case m == 0:
		return "none"
	case m%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", m>>30)
	case m%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", m>>20)
	case m%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", m>>10)
	}
	return fmt.Sprintf("%d B", uint64(m))
}

// pages is the limit in pages as wazero takes it: 65536 with no limit.
func (m MemoryLimit) pages() uint32 {
	if m == 0 || m >= maxMemory {
		return maxMemory / PageSize
	}
	return uint32(m / PageSize)
}

// ErrMemoryLimit matches (through errors.Is) a *Trap whose instance's memory was at or near
// the runtime's MemoryLimit, and a module that cannot load because its memory starts over it.
var ErrMemoryLimit = errors.New("wasm: memory limit reached")

// memoryNear is how close to its limit an instance's memory must be for a trap to be blamed on
// the limit. Allocators grow memory in steps — wasi-libc's malloc by what it needs, Go's
// runtime by 4 MiB arenas, Rust's by what it needs — and turn a failed memory.grow into a trap
// (unreachable, abort, exit 2) while the memory is still up to a step short of the limit: an
// eighth of the limit, and at least 4 MiB, covers such steps without blaming the limit for a
// trap of a module that keeps well under it.
func (m MemoryLimit) near() uint64 { return max(uint64(m)/8, 4<<20) }

// blame marks trap as due to the memory limit when the memory of mod, where it happened, is
// within reach of the limit: a memory.grow that failed is then the likely cause, and the
// user must learn which limit it met.
func (m MemoryLimit) blame(trap *Trap, mod api.Module) {
	if m == 0 || mod == nil {
		return
	}
	if mem := memory(mod); mem != nil && uint64(mem.Size())+m.near() >= uint64(m) {
		trap.MemoryLimit = m
	}
}

// MemoryLimitError is a module whose memory starts larger than the runtime's MemoryLimit: it
// cannot be instantiated. errors.Is(err, ErrMemoryLimit) holds for it.
type MemoryLimitError struct {
	Min   uint64 // the module's initial memory, in bytes
	Limit MemoryLimit
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("wasm: the module's memory starts at %s, over the memory limit of %s (see --memory-limit)",
		MemoryLimit(e.Min), e.Limit)
}

// Is makes errors.Is(err, ErrMemoryLimit) true for a *MemoryLimitError.
func (e *MemoryLimitError) Is(target error) bool { return target == ErrMemoryLimit }
