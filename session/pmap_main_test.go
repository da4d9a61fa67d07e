package session

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rain-wasm/rain/internal/nodetest"
	"github.com/rain-wasm/rain/internal/slurmtest"
)

func TestMain(m *testing.M) {
	nodetest.Main() // the sessions' local nodes are this test binary
	code := m.Run()
	slurmtest.Stop()
	os.Exit(code)
}

// started is a session with n local nodes (this test binary), ready, that reads files in
// examples/; the cells it builds are kept in a directory of the test's own.
func started(t *testing.T, n int, opts ...Option) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	opts = append([]Option{WithNodes(n), WithRainBinary(os.Args[0]), WithWorkDir("../examples"), WithCellCache(t.TempDir())}, opts...)
	s, err := New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.WaitNodes(ctx, n); err != nil {
		t.Fatal(err)
	}
	return s
}

// online is a session started with basics and mandelbrot loaded.
func online(t *testing.T, n int, opts ...Option) *Session {
	t.Helper()
	s := started(t, n, opts...)
	pmapRun(t, s, "%load basics.wasm\n%load mandelbrot.wasm")
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
