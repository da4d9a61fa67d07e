package wasm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// Trap is a call that stopped abnormally: a Wasm trap such as "integer divide by zero",
// "unreachable" or "out of bounds memory access", or a WASI proc_exit with a non-zero code
// ("exited with code 2"). Its fields are exported so that it survives JSON encoding, as when a
// node reports it over the wire.
//
// A module whose memory.grow fails (it returns -1 at the runtime's MemoryLimit) usually turns
// that into a trap of its own — unreachable, an abort, exit code 2 — that says nothing of
// memory. So a trap that happens while the instance's memory is at or near the limit names
// the limit, in MemoryLimit and in its message, and matches ErrMemoryLimit.
type Trap struct {
	Func        string      `json:"func"`                   // the export that was called
	Reason      string      `json:"reason"`                 // what went wrong, as the engine says it
	Stack       []string    `json:"stack,omitempty"`        // function names, innermost frame first
	MemoryLimit MemoryLimit `json:"memory_limit,omitempty"` // the limit the memory was at or near, or 0
}

// Error is one line: "wasm: trap in fib: integer divide by zero", or "wasm: trap in grow:
// unreachable (memory limit 256 MiB reached; see --memory-limit)". The stack is in Stack.
func (t *Trap) Error() string {
	if t.MemoryLimit != 0 {
		return fmt.Sprintf("wasm: trap in %s: %s (memory limit %s reached; see --memory-limit)", t.Func, t.Reason, t.MemoryLimit)
	}
	return fmt.Sprintf("wasm: trap in %s: %s", t.Func, t.Reason)
}

// Is makes errors.Is(err, ErrMemoryLimit) true for a trap at the memory limit.
func (t *Trap) Is(target error) bool { return target == ErrMemoryLimit && t.MemoryLimit != 0 }

// frameSig is the signature wazero appends to each frame: "(i32,i64) f32" or "() (i32,i32)".
var frameSig = regexp.MustCompile(`\([a-z0-9,]*\)( [a-z0-9]+| \([a-z0-9,]+\))?$`)

// asTrap turns the error of calling export fn into what Call returns: nil for a proc_exit(0),
// the context's error (wrapped) when the call was interrupted, and a *Trap otherwise.
func asTrap(fn string, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch code := exit.ExitCode(); code {
		case 0:
			return nil
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("wasm: %s interrupted: %w", fn, context.Canceled)
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("wasm: %s interrupted: %w", fn, context.DeadlineExceeded)
		default:
			return &Trap{Func: fn, Reason: fmt.Sprintf("exited with code %d", code)}
		}
	}
	msg := err.Error()
	t := &Trap{Func: fn}
	head, trace, _ := strings.Cut(msg, "\nwasm stack trace:\n")
	t.Reason = strings.TrimPrefix(head, "wasm error: ")
	for _, line := range strings.Split(trace, "\n") {
		// Frames are indented by one tab; source lines (from DWARF) by two; a Go stack (after a
		// wazero or host panic) follows an empty line.
		if line == "" {
			break
		}
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t\t") {
			continue
		}
		frame := strings.TrimPrefix(line, "\t")
		if strings.HasPrefix(frame, "...") {
			t.Stack = append(t.Stack, "...")
			continue
		}
		if loc := frameSig.FindStringIndex(frame); loc != nil {
			frame = frame[:loc[0]]
		}
		// wazero names a frame "module.function"; our instances have an empty module name.
		t.Stack = append(t.Stack, strings.TrimPrefix(frame, "."))
	}
	return t
}
