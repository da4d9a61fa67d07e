// Command grain compares auto-grain (a map with no chunk size) with the best chunk size of a
// sweep, for a cheap (add), a medium (fib 15), a costly (mandelbrot row) and an uneven (fib of
// 11…21, whose cost varies 120× from one input to the next) function on 2 equal local nodes,
// and for fib(15) on two unequal ones (one on the compiler, one on the interpreter), and prints
// auto's throughput as a ratio of the best (target ≥ 0.9). Each figure is the median of -reps
// runs.
//
//	go run ./bench/grain [-reps 5] [-v]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

type workload struct {
	name, module, fn string
	args             [][]uint64
	chunks           []int
	unequal          bool // on a compiler node and an interpreter node
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if node.IsWorker() {
		node.RunWorker(ctx)
	}
	if len(os.Args) > 1 && os.Args[1] == "node" { // this program is also its own nodes
		fs := flag.NewFlagSet("node", flag.ExitOnError)
		join := fs.String("join", "", "hub URL")
		settings := node.DefaultSettings()
		settings.RegisterFlags(fs)
		fs.Parse(os.Args[2:])
		if err := node.Run(ctx, node.WithJoin(*join), node.WithToken(os.Getenv(node.TokenEnv)),
			node.WithSettings(settings)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	reps := flag.Int("reps", 5, "runs of each map; the median counts")
	examples := flag.String("examples", "examples", "directory of the example modules")
	verbose := flag.Bool("v", false, "print why auto chose its chunk sizes")
	flag.Parse()
	if err := run(ctx, *reps, *examples, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "grain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, reps int, examples string, verbose bool) error {
	hub, err := cluster.StartHub()
	if err != nil {
		return err
	}
	defer hub.Shutdown()
	c, err := cluster.Connect(ctx, hub.URL(), hub.Token())
	if err != nil {
		return err
	}
	defer c.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// Nodes c1 and c2 on the compiler, i1 on the interpreter: equal maps use c1 and c2,
	// unequal ones c1 and i1.
	for _, s := range []node.Settings{{ID: "c1"}, {ID: "c2"}, {ID: "i1", Tier: wasm.TierInterpreter}} {
		s.MemoryLimit = node.DefaultMemoryLimit
		local, err := launch.Local(ctx, exe, 1, hub.URL(), hub.Token(), s)
		if err != nil {
			return err
		}
		defer local.Stop()
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.WaitNodes(wctx, 3); err != nil {
		return err
	}
	load := func(name string) (string, error) {
		bin, err := os.ReadFile(filepath.Join(examples, name))
		if err != nil {
			return "", err
		}
		return c.Load(ctx, bin)
	}
	basics, err := load("basics.wasm")
	if err != nil {
		return err
	}
	mandel, err := load("mandelbrot.wasm")
	if err != nil {
		return err
	}
	tuples := func(n int, f func(i int) []uint64) [][]uint64 {
		a := make([][]uint64, n)
		for i := range a {
			a[i] = f(i)
		}
		return a
	}
	work := []workload{
		{"add (cheap)", basics, "add", tuples(200000, func(i int) []uint64 { return []uint64{api.EncodeI32(int32(i)), 1} }),
			[]int{64, 256, 1024, 4096, 16384, 50000}, false},
		{"fib(15) (medium)", basics, "fib", tuples(40000, func(int) []uint64 { return []uint64{15} }),
			[]int{1, 4, 16, 64, 256, 1024, 5000}, false},
		{"row (costly)", mandel, "row", tuples(1024, func(i int) []uint64 { return []uint64{api.EncodeI32(int32(i))} }),
			[]int{1, 2, 4, 8, 16, 64, 256}, false},
		{"fib(11…21) uneven", basics, "fib", tuples(20000, func(i int) []uint64 { return []uint64{uint64(11 + i*7%11)} }),
			[]int{1, 4, 16, 64, 256, 1024, 5000}, false},
		{"fib(15) unequal", basics, "fib", tuples(20000, func(int) []uint64 { return []uint64{15} }),
			[]int{1, 4, 16, 64, 256, 1024, 5000}, true},
	}
	fmt.Printf("auto-grain vs the best swept chunk size · 2 nodes (equal: 2 compiler nodes; unequal: compiler + interpreter) · median of %d runs each\n\n", reps)
	fmt.Printf("%-18s %7s %10s %14s %14s %7s  %s\n", "function", "tasks", "best chunk", "best calls/s", "auto calls/s", "ratio", "auto's chunks")
	for _, w := range work {
		nodes := []string{"c1", "c2"}
		if w.unequal {
			nodes = []string{"c1", "i1"}
		}
		// The runs of every chunk size and of auto interleave, so that a noisy moment on a
		// shared machine hurts them alike; each keeps its median.
		configs := append(append([]int{}, w.chunks...), 0)
		runs := make([][]float64, len(configs))
		var autoResult *cluster.MapResult
		for range reps {
			for i, k := range configs {
				rate, r, err := measure(ctx, c, w, nodes, k)
				if err != nil {
					return err
				}
				runs[i] = append(runs[i], rate)
				if k == 0 {
					autoResult = r
				}
			}
		}
		best, bestChunk := 0.0, 0
		for i, k := range w.chunks {
			if m := median(runs[i]); m > best {
				best, bestChunk = m, k
			}
		}
		auto := median(runs[len(runs)-1])
		fmt.Printf("%-18s %7d %10d %14.0f %14.0f %7.2f  up to %d\n", w.name, len(w.args), bestChunk, best, auto, auto/best, autoResult.Chunk)
		if verbose {
			fmt.Printf("%18s %s\n", "", autoResult.ChunkReason)
		}
	}
	return nil
}

// measure runs the map once on nodes and returns its throughput.
func measure(ctx context.Context, c *cluster.Client, w workload, nodes []string, chunk int) (float64, *cluster.MapResult, error) {
	r, err := c.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: w.module, Func: w.fn}, Args: w.args, Chunk: chunk, Nodes: nodes}, nil)
	if err != nil {
		return 0, nil, err
	}
	if r.Failed > 0 {
		return 0, nil, fmt.Errorf("%s: %d tasks failed", w.fn, r.Failed)
	}
	return float64(len(w.args)) / r.Elapsed.Seconds(), r, nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
