package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// waitNodes waits until cond holds of the client's nodes, as their statuses change.
func waitNodes(t *testing.T, c *Client, cond func([]NodeInfo) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		changed := c.Changed()
		if cond(c.Nodes()) {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the nodes are %+v", c.Nodes())
		}
	}
}

// noData says whether the nodes keep no data.
func noData(nodes []NodeInfo) bool {
	for _, n := range nodes {
		if n.Data != 0 {
			return false
		}
	}
	return true
}

// f64s is xs as little-endian bytes, as an f64 array holds them.
func f64s(xs []float64) []byte {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// cut splits data into k parts along 8-byte elements, as scatter splits an array.
func cut(data []byte, k int) [][]byte {
	n := len(data) / 8
	parts := make([][]byte, k)
	for i := range k {
		parts[i] = data[8*(i*n/k) : 8*((i+1)*n/k)]
	}
	return parts
}

// testData is n f64s.
func testData(n int) []byte {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Sin(float64(i)) * 100
	}
	return f64s(xs)
}

// sumSpec is a map of stats.sum over parts: sum(part, n).
func sumSpec(sha string, parts []DataPart) MapSpec {
	spec := MapSpec{Export: Export{Module: sha, Func: "sum"}, Chunk: 1}
	for _, p := range parts {
		spec.Args = append(spec.Args, []uint64{0, api.EncodeI32(int32(p.Size / 8))})
		spec.Data = append(spec.Data, DataArg{Arg: 0, Hash: p.Hash})
	}
	return spec
}

// sums are the sums of the f64s of each part, in order, as stats.sum adds them.
func sums(parts [][]byte) []float64 {
	out := make([]float64, len(parts))
	for i, p := range parts {
		for k := 0; k < len(p); k += 8 {
			out[i] += math.Float64frombits(binary.LittleEndian.Uint64(p[k:]))
		}
	}
	return out
}

func checkSums(t *testing.T, r *MapResult, want []float64) {
	t.Helper()
	for i, task := range r.Tasks {
		if task.Err != nil {
			t.Fatalf("task %d: %v", i, task.Err)
		}
		if got := api.DecodeF64(task.Values[0]); got != want[i] {
			t.Fatalf("task %d: sum %v, want %v", i, got, want[i])
		}
	}
}

// Scatter and Gather: the parts come back as they went, whatever their number, from both
// nodes; parts spread over the nodes.
func TestScatterGather(t *testing.T) {
	tc := startCluster(t, 2)
	data := testData(3<<20/8*3 + 5) // 9 MiB and 40 bytes: parts of several chunks
	for _, k := range []int{1, 2, 5, 16} {
		parts := cut(data, k)
		placed, err := tc.client.Scatter(t.Context(), parts, 8)
		if err != nil {
			t.Fatalf("%d parts: %v", k, err)
		}
		nodes := map[string]int{}
		shas := make([]string, k)
		for i, p := range placed {
			if p.Node == "" || p.Size != len(parts[i]) {
				t.Fatalf("%d parts: part %d placed as %+v", k, i, p)
			}
			nodes[p.Node]++
			shas[i] = p.Hash
		}
		if k > 1 && len(nodes) != 2 {
			t.Errorf("%d parts on %v: want both nodes", k, nodes)
		}
		back, err := tc.client.Gather(t.Context(), shas)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Join(back, nil); !bytes.Equal(got, data) {
			t.Fatalf("%d parts: gathered %d bytes unlike the %d scattered", k, len(got), len(data))
		}
		tc.client.Free(shas...)
	}
	// Freed, the nodes hold nothing more.
	waitNodes(t, tc.client, noData)
	if _, err := tc.client.Gather(t.Context(), []string{strings.Repeat("a", 64)}); !errors.Is(err, ErrUnknownData) {
		t.Errorf("gather of a part never scattered: %v", err)
	}
}

