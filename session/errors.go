package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/rain-wasm/rain/array"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/wasm"
)

// Error is a failed cell, as Exec returns it: Name is its kind (the package comment says which
// failure is which), Value the one line a user reads, Traceback the lines a front end shows
// above it (a Wasm stack, a Starlark backtrace, a compiler's diagnostics).
type Error struct {
	Name      string
	Value     string
	Traceback []string
	// Line is the cell's line where it failed (the innermost frame of code the cell wrote),
	// 0 when no line is known.
	Line int
}

func (e *Error) Error() string { return e.Name + ": " + e.Value }

// The kinds of a failed cell, as the package comment describes them.
const (
	kindUsage       = "UsageError"
	kindSyntax      = "SyntaxError"
	kindCompile     = "CompileError"
	kindError       = "Error"
	kindTrap        = "Trap"
	kindNodeLost    = "NodeLost"
	kindNoNodes     = "NoNodes"
	kindCluster     = "ClusterError"
	kindHubLost     = "HubLost"
	kindTimeout     = "Timeout"
	kindInterrupted = "Interrupted"
	kindStdin       = "StdinError"
	kindLaunch      = "LaunchError"
)

// kinded is an error this package makes, of a kind it names: a UsageError, or a failure it
// finds itself. Wrapped with %w it keeps its kind, and the cell shows the wrapper's line.
type kinded struct {
	kind, msg string
}

func (e *kinded) Error() string { return e.msg }

// usageError is a mistake in what the user typed: the line names what was wrong and says what
// is accepted or what to do.
func usageError(format string, args ...any) error {
	return &kinded{kind: kindUsage, msg: fmt.Sprintf(format, args...)}
}

// failure is a failure of the world that the session finds itself, of kind (kindNoNodes,
// kindTimeout, ...).
func failure(kind, format string, args ...any) error {
	return &kinded{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// unpackArgs is starlark.UnpackArgs for a builtin or method the user calls: a call that does
// not match its parameters is a UsageError, in Starlark's words ("pmap: missing argument for
// inputs").
func unpackArgs(fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	return asUsage(starlark.UnpackArgs(fn, args, kwargs, pairs...))
}

// unpackPositional is starlark.UnpackPositionalArgs, as unpackArgs is starlark.UnpackArgs.
func unpackPositional(fn string, args starlark.Tuple, kwargs []starlark.Tuple, min int, vars ...any) error {
	return asUsage(starlark.UnpackPositionalArgs(fn, args, kwargs, min, vars...))
}

func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &kinded{kind: kindUsage, msg: err.Error()}
}

// cellError turns whatever a cell failed with into an *Error.
func cellError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var serr syntax.Error
	if errors.As(err, &serr) {
		return &Error{Name: kindSyntax, Value: fmt.Sprintf("line %d, column %d: %s", serr.Pos.Line, serr.Pos.Col, serr.Msg), Line: int(serr.Pos.Line)}
	}
	var eval *starlark.EvalError
	var trace []string
	var line int
	msg := err.Error()
	var unresolved resolve.ErrorList
	if errors.As(err, &unresolved) && len(unresolved) > 0 {
		line = int(unresolved[0].Pos.Line)
	}
	if errors.As(err, &eval) {
		line = cellLine(eval.CallStack)
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
		return &Error{Name: kindTrap, Value: value, Traceback: append(trapStack(trap), trace...), Line: line}
	}
	kind := kindOf(err, eval)
	var own *kinded
	if kind == kindInterrupted && !errors.As(err, &own) {
		msg = "the cell was interrupted; the session's state is kept"
	}
	return &Error{Name: kind, Value: trimPrefix(msg), Traceback: trace, Line: line}
}

// cellLine is the line of the innermost frame in the cell's code, 0 if none.
func cellLine(stack starlark.CallStack) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Pos.Filename() == "<cell>" {
			return int(stack[i].Pos.Line)
		}
	}
	return 0
}

// kindOf is the kind of a failure that is not a trap.
func kindOf(err error, eval *starlark.EvalError) string {
	var own *kinded
	var remote *cluster.RemoteError
	var arr *array.Error
	switch {
	case errors.As(err, &own):
		return own.kind
	case errors.Is(err, cluster.ErrHubLost): // before the interrupt it causes
		return kindHubLost
	case errors.Is(err, cluster.ErrInterrupted), errors.Is(err, context.Canceled), isCancelled(eval):
		return kindInterrupted
	case errors.Is(err, cluster.ErrNodeLost):
		return kindNodeLost
	case errors.Is(err, cluster.ErrNoNodes):
		return kindNoNodes
	case errors.As(err, &remote), errors.Is(err, cluster.ErrChecksum), errors.Is(err, cluster.ErrTLS),
		errors.Is(err, cluster.ErrClosed), errors.Is(err, cluster.ErrUnknownModule), errors.Is(err, cluster.ErrNoData):
		return kindCluster
	case errors.Is(err, cluster.ErrUnauthorized), errors.Is(err, cluster.ErrUnknownNode),
		errors.Is(err, wasm.ErrNotWasm), errors.Is(err, wasm.ErrInvalid), errors.Is(err, wasm.ErrImport),
		errors.Is(err, wasm.ErrNoAllocator), errors.Is(err, cluster.ErrTooLarge), errors.Is(err, cluster.ErrUnknownData),
		errors.As(err, &arr):
		return kindUsage // a token, a node, a module, an array the user gave
	case errors.Is(err, ErrNoStdin):
		return kindStdin
	}
	return kindError
}

// trimPrefix drops the package prefix the line of a cluster or session error begins with:
// the user reads "HubLost: the hub at …", not "HubLost: cluster: the hub at …".
func trimPrefix(msg string) string {
	for _, p := range []string{"cluster: ", "session: "} {
		if s, ok := strings.CutPrefix(msg, p); ok {
			return s
		}
	}
	return msg
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
