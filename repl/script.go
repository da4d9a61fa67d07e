package repl

import (
	"context"
	"fmt"
	"io"

	"github.com/rain-wasm/rain/display"
	"github.com/rain-wasm/rain/session"
)

// ErrScript is returned by RunScript when a cell failed; the error has been printed.
var ErrScript = fmt.Errorf("repl: the script stopped at an error")

// RunScript runs the cells of a script (see session.SplitCells) in order, printing what each
// prints and the value of its last expression. It stops at the first error, which it prints
// to stderr as "NAME:LINE: Kind: message" with its traceback, and returns ErrScript.
func RunScript(ctx context.Context, s *session.Session, name, src string, stdout, stderr io.Writer) error {
	out := &printer{stdout: stdout, stderr: stderr}
	for _, cell := range session.SplitCells(src) {
		v, err := s.Exec(ctx, cell, out)
		out.endCell() // a live display (a load still going on) shows its last text with its cell
		if err != nil {
			e, ok := err.(*session.Error)
			if !ok {
				e = &session.Error{Name: "Error", Value: err.Error()}
			}
			line := e.Line // cells keep their lines in the script (see session.SplitCells)
			if line == 0 {
				line = 1 + len(cell) - len(trimLeadingNewlines(cell))
			}
			out.error(&session.Error{Name: fmt.Sprintf("%s:%d: %s", name, line, e.Name), Value: e.Value, Traceback: e.Traceback})
			return ErrScript
		}
		if v != nil {
			out.value(display.Terminal(v, false))
		}
	}
	return nil
}

func trimLeadingNewlines(s string) string {
	for len(s) > 0 && s[0] == '\n' {
		s = s[1:]
	}
	return s
}
