//go:build unix

package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// watchWriter keeps what is written, counts the writes, and closes seen once what it holds
// contains watch.
type watchWriter struct {
	watch  string
	seen   chan struct{}
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func newWatchWriter(watch string) *watchWriter {
	return &watchWriter{watch: watch, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := w.watch != "" && strings.Contains(w.buf.String(), w.watch)
	w.buf.Write(p)
	w.writes++
	if w.watch != "" && !had && strings.Contains(w.buf.String(), w.watch) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *watchWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

const cutNote = "… output cut at 1 MiB: the call goes on, and the rest of what it prints is dropped\n"

// A call that prints more than node.MaxCallOutput runs to its end; the client gets the first
// node.MaxCallOutput bytes, a note where the output was cut and one that says how much was
// dropped, in a few messages rather than one per line.
func TestOutputCut(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	const n = 300000 // 1.4 MiB of "tick\n"
	stdout, stderr := newWatchWriter(""), newWatchWriter("")
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{n}, Stdout: stdout, Stderr: stderr})
	if res.Values[0] != n {
		t.Errorf("ticks(%d) = %v", n, res.Values)
	}
	out := stdout.String()
	// 209715 ticks and the "t" of the next fill 1 MiB.
	if want := strings.Repeat("tick\n", node.MaxCallOutput/5) + "t"; out != want {
		t.Errorf("stdout: %d bytes ending %q, want %d ending %q", len(out), out[max(0, len(out)-12):], len(want), want[len(want)-12:])
	}
	dropped := n*5 - node.MaxCallOutput
	if want := "\n" + cutNote + fmt.Sprintf("… output cut at 1 MiB (%d bytes dropped)\n", dropped); stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	if w := stdout.count(); w > 1000 {
		t.Errorf("stdout came in %d writes: a front end would handle each", w)
	}
	t.Logf("1 MiB of output in %d writes", stdout.count())
}

// A call that prints without end is cut at node.MaxCallOutput with a note while it runs; it can be
// interrupted, and the node then runs the next call.
func TestOutputCutWhileRunning(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	stdout, stderr := newWatchWriter(""), newWatchWriter(cutNote)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "ticks_forever"}, Stdout: stdout, Stderr: stderr})
		errc <- err
	}()
	select {
	case <-stderr.seen:
	case err := <-errc:
		t.Fatalf("ticks_forever ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no note after 10 s and %d bytes of output", len(stdout.String()))
	}
	cancel()
	if err := <-errc; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted call: %v, want ErrInterrupted", err)
	}
	if got := len(stdout.String()); got > node.MaxCallOutput {
		t.Errorf("%d bytes of output, over the %d of the cap", got, node.MaxCallOutput)
	}
	out := newWatchWriter("")
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "ticks"}, Args: []uint64{2}, Stdout: out})
	if res.Values[0] != 2 || out.String() != "tick\ntick\n" {
		t.Errorf("next call: ticks(2) = %v printing %q", res.Values, out.String())
	}
}
