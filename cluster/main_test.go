package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
)

// The test binary is also the node binary: with testNodeEnv set it runs node.Run (as
// `rain node` would), and with node.WorkerEnv set it runs node.RunWorker.
const (
	testNodeEnv  = "RAIN_TEST_NODE"
	testCacheEnv = "RAIN_TEST_CACHE"
	testEchoEnv  = "RAIN_TEST_ECHO" // hub URL: answer every request on echoSubject with its data
)

func TestMain(m *testing.M) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	if node.IsWorker() {
		node.RunWorker(ctx)
	}
	if url := os.Getenv(testEchoEnv); url != "" {
		runEcho(ctx, url)
	}
	// A fuzzing test binary runs copies of itself (-test.fuzzworker) in its environment, where
	// testNodeEnv is set: they are test binaries, not nodes.
	if os.Getenv(testNodeEnv) != "" && !slices.Contains(os.Args[1:], "-test.fuzzworker") {
		fs := flag.NewFlagSet("node", flag.ExitOnError)
		join := fs.String("join", "", "hub URL")
		dir := fs.String("dir", "", "a directory WASI modules see")
		fs.Parse(os.Args[1:])
		opts := []node.Option{node.WithJoin(*join), node.WithToken(os.Getenv(TokenEnv)), node.WithCacheDir(os.Getenv(testCacheEnv))}
		if *dir != "" {
			opts = append(opts, node.WithDir(*dir))
		}
		err := node.Run(ctx, opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	stop()
	cache, err := os.MkdirTemp("", "rain-cluster-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv(testNodeEnv, "1")
	os.Setenv(testCacheEnv, cache)
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}
