// Command cluster measures Rain's cluster on this machine (a hub and a client in this process,
// local `rain node` processes) and prints its figures as JSON, for bench/cluster/run, which
// measures the peers the same way and prints the table.
//
//	go run ./bench/cluster -rain bin/rain [-calls 20000] [-rtt 2000] [-big 500000] [-dashboard 3]
//	go run ./bench/cluster -rain bin/rain -only-dashboard   (what an open dashboard page costs, alone)
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rain-wasm/rain/bench/internal/rig"
	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/internal/procfs"
	"github.com/rain-wasm/rain/wasm"
)

func main() {
	rain := flag.String("rain", "bin/rain", "the rain binary the nodes run")
	calls := flag.Int("calls", 20000, "elements of the tiny maps")
	rtts := flag.Int("rtt", 2000, "round trips measured")
	examples := flag.String("examples", "examples", "directory of basics.wasm, mandelbrot.wasm and stats.wasm")
	big := flag.Int("big", 500_000, "elements of the large map (chunks of 10,000), best of 3; 0 skips it")
	dash := flag.Int("dashboard", 3, "rounds of the dashboard's cost (round trip and chunk-1 map with a page open vs none); 0 skips it")
	onlyDash := flag.Bool("only-dashboard", false, "measure only the dashboard's cost")
	flag.Parse()
	if err := run(*rain, *examples, *calls, *rtts, *big, *dash, *onlyDash); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

// figures are what the table shows; the peers' script prints the same keys.
type figures struct {
	System        string  `json:"system"`
	RTTp50        float64 `json:"rtt_p50_us"`
	RTTp99        float64 `json:"rtt_p99_us"`
	ArrayRTTp50   float64 `json:"rtt_array_p50_us"` // a call with a 1 KiB array: stats.sum(xs, 128)
	ArrayRTTp99   float64 `json:"rtt_array_p99_us"`
	Chunk1        float64 `json:"map_chunk1_per_s"`
	ChunkLarge    float64 `json:"map_chunk_large_per_s"`
	BatchLarge    float64 `json:"batch_large_per_s,omitempty"`
	LargeChunk    int     `json:"large_chunk"`
	MapBig        float64 `json:"map_big_per_s,omitempty"` // rain only: a map of BigCalls adds in chunks of BigChunk
	BigCalls      int     `json:"big_calls,omitempty"`
	BigChunk      int     `json:"big_chunk,omitempty"`
	Mandel1       float64 `json:"mandel_1_s"`
	Mandel2       float64 `json:"mandel_2_s"`
	IdleRSS       float64 `json:"idle_rss_mib"`
	IdleRSSDetail string  `json:"idle_rss_detail"`
	Mandel        string  `json:"mandel_what"`
	// Dashboard is what an open dashboard page costs (rain only).
	Dashboard *dashFigures `json:"dashboard,omitempty"`
}

func run(rain, examples string, calls, rtts, big, dashRounds int, onlyDash bool) error {
	ctx := context.Background()
	r, err := rig.Start(ctx, rain)
	if err != nil {
		return err
	}
	defer r.Close()
	hub, client := r.Hub, r.Client
	first, err := r.AddNodes(ctx, 1)
	if err != nil {
		return err
	}
	load := func(name string) (string, error) { return r.Load(ctx, filepath.Join(examples, name)) }
	basics, err := load("basics.wasm")
	if err != nil {
		return err
	}
	mandel, err := load("mandelbrot.wasm")
	if err != nil {
		return err
	}
	f := figures{System: "rain", LargeChunk: 2000,
		Mandel: "examples/mandelbrot.wasm row(y), 1024 rows of 1024 px, 256 iterations, chunk 16, best of 5"}
	add := cluster.Call{Export: cluster.Export{Module: basics, Func: "add"}, Args: []uint64{1, 2}}
	if onlyDash {
		if _, err := r.AddNodes(ctx, 1); err != nil {
			return err
		}
		for range 2000 { // warm: compiled code in place
			if _, err := client.Call(ctx, add); err != nil {
				return err
			}
		}
		d, err := dashboardCost(ctx, hub, client, add.Export, rtts, calls, max(1, dashRounds))
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(d)
	}

	rows := make([][]uint64, 1024)
	for y := range rows {
		rows[y] = []uint64{uint64(y)}
	}
	// The best of 5 maps: one takes a tenth of a second, so noise weighs (the peers' maps
	// take 15 times longer, and run once).
	mandelMap := func() (float64, error) {
		best := 0.0
		for range 5 {
			t0 := time.Now()
			r, err := client.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: mandel, Func: "row"}, Args: rows, Chunk: 16}, nil)
			if err == nil && r.Failed > 0 {
				err = fmt.Errorf("%d rows failed", r.Failed)
			}
			if err != nil {
				return 0, err
			}
			if d := time.Since(t0).Seconds(); best == 0 || d < best {
				best = d
			}
		}
		return best, nil
	}
	if _, err := mandelMap(); err != nil { // warm-up: compiled code in place
		return err
	}
	if f.Mandel1, err = mandelMap(); err != nil {
		return err
	}
	if _, err := r.AddNodes(ctx, 1); err != nil {
		return err
	}
	if f.Mandel2, err = mandelMap(); err != nil {
		return err
	}

	// Round trip of one add.
	for range 200 {
		if _, err := client.Call(ctx, add); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, rtts)
	for i := range lat {
		t0 := time.Now()
		if _, err := client.Call(ctx, add); err != nil {
			return err
		}
		lat[i] = time.Since(t0)
	}
	f.RTTp50, f.RTTp99 = percentiles(lat)

	// Round trip of a call with a 1 KiB array: the sum of 128 f64s, copied into the instance
	// through its malloc and freed.
	stats, err := load("stats.wasm")
	if err != nil {
		return err
	}
	xs := make([]byte, 1024)
	for k := range 128 {
		binary.LittleEndian.PutUint64(xs[8*k:], math.Float64bits(float64(k)))
	}
	sum := cluster.Call{Export: cluster.Export{Module: stats, Func: "sum"}, Args: []uint64{0, 128},
		Buffers: []wasm.Buffer{{Arg: 0, Data: xs}}}
	for range 200 {
		if _, err := client.Call(ctx, sum); err != nil {
			return err
		}
	}
	for i := range lat {
		t0 := time.Now()
		res, err := client.Call(ctx, sum)
		if err != nil {
			return err
		}
		lat[i] = time.Since(t0)
		if math.Float64frombits(res.Values[0]) != 127*128/2 {
			return fmt.Errorf("stats.sum of 0…127 = %v", math.Float64frombits(res.Values[0]))
		}
	}
	f.ArrayRTTp50, f.ArrayRTTp99 = percentiles(lat)

	args := make([][]uint64, calls)
	for i := range args {
		args[i] = []uint64{uint64(i), 1}
	}
	mapRate := func(chunk int) (float64, error) {
		t0 := time.Now()
		r, err := client.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: basics, Func: "add"}, Args: args, Chunk: chunk}, nil)
		if err == nil && r.Failed > 0 {
			err = fmt.Errorf("%d adds failed", r.Failed)
		}
		return float64(calls) / time.Since(t0).Seconds(), err
	}
	if f.Chunk1, err = mapRate(1); err != nil {
		return err
	}
	if f.ChunkLarge, err = mapRate(f.LargeChunk); err != nil {
		return err
	}
	// A large map in large chunks: the per-call costs, not the round trips, set the pace.
	if big > 0 {
		f.BigCalls, f.BigChunk = big, 10_000
		bigArgs := make([][]uint64, big)
		for i := range bigArgs {
			bigArgs[i] = []uint64{uint64(i), 1}
		}
		for range 3 {
			t0 := time.Now()
			r, err := client.Map(ctx, cluster.MapSpec{Export: cluster.Export{Module: basics, Func: "add"}, Args: bigArgs, Chunk: f.BigChunk}, nil)
			if err == nil && r.Failed > 0 {
				err = fmt.Errorf("%d adds failed", r.Failed)
			}
			if err != nil {
				return err
			}
			f.MapBig = max(f.MapBig, float64(big)/time.Since(t0).Seconds())
		}
	}
	// CallBatch directly, chunks of LargeChunk, one per node in flight and one queued.
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := 0
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next += f.LargeChunk
				mu.Unlock()
				if lo >= calls {
					return
				}
				_, err := client.CallBatch(ctx, cluster.BatchCall{Export: cluster.Export{Module: basics, Func: "add"}, Args: args[lo:min(lo+f.LargeChunk, calls)]})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	f.BatchLarge = float64(calls) / time.Since(t0).Seconds()

	if dashRounds > 0 {
		if f.Dashboard, err = dashboardCost(ctx, hub, client, add.Export, rtts, calls, dashRounds); err != nil {
			return err
		}
	}

	// Idle RSS of a node: its supervisor and its worker.
	time.Sleep(time.Second)
	sup := first.PIDs()[0]
	var worker int
	for _, n := range client.Nodes() {
		if n.PID != 0 {
			if ppid(n.PID) == sup {
				worker = n.PID
			}
		}
	}
	s, w := rss(sup), rss(worker)
	f.IdleRSS = s + w
	f.IdleRSSDetail = fmt.Sprintf("supervisor %.1f + worker %.1f MiB", s, w)
	return json.NewEncoder(os.Stdout).Encode(f)
}

// percentiles are the median and 99th percentile of lat, in µs; lat is sorted.
func percentiles(lat []time.Duration) (p50, p99 float64) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(lat[len(lat)/2].Nanoseconds()) / 1e3, float64(lat[len(lat)*99/100].Nanoseconds()) / 1e3
}

// rss is a process's resident set in MiB.
func rss(pid int) float64 { return float64(procfs.RSS(pid)) / 1024 }

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(fields[1])
	return p
}
