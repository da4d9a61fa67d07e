// Package proc ties the processes Rain starts to the process that starts them: a node's
// supervisor starts its worker, a session starts local nodes, and both want the same: the child
// dies with its parent, and a Ctrl-C in the terminal reaches the parent alone.
package proc
