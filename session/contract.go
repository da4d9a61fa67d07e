package session

// CONTRACT — the API the front ends (repl, kernel) code against.

import (
	"errors"

	"github.com/rain-wasm/rain/display"
)

// Output is where a running cell sends what it produces besides its value. The kernel sends
// these as iopub messages; the REPL prints them. Methods may be called from several goroutines.
type Output interface {
	// Stream sends text to "stdout" or "stderr" (Wasm WASI output, print()).
	Stream(name, text string)
	// Display shows a bundle. A non-empty id names a display that later calls with update=true
	// replace in place (progress bars).
	Display(b display.Bundle, id string, update bool)
	// Clear clears the cell's output; wait defers the clearing until new output arrives.
	Clear(wait bool)
	// Input asks the user for a line. It returns ErrNoStdin when the front end cannot ask.
	Input(prompt string, password bool) (string, error)
}

// ErrNoStdin is returned by Output.Input when the front end does not allow input.
var ErrNoStdin = errors.New("session: this front end does not accept input")

// Error is a failed cell: Name is the kind ("SyntaxError", "Trap", "Interrupted", ...), Value
// the one-line message, Traceback the lines a front end shows (a Wasm stack, a Starlark
// backtrace).
type Error struct {
	Name      string
	Value     string
	Traceback []string
}

func (e *Error) Error() string { return e.Name + ": " + e.Value }
