package session

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

// streamWriter is an io.Writer that sends to one stream of an Output.
type streamWriter struct {
	out  Output
	name string
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.out.Stream(w.name, string(p))
	return len(p), nil
}