// A map over scattered parts runs each task where its part is, and moves no byte of the data:
// the hub carries a few hundred bytes a task, while the parts are megabytes. Its results are
// those of the parts' sums.
func TestMapOverDataMovesNoData(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, stats)
	data := testData(4 << 20 / 8 * 4) // 16 MiB
	parts := cut(data, 8)
	placed, err := tc.client.Scatter(t.Context(), parts, 8)
	if err != nil {
		t.Fatal(err)
	}
	in0, out0 := tc.hub.Traffic()
	r, err := tc.client.Map(t.Context(), sumSpec(sha, placed), nil)
	if err != nil {
		t.Fatal(err)
	}
	in1, out1 := tc.hub.Traffic()
	checkSums(t, r, sums(parts))
	for i, task := range r.Tasks {
		if task.Node != placed[i].Node {
			t.Errorf("task %d ran on %s, its part is on %s", i, task.Node, placed[i].Node)
		}
	}
	moved := (in1 - in0) + (out1 - out0)
	t.Logf("the hub carried %d bytes in, %d out for a map over %d bytes; the map sent %d, received %d",
		in1-in0, out1-out0, len(data), r.Sent, r.Received)
	if moved > 64<<10 || r.Sent > 16<<10 {
		t.Errorf("the hub carried %d bytes (the map sent %d) for a map over %d bytes kept on the nodes", moved, r.Sent, len(data))
	}
	// The same map with the parts as arrays carries them all.
	spec := sumSpec(sha, placed)
	spec.Data = nil
	spec.Buffers = make([][]wasm.Buffer, len(parts))
	for i, p := range parts {
		spec.Buffers[i] = []wasm.Buffer{{Arg: 0, Data: p, Align: 8}}
	}
	r2, err := tc.client.Map(t.Context(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, r2, sums(parts))
	if r2.Sent < int64(len(data)) {
		t.Errorf("a map of arrays sent %d bytes, less than its %d of arrays", r2.Sent, len(data))
	}
}

