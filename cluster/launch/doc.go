// Package launch starts Rain's nodes where they are to run; today as processes on this machine
// (Local). A launcher knows how to start a node, not how a node runs: it takes the nodes'
// node.Settings and renders their command line with node.Command, so that a `rain node` flag is
// spelled only where it is parsed. The nodes join the hub whose URL it is given, with the hub's
// token in their environment, never on a command line; a client (cluster.Client.WaitNodes)
// sees them when they are ready.
package launch
