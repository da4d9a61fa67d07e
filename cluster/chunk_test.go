package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// A chunk damaged on its way to a node is rejected by the node (its SHA-256 does not match) and
// sent again; the load completes and the module runs. A chunk damaged every time fails the
// load with ErrChecksum after chunkTries sendings.
func TestChunkDamagedResent(t *testing.T) {
	const chunk = 4096
	bin, err := os.ReadFile("../examples/hello.wasm") // 33 KiB: 9 chunks
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		damage int // sendings of the chunk at offset 2×chunk to damage, per node
		err    error
	}{
		{"once", 1, nil},
		{"twice", chunkTries - 1, nil},
		{"always", 1 << 30, ErrChecksum},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A custom section of random bytes makes the module new to the nodes' shared cache.
			bin := append(bytes.Clone(bin), 0, 13, 4, 'r', 'a', 'n', 'd')
			bin = append(bin, wire.RandomHex(4)...)
			tc := startCluster(t, 2, WithChunkSize(chunk))
			var mu sync.Mutex
			sent := map[string]int{} // sendings of the damaged chunk, per node
			// Both nodes reach the chunk before either gets it: otherwise the first to have
			// the whole module could write it to the shared cache before the other is asked
			// whether it has it, and the other would take it from there.
			var both sync.WaitGroup
			both.Add(2)
			reached := map[string]bool{}
			tc.client.damage = func(id string, off int, data []byte) []byte {
				if off != 2*chunk {
					return data
				}
				mu.Lock()
				if !reached[id] {
					reached[id] = true
					both.Done()
				}
				mu.Unlock()
				waited := make(chan struct{})
				go func() { both.Wait(); close(waited) }()
				select {
				case <-waited:
				case <-time.After(5 * time.Second):
				}
				mu.Lock()
				defer mu.Unlock()
				sent[id]++
				if sent[id] > tt.damage {
					return data
				}
				bad := bytes.Clone(data)
				bad[len(bad)/2] ^= 0xff
				return bad
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			sha, err := tc.client.Load(ctx, bin)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Load: %v, want %v", err, tt.err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(sent) != 2 {
				t.Fatalf("damaged chunk sent to %d nodes, want 2", len(sent))
			}
			want := min(tt.damage+1, chunkTries)
			for id, k := range sent {
				if k != want {
					t.Errorf("node %s: chunk sent %d times, want %d", id, k, want)
				}
			}
			if err != nil {
				return
			}
			for _, n := range tc.client.Nodes() {
				res, err := tc.client.Call(ctx, Call{Export: Export{Module: sha, Func: "greet"}, Args: []uint64{2}, Node: n.ID, Stdout: new(bytes.Buffer)})
				if err != nil || len(res.Values) != 1 || res.Values[0] != 2 {
					t.Fatalf("node %s: greet(2) = %+v, %v after a resent chunk", n.ID, res, err)
				}
			}
		})
	}
}