// scaleKept maps stats.wasm's scale(xs, n, k, out) over parts placed, out = k·xs kept on the
// nodes.
func scaleKept(t *testing.T, tc *testCluster, sha string, placed []DataPart, k float64) *MapResult {
	t.Helper()
	spec := MapSpec{Export: Export{Module: sha, Func: "scale"}, Out: &wasm.Buffer{Align: 8}, OutLike: true, Keep: true}
	for _, p := range placed {
		spec.Args = append(spec.Args, []uint64{0, api.EncodeI32(int32(p.Size / 8)), api.EncodeF64(k)})
		spec.Data = append(spec.Data, DataArg{Hash: p.Hash})
	}
	r, err := tc.client.Map(t.Context(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// keep=True: a map's outputs stay on the nodes as parts, a next map runs over them, and
// Gather brings them back; Free drops them all.
func TestMapKeep(t *testing.T) {
	tc := startCluster(t, 2)
	sha := tc.load(t, stats)
	data := testData(1 << 18)
	parts := cut(data, 4)
	placed, err := tc.client.Scatter(t.Context(), parts, 8)
	if err != nil {
		t.Fatal(err)
	}
	r := scaleKept(t, tc, sha, placed, 2)
	var kept []DataPart
	var want [][]byte
	for i, task := range r.Tasks {
		if task.Err != nil || task.Kept == nil || task.Kept.Node != placed[i].Node || len(task.Buffers) != 0 {
			t.Fatalf("task %d: %v, kept %+v, %d buffers back", i, task.Err, task.Kept, len(task.Buffers))
		}
		kept = append(kept, *task.Kept)
		xs := make([]float64, len(parts[i])/8)
		for k := range xs {
			xs[k] = 2 * math.Float64frombits(binary.LittleEndian.Uint64(parts[i][8*k:]))
		}
		want = append(want, f64s(xs))
	}
	if r.Received > 16<<10 {
		t.Errorf("the map received %d bytes: its outputs came back", r.Received)
	}
	r2, err := tc.client.Map(t.Context(), sumSpec(sha, kept), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, r2, sums(want))
	shas := make([]string, len(kept))
	for i, k := range kept {
		shas[i] = k.Hash
	}
	back, err := tc.client.Gather(t.Context(), shas)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.Join(back, nil), bytes.Join(want, nil)) {
		t.Fatal("the kept outputs came back unlike 2·xs")
	}
	for _, p := range placed {
		tc.client.Free(p.Hash)
	}
	tc.client.Free(shas...)
	waitNodes(t, tc.client, noData)
}

// A node keeps data up to its memory limit: a part past it fails with ErrDataLimit, naming the
// sizes; parts within it are kept, also right after a free the node has not yet told of.
func TestScatterDataLimit(t *testing.T) {
	s := node.DefaultSettings()
	s.MemoryLimit = 1 << 20
	tc := startClusterWith(t, 1, s)
	_, err := tc.client.Scatter(t.Context(), [][]byte{make([]byte, 2<<20)}, 8)
	if !errors.Is(err, ErrDataLimit) || !strings.Contains(err.Error(), "2 MiB") || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("a part of 2 MiB on a node of 1 MiB: %v", err)
	}
	placed, err := tc.client.Scatter(t.Context(), [][]byte{make([]byte, 600<<10)}, 8)
	if err != nil {
		t.Fatal(err)
	}
	waitNodes(t, tc.client, func(nodes []NodeInfo) bool { return len(nodes) == 1 && nodes[0].Data == 600<<10 })
	// A second part that fits alone, but not beside the first.
	_, err = tc.client.Scatter(t.Context(), [][]byte{bytes.Repeat([]byte{1}, 600<<10)}, 8)
	if !errors.Is(err, ErrDataLimit) {
		t.Fatalf("a second part past the limit: %v", err)
	}
	t.Log(err)
	// At once after a free, while what the node said last still counts the part freed.
	tc.client.Free(placed[0].Hash)
	if _, err := tc.client.Scatter(t.Context(), [][]byte{bytes.Repeat([]byte{1}, 600<<10)}, 8); err != nil {
		t.Fatalf("a part that fits once the other was freed: %v", err)
	}
}

// A part damaged on its way is rejected by the node (its CRC-32C does not match) and sent
// again: over the node's data link, and in chunks through the hub.
func TestScatterDamaged(t *testing.T) {
	for _, tt := range []struct {
		name     string
		settings node.Settings
	}{
		{"link", node.DefaultSettings()},
		{"hub", noLink()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := startClusterWith(t, 1, tt.settings)
			damaged := 0
			tc.client.damage = func(id string, off int, data []byte) []byte {
				if off != 0 || damaged > 0 {
					return data
				}
				damaged++
				bad := bytes.Clone(data)
				bad[0] ^= 1
				return bad
			}
			data := testData(3 << 20)
			placed, err := tc.client.Scatter(t.Context(), [][]byte{data}, 8)
			if err != nil {
				t.Fatal(err)
			}
			back, err := tc.client.Gather(t.Context(), []string{placed[0].Hash})
			if err != nil || !bytes.Equal(back[0], data) || damaged != 1 {
				t.Fatalf("damaged %d times: %v", damaged, err)
			}
			if n := tc.client.Nodes()[0]; n.DataLink != (tt.name == "link") {
				t.Errorf("node's data link: %v", n.DataLink)
			}
		})
	}
}

