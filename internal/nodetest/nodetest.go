// Package nodetest lets a test binary stand in for `rain node`, so that a package's tests can
// start sessions whose local nodes are real processes without building cmd/rain: a launcher
// runs the test binary (os.Args[0]) as it would rain, with the argument "node", and the test's
// TestMain calls Main first.
package nodetest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rain-wasm/rain/cluster/node"
)

// Main runs this process as a node's worker, or as `rain node --join URL [--token T]` with the
// flags of node.Settings when its first argument is "node", and then exits. Otherwise it
// returns, and the test binary goes on to run its tests.
func Main() {
	if node.IsWorker() {
		node.RunWorker(context.Background())
	}
	if len(os.Args) < 2 || os.Args[1] != "node" {
		return
	}
	fs := flag.NewFlagSet("node", flag.ExitOnError)
	join := fs.String("join", "", "the hub's URL")
	token := fs.String("token", os.Getenv(node.TokenEnv), "the hub's token")
	settings := node.DefaultSettings()
	settings.RegisterFlags(fs)
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := node.Run(ctx, node.WithJoin(*join), node.WithToken(*token), node.WithSettings(settings)); err != nil {
		fmt.Fprintln(os.Stderr, "rain node (test binary):", err)
		os.Exit(1)
	}
	os.Exit(0)
}
