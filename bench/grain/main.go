// Command grain compares auto-grain (a map with no chunk size) with the best chunk size of a
// sweep, for a cheap (add), a medium (fib 15) and a costly (mandelbrot row) function, on 2 local
// nodes, and prints auto's throughput as a ratio of the best (target ≥ 0.9).
//
//	go run ./bench/grain [-nodes 2] [-reps 3] [-v]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
)

type workload struct {
	name, module, fn string
	args             [][]uint64
	chunks           []int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if cluster.IsWorker() {
		cluster.RunWorker(ctx)
	}
	if len(os.Args) > 1 && os.Args[1] == "node" { // this program is also its own nodes
		fs := flag.NewFlagSet("node", flag.ExitOnError)
		join := fs.String("join", "", "hub URL")
		fs.Parse(os.Args[2:])
		if err := cluster.RunNode(ctx, cluster.WithJoin(*join), cluster.WithToken(os.Getenv(cluster.TokenEnv))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	nodes := flag.Int("nodes", 2, "local nodes")
	reps := flag.Int("reps", 3, "runs of each map; the best counts")
	examples := flag.String("examples", "examples", "directory of the example modules")
	verbose := flag.Bool("v", false, "print why auto chose its chunk sizes")
	flag.Parse()
	if err := run(ctx, *nodes, *reps, *examples, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "grain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, nodes, reps int, examples string, verbose bool) error {
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
	local, err := cluster.StartLocalNodes(ctx, []string{exe, "node"}, nodes, hub.URL(), hub.Token())
	if err != nil {
		return err
	}
	defer local.Stop()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.WaitNodes(wctx, nodes); err != nil {
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
			[]int{64, 256, 1024, 4096, 16384, 50000}},
		{"fib(15) (medium)", basics, "fib", tuples(40000, func(int) []uint64 { return []uint64{15} }),
			[]int{1, 4, 16, 64, 256, 1024, 5000}},
		{"row (costly)", mandel, "row", tuples(1024, func(i int) []uint64 { return []uint64{api.EncodeI32(int32(i))} }),
			[]int{1, 2, 4, 8, 16, 64, 256}},
	}
	fmt.Printf("auto-grain vs the best swept chunk size · %d nodes · best of %d runs each\n\n", nodes, reps)
	fmt.Printf("%-18s %7s %10s %14s %14s %7s  %s\n", "function", "tasks", "best chunk", "best calls/s", "auto calls/s", "ratio", "auto's chunks")
	for _, w := range work {
		// The runs of every chunk size and of auto interleave, so that a noisy moment on a
		// shared machine hurts them alike; each keeps its best.
		configs := append(append([]int{}, w.chunks...), 0)
		rates := make([]float64, len(configs))
		var autoResult *cluster.MapResult
		for range reps {
			for i, k := range configs {
				rate, r, err := measure(ctx, c, w, k, 1)
				if err != nil {
					return err
				}
				rates[i] = max(rates[i], rate)
				if k == 0 {
					autoResult = r
				}
			}
		}
		best, bestChunk := 0.0, 0
		for i, k := range w.chunks {
			if rates[i] > best {
				best, bestChunk = rates[i], k
			}
		}
		auto := rates[len(rates)-1]
		fmt.Printf("%-18s %7d %10d %14.0f %14.0f %7.2f  up to %d\n", w.name, len(w.args), bestChunk, best, auto, auto/best, autoResult.Chunk)
		if verbose {
			fmt.Printf("%18s %s\n", "", autoResult.ChunkReason)
		}
	}
	return nil
}

// measure runs the map reps times and returns its best throughput.
func measure(ctx context.Context, c *cluster.Client, w workload, chunk, reps int) (float64, *cluster.MapResult, error) {
	best := 0.0
	var last *cluster.MapResult
	for range reps {
		r, err := c.Map(ctx, cluster.MapSpec{Module: w.module, Func: w.fn, Args: w.args, Chunk: chunk}, nil)
		if err != nil {
			return 0, nil, err
		}
		if r.Failed > 0 {
			return 0, nil, fmt.Errorf("%s: %d tasks failed", w.fn, r.Failed)
		}
		best = max(best, float64(len(w.args))/r.Elapsed.Seconds())
		last = r
	}
	return best, last, nil
}
