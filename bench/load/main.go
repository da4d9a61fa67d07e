// Command load times a ~2.6 MB Go-built module (examples/gowasm.wasm) from Client.StartLoad
// (what %load does) to the first result on each of 2 local nodes (rain node processes, each with a fresh cache dir),
// end to end through the hub: auto tiering, compiler only, and auto with a warm cache (the
// same cache dirs, nodes restarted). Each figure is the median of -reps runs, each on a new hub
// and new nodes; ratios are to compiler-only.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

func main() {
	rain := flag.String("rain", "bin/rain", "the rain binary nodes run")
	module := flag.String("wasm", "examples/gowasm.wasm", "the module to load")
	reps := flag.Int("reps", 3, "runs of each case; the median counts")
	nodes := flag.Int("nodes", 2, "nodes")
	flag.Parse()
	bin, err := os.ReadFile(*module)
	if err != nil {
		log.Fatal(err)
	}
	type row struct {
		name        string
		load, first []time.Duration
	}
	rows := []*row{{name: "compiler only"}, {name: "auto tiering"}, {name: "auto, warm cache"}}
	for range *reps {
		for k, c := range []struct {
			tier wasm.Tier
			warm bool
		}{{wasm.TierCompiler, false}, {wasm.TierAuto, false}, {wasm.TierAuto, true}} {
			l, f, err := once(*rain, bin, *nodes, c.tier, c.warm)
			if err != nil {
				log.Fatalf("%s: %v", rows[k].name, err)
			}
			rows[k].load = append(rows[k].load, l)
			rows[k].first = append(rows[k].first, f)
		}
	}
	med := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	base := med(slices.Clone(rows[0].first))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s, %d KiB, %d nodes\tload returned\tfirst result on every node\tvs compiler only\t\n", filepath.Base(*module), len(bin)>>10, *nodes)
	for _, r := range rows {
		f := med(r.first)
		fmt.Fprintf(w, "%s\t%v\t%v\t%.1f× sooner\t\n", r.name, med(r.load).Round(time.Millisecond), f.Round(time.Millisecond), float64(base)/float64(f))
	}
	w.Flush()
	fmt.Printf("median of %d runs; each on a new hub and new node processes with fresh cache dirs (warm: a compiler-tier run filled them first)\n", *reps)
}

// once starts a hub and nodes, starts loading bin and calls collatz(27) on every node at once
// (each call waits for its node to have the module); it returns the time from the start of the
// load to its return and to the last node's first result.
func once(rain string, bin []byte, n int, tier wasm.Tier, warm bool) (load, first time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dirs := make([]string, n)
	for i := range dirs {
		if dirs[i], err = os.MkdirTemp("", "rain-bench-load-"); err != nil {
			return 0, 0, err
		}
		defer os.RemoveAll(dirs[i])
	}
	if warm {
		if _, _, err := run(ctx, rain, bin, dirs, wasm.TierCompiler); err != nil {
			return 0, 0, err
		}
	}
	return run(ctx, rain, bin, dirs, tier)
}

func run(ctx context.Context, rain string, bin []byte, dirs []string, tier wasm.Tier) (load, first time.Duration, err error) {
	hub, err := cluster.StartHub()
	if err != nil {
		return 0, 0, err
	}
	defer hub.Shutdown()
	for _, d := range dirs {
		s := node.DefaultSettings()
		s.Tier, s.CacheDir = tier, d
		l, err := launch.Local(ctx, rain, 1, hub.URL(), hub.Token(), s)
		if err != nil {
			return 0, 0, err
		}
		defer l.Stop()
	}
	c, err := cluster.Connect(ctx, hub.URL(), hub.Token())
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := c.WaitNodes(ctx, len(dirs)); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	m, err := wasm.Decode(bin) // timed: %load decodes the module as it starts the load
	if err != nil {
		return 0, 0, err
	}
	l, err := c.StartLoad(m)
	if err != nil {
		return 0, 0, err
	}
	load, sha := time.Since(t0), l.SHA256
	errs := make(chan error, len(dirs))
	for _, node := range c.Nodes() {
		go func() {
			res, err := c.Call(ctx, cluster.Call{Export: cluster.Export{Module: sha, Func: "collatz"}, Args: []uint64{api.EncodeI32(27)}, Node: node.ID})
			if err == nil && api.DecodeI32(res.Values[0]) != 111 {
				err = fmt.Errorf("collatz(27) = %d", api.DecodeI32(res.Values[0]))
			}
			errs <- err
		}()
	}
	for range dirs {
		if err := <-errs; err != nil {
			return 0, 0, err
		}
	}
	return load, time.Since(t0), nil
}
