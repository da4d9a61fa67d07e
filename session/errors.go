package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/wasm"
)

// Error is a failed cell: Name is the kind ("SyntaxError", "Trap", "Interrupted", ...), Value
// the one-line message, Traceback the lines a front end shows (a Wasm stack, a Starlark
// backtrace).
type Error struct {
	Name      string
	Value     string
	Traceback []string
}

func (e *Error) Error() string { return e.Name + ": " + e.Value }

// usageError is a mistake in how a magic or builtin was used.
func usageError(format string, args ...any) *Error {
	return &Error{Name: "UsageError", Value: fmt.Sprintf(format, args...)}
}

// cellError turns whatever a cell failed with into an *Error.
func cellError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var serr syntax.Error
	if errors.As(err, &serr) {
		return &Error{Name: "SyntaxError", Value: fmt.Sprintf("line %d, column %d: %s", serr.Pos.Line, serr.Pos.Col, serr.Msg)}
	}
	var trace []string
	var eval *starlark.EvalError
	if errors.As(err, &eval) {
		for _, line := range strings.Split(strings.TrimRight(eval.Backtrace(), "\n"), "\n") {
			trace = append(trace, line)
		}
	}
	var trap *wasm.Trap
	if errors.As(err, &trap) {
		name := "Trap"
		var remote *cluster.RemoteError
		if errors.As(err, &remote) && remote.Node != "" {
			trap := *trap
			return &Error{Name: name, Value: fmt.Sprintf("%s (on node %s)", trap.Error(), remote.Node), Traceback: append(trapStack(&trap), trace...)}
		}
		return &Error{Name: name, Value: trap.Error(), Traceback: append(trapStack(trap), trace...)}
	}
	if errors.Is(err, cluster.ErrInterrupted) || errors.Is(err, context.Canceled) || isCancelled(eval) {
		return &Error{Name: "Interrupted", Value: "the cell was interrupted; the session's state is kept"}
	}
	msg := err.Error()
	if eval != nil {
		msg = eval.Msg
		if inner := errors.Unwrap(eval); inner != nil {
			msg = inner.Error()
		}
	}
	var ue *Error
	if errors.As(err, &ue) {
		return ue
	}
	return &Error{Name: "Error", Value: msg, Traceback: trace}
}

func isCancelled(eval *starlark.EvalError) bool {
	return eval != nil && strings.Contains(eval.Msg, "Starlark computation cancelled")
}

func trapStack(t *wasm.Trap) []string {
	lines := []string{"Wasm stack (innermost first):"}
	for _, f := range t.Stack {
		lines = append(lines, "  "+f)
	}
	return lines
}
