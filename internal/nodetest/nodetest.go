// Package nodetest lets a test binary stand in for `rain node`, so that a package's tests can
// start sessions whose local nodes are real processes without building cmd/rain: the session
// runs os.Args[0] with the argument "node", and the test's TestMain calls Main first.
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

// Main runs this process as a node's worker, or as `rain node --join URL [--token T]
// [--engine E] [--cache-dir D]` when its first argument is "node", and then exits. Otherwise it returns, and
// the test binary goes on to run its tests.
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
	engine := fs.String("engine", "auto", "compiler, interpreter or auto")
	cacheDir := fs.String("cache-dir", "", "where modules and compiled code are kept")
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := []node.Option{node.WithJoin(*join), node.WithToken(*token), node.WithCacheDir(*cacheDir)}
	if *engine != "auto" {
		opts = append(opts, node.WithEngine(*engine))
	}
	if err := node.Run(ctx, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "rain node (test binary):", err)
		os.Exit(1)
	}
	os.Exit(0)
}
