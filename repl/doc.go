// Package repl is Rain's terminal front end: a readline loop (history, Tab completion,
// multi-line cells, Ctrl-C) that drives a session, and RunScript, which runs a file of cells
// non-interactively. It holds no language logic: the session parses and evaluates; display
// renders.
package repl
