// Command data measures how fast Rain moves data to its nodes and back, and computes on data
// kept there: a hub and a client in this process, 2 local `rain node` processes, an f64 array
// of -mib MiB. It prints its figures as JSON for bench/data/run, which measures the peers the
// same way and prints the table.
//
//	go run ./bench/data -rain bin/rain [-mib 256] [-reps 3] [-examples examples]
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/bench/internal/rig"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/wasm"
)

func main() {
	rain := flag.String("rain", "bin/rain", "the rain binary the nodes run")
	mib := flag.Int("mib", 256, "the array's size in MiB")
	reps := flag.Int("reps", 3, "runs of each measure but the call (see callReps): the best is kept")
	examples := flag.String("examples", "examples", "directory of stats.wasm")
	profile := flag.String("cpuprofile", "", "write this process's CPU profile (hub and client) to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/data:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rain, *examples, *mib, *reps); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/data:", err)
		os.Exit(1)
	}
}

// figures are what the table shows; the peers' script prints the same keys. Times are seconds.
type figures struct {
	System  string  `json:"system"`
	Bytes   int     `json:"bytes"`
	Parts   int     `json:"parts"`
	Scatter float64 `json:"scatter_s"` // the array to the nodes, one part each
	Gather  float64 `json:"gather_s"`  // and back
	Push    float64 `json:"push_s,omitempty"`
	Pull    float64 `json:"pull_s,omitempty"`
	Map     float64 `json:"map_s"` // the sum of each part, where it is
	MapSent int64   `json:"map_sent_bytes,omitempty"`
	Call    float64 `json:"call_s"` // a call with an array of callMiB, the array it writes back as large: the median of callReps
	What    string  `json:"what"`
}

func run(rain, examples string, mib, reps int) error {
	ctx := context.Background()
	r, err := rig.Start(ctx, rain)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.AddNodes(ctx, 2); err != nil {
		return err
	}
	client := r.Client
	stats, err := r.Load(ctx, filepath.Join(examples, "stats.wasm"))
	if err != nil {
		return err
	}

	const parts = 2
	n := mib << 20 / 8
	data := make([]byte, 8*n)
	var want [parts]float64
	for i := range n {
		x := float64(i%1000) / 8 // sums exactly, in any order
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(x))
		want[i*parts/n] += x
	}
	split := [][]byte{data[:8*(n/2)], data[8*(n/2):]}
	f := figures{System: "rain", Bytes: len(data), Parts: parts,
		What: "cluster.Scatter of 2 parts (one a node, over its data link: from memory to memory, the nodes being on this machine), cluster.Gather; " +
			"a map of examples/stats.wasm sum(part, n) over the parts, where they are; " +
			"a call of stats.scale(xs, n, 2.0, out), xs and out of 16 MiB (past the hub's max payload: over the node's data link)"}
	best := func(d *float64, t time.Duration) {
		if *d == 0 || t.Seconds() < *d {
			*d = t.Seconds()
		}
	}
	for range reps {
		// Both nodes ready, so that each takes a part (a node silent for 2 s on a busy
		// machine is not, for a while).
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := client.WaitNodes(wctx, 2)
		cancel()
		if err != nil {
			return err
		}
		t0 := time.Now()
		placed, err := client.Scatter(ctx, split, 8)
		if err != nil {
			return err
		}
		t1 := time.Now()
		shas := []string{placed[0].Hash, placed[1].Hash}
		if placed[0].Node == placed[1].Node { // a node silent for 2 s on a busy machine is passed over
			fmt.Fprintf(os.Stderr, "bench/data: both parts on node %s this time\n", placed[0].Node)
		}
		back, err := client.Gather(ctx, shas)
		if err != nil {
			return err
		}
		t2 := time.Now()
		best(&f.Scatter, t1.Sub(t0))
		best(&f.Gather, t2.Sub(t1))
		if len(back[0])+len(back[1]) != len(data) || !equal(back[0], split[0]) || !equal(back[1], split[1]) {
			return fmt.Errorf("gathered bytes unlike those scattered")
		}
		back = nil
		// The sum of each part where it is (the first run instantiates compiled code).
		spec := cluster.MapSpec{Export: cluster.Export{Module: stats, Func: "sum"}, Chunk: 1}
		for k, p := range placed {
			spec.Args = append(spec.Args, []uint64{0, api.EncodeI32(int32(p.Size / 8))})
			spec.Data = append(spec.Data, cluster.DataArg{Hash: shas[k]})
		}
		for range 2 {
			t0 := time.Now()
			r, err := client.Map(ctx, spec, nil)
			if err != nil {
				return err
			}
			best(&f.Map, time.Since(t0))
			f.MapSent = r.Sent
			for k, t := range r.Tasks {
				if t.Err != nil {
					return t.Err
				}
				if got := api.DecodeF64(t.Values[0]); got != want[k] {
					return fmt.Errorf("part %d sums to %v, want %v", k, got, want[k])
				}
			}
		}
		client.Free(shas...)
	}
	// A call with an array past the hub's max payload, and its answer as large: the median of
	// callReps, after one that readies memory at each end.
	xs := data[:min(len(data), callMiB<<20)]
	var calls []float64
	for k := range callReps + 1 {
		out := make([]byte, len(xs))
		t0 := time.Now()
		r, err := client.Call(ctx, cluster.Call{Export: cluster.Export{Module: stats, Func: "scale"},
			Args:    []uint64{0, api.EncodeI32(int32(len(xs) / 8)), api.EncodeF64(2), 0},
			Buffers: []wasm.Buffer{{Arg: 0, Data: xs, Align: 8}, {Arg: 3, Data: out, Align: 8}}})
		if err != nil {
			return err
		}
		if k > 0 {
			calls = append(calls, time.Since(t0).Seconds())
		}
		got, ok := r.Buffer(3)
		for i := 0; ok && i < len(xs); i += 8 {
			ok = math.Float64frombits(binary.LittleEndian.Uint64(got[i:])) == 2*math.Float64frombits(binary.LittleEndian.Uint64(xs[i:]))
		}
		if !ok {
			return fmt.Errorf("stats.scale of %d MiB: not twice the array", callMiB)
		}
	}
	slices.Sort(calls)
	f.Call = calls[len(calls)/2]
	return json.NewEncoder(os.Stdout).Encode(f)
}

func equal(a, b []byte) bool { return bytes.Equal(a, b) }

// callMiB is the size of the array of the benchmark's call, and of its answer: twice the hub's
// default max payload; callReps is how many calls its figure is the median of (peers.py's
// CALL_REPS).
const (
	callMiB  = 16
	callReps = 9
)
