package cluster

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/internal/nodetest"
)

// The test binary is also the node binary: given the argument "node" it runs node.Run (as
// `rain node` would, see nodetest.Main), and with node.WorkerEnv set it runs node.RunWorker.
const testEchoEnv = "RAIN_TEST_ECHO" // hub URL: answer every request on echoSubject with its data

// testCache is the cache directory the test nodes share.
var testCache string

// inCache runs a node with the default settings but its cache directory, dir.
func inCache(dir string) node.Option {
	s := node.DefaultSettings()
	s.CacheDir = dir
	return node.WithSettings(s)
}

func TestMain(m *testing.M) {
	nodetest.Main()
	if url := os.Getenv(testEchoEnv); url != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		runEcho(ctx, url)
	}
	var err error
	if testCache, err = os.MkdirTemp("", "rain-cluster-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(testCache)
	os.Exit(code)
}