// A part whose bytes are not what its name says is its sender's alone. A client that names
// its part as another's bytes maps over its own bytes; a second client that scatters the true
// bytes gets them back, and its map their sum, although the first's bytes were in the node's
// worker already: the node checks a part's SHA-256 when a second client asks for it, and drops
// the first's.
func TestDataMisnamed(t *testing.T) {
	for _, settings := range []node.Settings{node.DefaultSettings(), noLink()} {
		t.Run(fmt.Sprintf("data port %v", settings.DataPort), func(t *testing.T) {
			tc := startClusterWith(t, 1, settings)
			sha := tc.load(t, stats)
			truth := testData(1 << 17)
			lie := bytes.Clone(truth)
			lie[15] ^= 0x80 // the second number's sign
			name := placedOf(t, tc.client, truth)[0].Hash

			liar, err := Connect(t.Context(), tc.hub.URL(), tc.hub.Token())
			if err != nil {
				t.Fatal(err)
			}
			defer liar.Close()
			if err := liar.WaitNodes(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			bin, err := os.ReadFile(stats)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := liar.Load(t.Context(), bin); err != nil {
				t.Fatal(err)
			}
			liar.misname = func([]byte) string { return name }
			tc.client.Free(name)
			waitNodes(t, tc.client, noData)
			lied, err := liar.Scatter(t.Context(), [][]byte{lie}, 8)
			if err != nil || lied[0].Hash != name {
				t.Fatalf("the liar's scatter: %+v %v", lied, err)
			}
			r, err := liar.Map(t.Context(), sumSpec(sha, lied), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, r, sums([][]byte{lie})) // its own bytes, unchecked

			placed := placedOf(t, tc.client, truth)
			if r, err = tc.client.Map(t.Context(), sumSpec(sha, placed), nil); err != nil {
				t.Fatal(err)
			}
			checkSums(t, r, sums([][]byte{truth}))
			back, err := tc.client.Gather(t.Context(), []string{name})
			if err != nil || !bytes.Equal(back[0], truth) {
				t.Fatalf("gathered the liar's bytes: %v", err)
			}
		})
	}
}

// A call whose arrays are too large for the hub's max payload (8 MiB) sends its large arrays
// to its node as parts of data, and has those it changed come back as parts: over the node's
// data link, the hub carries a few KiB; through the hub, in chunks. Its result is that of
// the same call with small arrays, its own arrays are left as they were, and the node keeps
// nothing after it.
func TestCallLargeArrays(t *testing.T) {
	for _, tt := range dataWays {
		t.Run(tt.name, func(t *testing.T) {
			tc := startClusterWith(t, 1, tt.settings)
			sha := tc.load(t, stats)
			const n = 1 << 21 // 16 MiB of f64
			xs := part(3, n)
			scale := Call{Export: Export{Module: sha, Func: "scale"},
				Args:    []uint64{0, api.EncodeI32(n), api.EncodeF64(-1.5), 0},
				Buffers: []wasm.Buffer{{Arg: 0, Data: f64Bytes(xs), Align: 8}, {Arg: 3, Data: make([]byte, 8*n), Align: 8}},
			}
			in0, out0 := tc.hub.Traffic()
			res := tc.call(t, scale)
			in1, out1 := tc.hub.Traffic()
			out, ok := res.Buffer(3)
			if !ok || len(res.Buffers) != 1 {
				t.Fatalf("scale sent back %d arrays (out: %v), want out alone", len(res.Buffers), ok)
			}
			checkScaled(t, "scale of 16 MiB", xs, -1.5, out)
			if !bytes.Equal(scale.Buffers[1].Data, make([]byte, 8*n)) {
				t.Error("the call's own array was written")
			}
			moved := (in1 - in0) + (out1 - out0)
			t.Logf("the hub carried %d bytes for a call with 32 MiB of arrays", moved)
			if viaHub := moved > 32<<20; viaHub != tt.viaHub || !viaHub && moved > 64<<10 {
				t.Errorf("the hub carried %d bytes for a call with 32 MiB of arrays", moved)
			}
			waitNodes(t, tc.client, noData)
		})
	}
}

// A call whose array passes the hub's max payload prints as any call does, and what it writes
// in the array comes back: an array of data, and one of zeros (which the node makes).
func TestCallLargeOutput(t *testing.T) {
	tc := startCluster(t, 1)
	sha := tc.load(t, "testdata/stream.wasm")
	for _, first := range []byte{41, 0} {
		data := make([]byte, 9<<20)
		data[0] = first
		var out bytes.Buffer
		res := tc.call(t, Call{Export: Export{Module: sha, Func: "tick_array"}, Args: []uint64{0, api.EncodeI32(int32(len(data)))},
			Buffers: []wasm.Buffer{{Arg: 0, Data: data, Align: 1}}, Stdout: &out})
		got, _ := res.Buffer(0)
		if out.String() != "tick\n" || len(got) != len(data) || got[0] != first+1 || api.DecodeI32(res.Values[0]) != int32(len(data)) {
			t.Errorf("tick_array of 9 MiB from %d: printed %q, %d bytes back", first, out.String(), len(got))
		}
	}
	waitNodes(t, tc.client, noData)
}

// A map whose tasks' arrays pass the hub's max payload runs each such task alone, its arrays
// sent to its node as data (over the data link, or through the hub), between tasks that fit in
// a message; an input that tasks on two nodes share is on each; an output too large comes back
// the same way. The nodes keep nothing after.
func TestMapLargeTasks(t *testing.T) {
	for _, tt := range dataWays {
		t.Run(tt.name, func(t *testing.T) {
			tc := startClusterOn(t, startHub(t, WithHubMaxPayload(64<<10)), 2, tt.settings)
			sha := tc.load(t, stats)
			const n = 100 << 10 / 8 // 100 KiB of f64
			shared := part(99, n)
			var sum, scale MapSpec
			var ins [][]float64
			large := 0 // bytes of the arrays too large for a message, in and out
			for i := range 16 {
				xs := part(i, n)
				switch i % 4 {
				case 1:
					xs = shared
				case 3:
					xs = part(i, 16) // small enough for a message
				}
				ins = append(ins, xs)
				sum.Args = append(sum.Args, []uint64{0, api.EncodeI32(int32(len(xs)))})
				sum.Buffers = append(sum.Buffers, []wasm.Buffer{{Arg: 0, Data: f64Bytes(xs), Align: 8}})
				if len(xs) == n {
					large += 8 * n
				}
				if i < 4 { // and its output: large too
					scale.Args = append(scale.Args, []uint64{0, api.EncodeI32(int32(len(xs))), api.EncodeF64(float64(i))})
					scale.Buffers = append(scale.Buffers, sum.Buffers[i])
					large += 8*len(xs) + 8*n
				}
			}
			sum.Export = Export{Module: sha, Func: "sum"}
			scale.Export, scale.Out = Export{Module: sha, Func: "scale"}, &wasm.Buffer{Data: make([]byte, 8*n), Align: 8}
			in0, out0 := tc.hub.Traffic()
			sums, err := tc.client.Map(t.Context(), sum, nil)
			if err != nil {
				t.Fatal(err)
			}
			scaled, err := tc.client.Map(t.Context(), scale, nil)
			if err != nil {
				t.Fatal(err)
			}
			in1, out1 := tc.hub.Traffic()
			for i, xs := range ins {
				want := 0.0
				for _, x := range xs {
					want += x
				}
				if r := sums.Tasks[i]; r.Err != nil || math.Abs(api.DecodeF64(r.Values[0])-want) > 1e-6*math.Abs(want) {
					t.Errorf("sum of task %d: %v %v, want %v", i, r.Values, r.Err, want)
				}
				if i >= len(scale.Args) {
					continue
				}
				out, ok := scaled.Tasks[i].Buffer(3)
				if scaled.Tasks[i].Err != nil || !ok || len(out) != 8*n {
					t.Fatalf("scale of task %d: %v, %d bytes out", i, scaled.Tasks[i].Err, len(out))
				}
				checkScaled(t, fmt.Sprintf("scale of task %d", i), xs, float64(i), out[:8*len(xs)])
				if !zeros(out[8*len(xs):]) {
					t.Errorf("scale of task %d: its output past its %d values is not zeros", i, len(xs))
				}
			}
			moved := (in1 - in0) + (out1 - out0)
			t.Logf("the hub carried %d bytes for maps with %d bytes of large arrays, over %v and %v", moved, large, sums.PerNode(), scaled.PerNode())
			if viaHub := moved > int64(large); viaHub != tt.viaHub {
				t.Errorf("the hub carried %d bytes for maps with %d bytes of large arrays", moved, large)
			}
			if !bytes.Equal(scale.Out.Data, make([]byte, 8*n)) || !bytes.Equal(sum.Buffers[1][0].Data, f64Bytes(shared)) {
				t.Error("the map wrote the caller's arrays")
			}
			waitNodes(t, tc.client, noData)

			// The input scattered: a call on its node uses the part, a call on the other a copy,
			// which goes when the call is done; the part stays.
			placed := placedOf(t, tc.client, f64Bytes(shared))
			for _, nd := range tc.client.Nodes() {
				res := tc.call(t, Call{Export: sum.Export, Node: nd.ID, Args: sum.Args[1], Buffers: sum.Buffers[1]})
				if got, want := api.DecodeF64(res.Values[0]), api.DecodeF64(sums.Tasks[1].Values[0]); got != want {
					t.Errorf("sum on node %s (the part on %s): %v, want %v", nd.ID, placed[0].Node, got, want)
				}
			}
			waitNodes(t, tc.client, func(nodes []NodeInfo) bool {
				for _, nd := range nodes {
					if held := nd.Data != 0; held != (nd.ID == placed[0].Node) {
						return false
					}
				}
				return true
			})
			back, err := tc.client.Gather(t.Context(), []string{placed[0].Hash})
			if err != nil || !bytes.Equal(back[0], f64Bytes(shared)) {
				t.Errorf("gather of the part after the calls: %v", err)
			}
			tc.client.Free(placed[0].Hash)
			waitNodes(t, tc.client, noData)
		})
	}
}

// dataWays are the ways data goes to a node and back: over its data link, or through the hub
// (its data port off).
var dataWays = []struct {
	name     string
	settings node.Settings
	viaHub   bool
}{
	{"link", node.DefaultSettings(), false},
	{"hub", noLink(), true},
}

// noLink is the settings of a node with its data port off: its data goes through the hub.
func noLink() node.Settings {
	s := node.DefaultSettings()
	s.DataPort = node.DataPortOff
	return s
}

// placedOf scatters data as one part with c.
func placedOf(t *testing.T, c *Client, data []byte) []DataPart {
	t.Helper()
	placed, err := c.Scatter(t.Context(), [][]byte{data}, 8)
	if err != nil {
		t.Fatal(err)
	}
	return placed
}

// A client that closes lets go of its data: its nodes drop what they kept for it alone.
func TestCloseFreesData(t *testing.T) {
	tc := startCluster(t, 1)
	other, err := Connect(t.Context(), tc.hub.URL(), tc.hub.Token())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := other.WaitNodes(ctx, 1); err != nil {
		t.Fatal(err)
	}
	shared := testData(1000)
	if _, err := tc.client.Scatter(t.Context(), [][]byte{shared}, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Scatter(t.Context(), [][]byte{shared, testData(2000)}, 8); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, tc.client, func(n []NodeInfo) bool { return n[0].DataParts == 2 })
	other.Close()
	// The part both held stays; the other's own goes.
	waitNodes(t, tc.client, func(n []NodeInfo) bool { return n[0].DataParts == 1 && n[0].Data == int64(len(shared)) })
}

// The parts' SHA-256 names them: the same bytes scattered twice are kept once, and held until
// both are freed.
func TestScatterSameBytes(t *testing.T) {
	tc := startCluster(t, 1)
	data := testData(1000)
	a, err := tc.client.Scatter(t.Context(), [][]byte{data}, 8)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tc.client.Scatter(t.Context(), [][]byte{slices.Clone(data)}, 8)
	if err != nil || a[0] != b[0] {
		t.Fatalf("%+v and %+v: %v", a, b, err)
	}
	tc.client.Free(a[0].Hash)
	if _, err := tc.client.Gather(t.Context(), []string{b[0].Hash}); err != nil {
		t.Fatalf("gather after one of two frees: %v", err)
	}
	tc.client.Free(b[0].Hash)
	if _, err := tc.client.Gather(t.Context(), []string{b[0].Hash}); !errors.Is(err, ErrUnknownData) {
		t.Fatalf("gather after both frees: %v", err)
	}
}
