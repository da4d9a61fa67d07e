package session

// SKETCH of the Session API (signatures fixed; bodies being written).

import (
	"context"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
)

// Session holds a cell language's state: globals, loaded modules and the cluster client.
type Session struct{}

// Option configures a Session.
type Option func(*options) error

type options struct{}

// New starts a session: it connects to (or starts) a hub and brings up local nodes in the
// background; the session is usable at once.
func New(ctx context.Context, opts ...Option) (*Session, error) { return &Session{}, nil }

// Exec runs one cell. It returns the value of the cell's last expression (nil if none).
// Errors are *Error. Cancelling ctx interrupts running Wasm on every node within a second.
func (s *Session) Exec(ctx context.Context, code string, out Output) (starlark.Value, error) {
	return nil, nil
}

// Complete returns completions for code at byte offset cursor, replacing code[start:end].
func (s *Session) Complete(code string, cursor int) (matches []string, start, end int) {
	return nil, cursor, cursor
}

// Inspect returns help for the name at cursor (detail 0: signature and summary; 1: more).
func (s *Session) Inspect(code string, cursor, detail int) (display.Bundle, bool) {
	return nil, false
}

// IsComplete says whether code is a complete cell: "complete", "incomplete" (with the indent
// to continue with) or "invalid".
func (s *Session) IsComplete(code string) (status, indent string) { return "complete", "" }

// Banner describes the session: version, nodes, their architecture and engine.
func (s *Session) Banner() string { return "Rain" }

// Close stops local nodes and the hub the session started.
func (s *Session) Close() error { return nil }
