// Package session holds Rain's cell language and its state.
//
// A cell is Starlark (go.starlark.net) with IPython-style magics: a line `%name args` anywhere
// in a cell, or a cell whose first line is `%%name args`. A Session parses a cell, evaluates it
// and returns the value of its last expression. It owns the loaded Wasm modules and the
// cluster client that runs their functions on nodes. It knows no terminal and no ZeroMQ: the
// REPL and the Jupyter kernel drive it through Exec, Complete, Inspect and IsComplete, and
// receive what a cell prints through the Output interface.
package session
