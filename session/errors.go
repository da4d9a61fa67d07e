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
	var eval *starlark.EvalError
	var trace []string
	msg := err.Error()
	if errors.As(err, &eval) {
		msg = eval.Msg
		if inner := errors.Unwrap(eval); inner != nil {
			msg = inner.Error()
		}
		// Starlark frames, when the error came from inside a function the user wrote.
		if stack := eval.CallStack; userFrames(stack) > 0 {
			trace = append(trace, "Starlark stack (most recent call last):")
			for _, f := range stack {
				trace = append(trace, fmt.Sprintf("  %s: in %s", f.Pos, f.Name))
			}
		}
	}
	var trap *wasm.Trap
	if errors.As(err, &trap) {
		value := trap.Error()
		var remote *cluster.RemoteError
		if errors.As(err, &remote) && remote.Node != "" {
			value += " (on node " + remote.Node + ")"
		}
		return &Error{Name: "Trap", Value: value, Traceback: append(trapStack(trap), trace...)}
	}
	var hub *cluster.HubError
	if errors.As(err, &hub) {
		return &Error{Name: "HubLost", Value: strings.TrimPrefix(hub.Error(), "cluster: ")}
	}
	if errors.Is(err, cluster.ErrInterrupted) || errors.Is(err, context.Canceled) || isCancelled(eval) {
		return &Error{Name: "Interrupted", Value: "the cell was interrupted; the session's state is kept"}
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

// userFrames counts the frames of functions the user wrote: a call made from the top level
// of a cell needs no Starlark stack to explain it.
func userFrames(stack starlark.CallStack) int {
	n := 0
	for _, f := range stack {
		if f.Name != "<toplevel>" && f.Pos.Filename() != "<builtin>" {
			n++
		}
	}
	return n
}
