// Package session holds Rain's cell language and its state.
//
// A cell is Starlark (go.starlark.net) with IPython-style magics: a line `%name args` anywhere
// in a cell, or a cell whose first line is `%%name args`. A Session parses a cell, evaluates it
// and returns the value of its last expression. It owns the loaded Wasm modules and the
// cluster client that runs their functions on nodes. It knows no terminal and no ZeroMQ: the
// REPL and the Jupyter kernel drive it through Exec, Complete, Inspect and IsComplete, and
// receive what a cell prints through the Output interface.
//
// # Errors
//
// A cell that fails returns an *Error: a kind, one line, and sometimes a traceback. The kernel
// sends them as ename, evalue and traceback; the REPL and `rain run` print the traceback, then
// "Kind: line". The kind says whose move it is:
//
//   - UsageError: what the user typed is wrong. A magic, builtin, method or Wasm function was
//     given something it does not take: an argument too many or too few, a value of the wrong
//     type or out of range, an unknown magic, option, module, export or node, a file that is
//     not there or not a Wasm module, a token the hub refuses. The line names what was wrong
//     and says what is accepted or what to do. It is raised where the input is read, before
//     anything runs.
//   - SyntaxError, CompileError: the cell's Starlark, or the source of %%wat, %%c or wat(),
//     does not compile (or its compiler is not installed); the line says where, the traceback
//     holds the compiler's diagnostics.
//   - Error: Starlark itself stopped the program, in its own words, as Python would with a
//     NameError or a TypeError: an undefined name, an operand of the wrong type, an
//     unhashable value, fail(). The traceback is the Starlark stack when the program stopped
//     inside a function the user wrote.
//   - The world failed while the cell ran, and the kind names how: Trap (the Wasm code
//     trapped; the line names the function and the node, the traceback is the Wasm stack),
//     NodeLost (the node running a call died), NoNodes (no node is there to run it),
//     ClusterError (anything else a node or the hub reported: the line names the node and
//     the function), HubLost (the hub has been unreachable for the hub timeout), Timeout (a
//     limit the user gave ran out: wait(timeout=), grain(limit=)), Interrupted (the user
//     stopped the cell, or the map), StdinError (input() where the front end takes none),
//     LaunchError (%cluster launch could not start its job, or the job failed before its
//     nodes joined: the line is the scheduler's words — sbatch's, ssh's — or the end of the
//     job's output).
//
// In the code: a builtin unpacks its arguments with unpackArgs or unpackPositional, whose
// errors are UsageErrors in Starlark's words; it reports any other mistake in its input with
// usageError, and a failure it finds itself (no node ready, a limit run out) with failure and
// a kind. A magic's translator returns the reason alone, which translate makes a UsageError
// naming the line and the magic. The errors of packages cluster and wasm get their kind in
// cellError, from their sentinels and types. Wrapping any of these with %w keeps its kind and
// puts the wrapper's words in front ("pmap: input 3: …"). A plain error from a builtin would
// show as Error, which is Starlark's: TestErrorKinds holds a bad input for every builtin.
package session
