package session

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster"
)

// testNodeEnv, set to "1", makes this test binary act as `rain node` (and as its worker), so
// that tests can start sessions with real local nodes.
const testNodeEnv = "RAIN_SESSION_TEST_NODE"

func TestMain(m *testing.M) {
	if cluster.IsWorker() {
		cluster.RunWorker(context.Background())
	}
	if os.Getenv(testNodeEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "node" {
		fs := flag.NewFlagSet("node", flag.ExitOnError)
		join := fs.String("join", "", "hub URL")
		fs.String("engine", "auto", "engine")
		fs.Parse(os.Args[2:])
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := cluster.RunNode(ctx, cluster.WithJoin(*join), cluster.WithToken(os.Getenv(cluster.TokenEnv))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Setenv(testNodeEnv, "1")
	os.Exit(m.Run())
}

// online is a session with n local nodes (this test binary), ready, and with basics and
// mandelbrot loaded.
func online(t *testing.T, n int) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, WithNodes(n), WithNodeCommand(os.Args[0], "node"), WithDir("../examples"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.WaitNodes(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "%load basics.wasm\n%load mandelbrot.wasm", &recorder{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// pmapRun executes code in s and returns its value's repr.
func pmapRun(t *testing.T, s *Session, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	v, err := s.Exec(ctx, code, &recorder{})
	if err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	if v == nil {
		return "None"
	}
	return v.String()
}
