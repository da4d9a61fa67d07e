//go:build unix

package cluster

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// startNode runs a node's supervisor in this process (its worker is a process of its own),
// joined to tc's hub with settings s (in a cache directory of its own), and waits until it is
// ready. It stops when the test ends.
func (tc *testCluster) startNode(t *testing.T, s node.Settings) NodeInfo {
	t.Helper()
	before := map[string]bool{}
	for _, n := range tc.client.Nodes() {
		before[n.ID] = true
	}
	errc := make(chan error, 1)
	go func() {
		s.CacheDir = t.TempDir()
		errc <- node.Run(t.Context(), node.WithJoin(tc.hub.URL()), node.WithToken(tc.hub.Token()),
			node.WithSettings(s), node.WithLog(io.Discard))
	}()
	t.Cleanup(func() { <-errc })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tc.client.WaitNodes(ctx, len(before)+1); err != nil {
		t.Fatal(err)
	}
	for _, n := range tc.client.Nodes() {
		if !before[n.ID] {
			return n
		}
	}
	t.Fatal("the new node is not listed")
	return NodeInfo{}
}

// A node with a memory limit: a module that grows past it traps with a message that names the
// limit, and the node answers the next call without a restart; a module whose memory starts
// over the limit does not load, and says why.
func TestNodeMemoryLimit(t *testing.T) {
	tc := startCluster(t, 0)
	limited := tc.startNode(t, node.Settings{MemoryLimit: 16 << 20})
	sha := tc.load(t, "../wasm/testdata/grow.wasm")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "grow"}, Args: []uint64{api.EncodeI32(1000)}})
	var remote *RemoteError
	if !errors.As(err, &remote) || !errors.Is(err, wasm.ErrMemoryLimit) {
		t.Fatalf("grow(1000) under a 16 MiB limit: %v, want a *RemoteError matching wasm.ErrMemoryLimit", err)
	}
	if !strings.Contains(err.Error(), "unreachable (memory limit 16 MiB reached; see --memory-limit)") {
		t.Errorf("error %q does not name the limit", err)
	}
	res := tc.call(t, Call{Export: Export{Module: sha, Func: "pages"}})
	if got := api.DecodeI32(res.Values[0]); got != 256 {
		t.Errorf("pages() after the trap = %d, want 256 (16 MiB)", got)
	}
	if n := tc.node(t, limited.ID); n.PID != limited.PID || n.Restarts != limited.Restarts {
		t.Errorf("the worker restarted after the trap: %+v, was %+v", n, limited)
	}

	// A module whose memory starts at 512 pages, 32 MiB.
	big := []byte("\x00asm\x01\x00\x00\x00\x05\x04\x01\x00\x80\x04")
	_, err = tc.client.Load(ctx, big)
	if !errors.Is(err, wasm.ErrMemoryLimit) || !strings.Contains(err.Error(), "over the memory limit of 16 MiB") {
		t.Errorf("load of a module whose memory starts at 32 MiB: %v, want wasm.ErrMemoryLimit naming the limit", err)
	}
}
