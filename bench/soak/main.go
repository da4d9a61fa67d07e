//go:build linux

// Command soak runs a Rain cluster under load while it kills nodes, and checks that no result
// is lost or duplicated and that memory stays flat.
//
// It starts `rain hub` and -nodes `rain node` processes joined to it (bin/rain: real separate
// processes), and -sessions clients that run maps of examples/basics.wasm's add and fib back to
// back, each with its own inputs, checking every answer against one computed here. Every -kill
// it sends SIGKILL to a random node, supervisor and worker at once, and starts it again. It
// prints a progress line every 30 s and, at the end, the calls done, tasks rerun, results lost
// and duplicated, maps done, kills, and the resident memory of the hub, the nodes and the
// sessions after the warm-up (the first 30 s) and at the end. It exits 1 if a result was lost or duplicated, a
// map failed, a process died unasked, or the hub grew by more than -max-growth.
//
//	make build && go run ./bench/soak [-duration 10m] [-nodes 3] [-kill 10s]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/internal/procfs"
)

// config is the soak's flags.
type config struct {
	rain      string        // the rain binary: `rain hub`, `rain node`
	examples  string        // directory of basics.wasm
	duration  time.Duration // how long sessions start new maps
	nodes     int
	sessions  int
	kill      time.Duration // between two kills; 0: none
	size      int           // tasks of an add map (a fib map has size/20)
	every     time.Duration // between two progress lines
	maxGrowth float64       // the hub's RSS growth allowed, in %; 0: not checked
	keep      bool          // keep the logs' directory
}

func main() {
	var cfg config
	flag.StringVar(&cfg.rain, "rain", "bin/rain", "the rain binary that runs the hub and the nodes")
	flag.StringVar(&cfg.examples, "examples", "examples", "directory of basics.wasm")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long the sessions run maps")
	flag.IntVar(&cfg.nodes, "nodes", 3, "rain node processes")
	flag.IntVar(&cfg.sessions, "sessions", 2, "clients running maps at the same time")
	flag.DurationVar(&cfg.kill, "kill", 10*time.Second, "time between two kills of a random node (0: none)")
	flag.IntVar(&cfg.size, "size", 50_000, "tasks of an add map; a fib map has a twentieth of them")
	flag.DurationVar(&cfg.every, "progress", 30*time.Second, "time between two progress lines")
	flag.Float64Var(&cfg.maxGrowth, "max-growth", 20, "fail if the hub's RSS grows by more than this many % after the warm-up (0: do not check)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the directory of the hub's and nodes' logs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// errFailed is run's error when the soak ran to its end and a check failed.
var errFailed = errors.New("a check failed")

// run runs the soak until cfg.duration has passed or ctx ends, and prints its figures to out.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	if cfg.nodes < 1 || cfg.sessions < 1 || cfg.size < 20 || cfg.duration <= 0 || cfg.kill < 0 || cfg.every <= 0 {
		return fmt.Errorf("bad flags: %d nodes, %d sessions, size %d, duration %v, kill %v, progress %v",
			cfg.nodes, cfg.sessions, cfg.size, cfg.duration, cfg.kill, cfg.every)
	}
	bin, err := os.ReadFile(filepath.Join(cfg.examples, "basics.wasm"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rain-soak-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || cfg.keep {
			fmt.Fprintf(out, "logs of the hub and the nodes: %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	hubLog, err := os.Create(filepath.Join(dir, "hub.log"))
	if err != nil {
		return err
	}
	defer hubLog.Close()
	token := randomHex(16)
	hub, err := startHub(ctx, cfg.rain, token, hubLog)
	if err != nil {
		return err
	}
	defer hub.stop()
	ns, err := newNodes(cfg.rain, hub.url, token, dir, cfg.nodes)
	if err != nil {
		return err
	}
	defer ns.stop()

	clients := make([]*cluster.Client, cfg.sessions)
	var module string
	for i := range clients {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := cluster.Connect(sctx, hub.url, token)
		if err == nil {
			defer c.Close()
			err = c.WaitNodes(sctx, cfg.nodes)
		}
		if err == nil {
			module, err = c.Load(sctx, bin)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		clients[i] = c
	}
	fmt.Fprintf(out, "soak: %v, %d nodes, a node killed every %v, %d sessions mapping basics.wasm add (%d tasks) and fib (%d tasks) in turn\n",
		cfg.duration, cfg.nodes, cfg.kill, cfg.sessions, cfg.size, cfg.size/20)

	// The sessions run maps until stop; a map that has begun runs to its end.
	var t tally
	began := time.Now()
	mapsCtx, stopMaps := context.WithCancel(ctx)
	defer stopMaps()
	const mapTimeout = 2 * time.Minute
	finished := make(chan struct{}, len(clients))
	for i, c := range clients {
		go func() {
			session(mapsCtx, c, module, i, cfg.size, mapTimeout, &t)
			finished <- struct{}{}
		}()
	}

	// Memory is compared with what it was after the warm-up: the first 30 s, or the first tenth
	// of a shorter run (buffers grow to the load, the nodes compile the module).
	warmup := min(30*time.Second, cfg.duration/10)
	var kills int
	var warm, end sample
	var failures []string
	killTick := make(<-chan time.Time)
	if cfg.kill > 0 {
		k := time.NewTicker(cfg.kill)
		defer k.Stop()
		killTick = k.C
	}
	progress := time.NewTicker(cfg.every)
	defer progress.Stop()
	watch := time.NewTicker(100 * time.Millisecond) // warm-up's end, and processes that died unasked
	defer watch.Stop()
	deadline := time.After(cfg.duration)
loop:
	for {
		select {
		case <-deadline:
			break loop
		case <-ctx.Done():
			failures = append(failures, "interrupted")
			break loop
		case <-hub.exited:
			failures = append(failures, fmt.Sprintf("the hub exited: %v", hub.cmd.ProcessState))
			break loop
		case <-watch.C:
			if err := ns.alive(); err != nil {
				failures = append(failures, err.Error())
				break loop
			}
			if warm.at.IsZero() && time.Since(began) >= warmup {
				warm = takeSample(hub, ns)
			}
		case <-killTick:
			i := mrand.IntN(cfg.nodes)
			if err := ns.kill(i); err != nil {
				failures = append(failures, err.Error())
				break loop
			}
			kills++
			if err := ns.start(i); err != nil {
				failures = append(failures, err.Error())
				break loop
			}
		case now := <-progress.C:
			s := t.snapshot()
			el := now.Sub(began)
			fmt.Fprintf(out, "%6s  calls %s (%s/s) · maps %d · reruns %d · lost %d · duplicated %d · kills %d · hub RSS %s\n",
				el.Round(time.Second), count(s.calls), count(int(float64(s.calls)/el.Seconds())),
				s.maps, s.reruns, s.lost, s.duplicated, kills, mib(procfs.RSS(hub.pid())))
		}
	}
	stopMaps()
	wait := time.After(mapTimeout + 10*time.Second)
	for range clients {
		select {
		case <-finished:
		case <-wait:
			failures = append(failures, "a session's map did not end")
		}
	}
	elapsed := time.Since(began)
	end = takeSample(hub, ns)
	s := t.snapshot()
	failures = append(s.failures, failures...)
	if warm.at.IsZero() {
		failures = append(failures, "the soak ended before the warm-up did")
		warm = end
	}

	fmt.Fprintf(out, "\nafter %v (%d nodes, %d sessions, a node killed every %v):\n", elapsed.Round(time.Second), cfg.nodes, len(clients), cfg.kill)
	fmt.Fprintf(out, "  calls done           %s (%s calls/s)\n", count(s.calls), count(int(float64(s.calls)/elapsed.Seconds())))
	fmt.Fprintf(out, "  maps done            %d\n", s.maps)
	fmt.Fprintf(out, "  tasks rerun          %d\n", s.reruns)
	fmt.Fprintf(out, "  results lost         %d\n", s.lost)
	fmt.Fprintf(out, "  results duplicated   %d\n", s.duplicated)
	fmt.Fprintf(out, "  kills                %d\n", kills)
	fmt.Fprintf(out, "  RSS                  after warm-up (%s)   at the end   growth\n", warm.at.Sub(began).Round(time.Second))
	growth := func(name string, a, b int, note string) float64 {
		g := 100 * float64(b-a) / float64(max(a, 1))
		fmt.Fprintf(out, "    %-20s %10s %12s %+8.1f %%%s\n", name, mib(a), mib(b), g, note)
		return g
	}
	hubGrowth := growth("hub", warm.hub, end.hub, "")
	growth(fmt.Sprintf("nodes (%d, summed)", cfg.nodes), warm.nodes, end.nodes,
		fmt.Sprintf("   (supervisors and workers; the youngest node is %v old)", end.youngest.Round(time.Second)))
	growth(fmt.Sprintf("sessions (%d)", len(clients)), warm.self, end.self, "   (this process)")
	if cfg.maxGrowth > 0 && hubGrowth > cfg.maxGrowth {
		failures = append(failures, fmt.Sprintf("the hub's RSS grew by %.1f %%, more than %.0f %%", hubGrowth, cfg.maxGrowth))
	}
	if s.lost > 0 || s.duplicated > 0 || len(failures) > 0 {
		for i, f := range failures {
			if i == 10 {
				fmt.Fprintf(out, "  … and %d more\n", len(failures)-i)
				break
			}
			fmt.Fprintln(out, "  FAILED:", f)
		}
		return errFailed
	}
	fmt.Fprintln(out, "  ok: every result came back once and right")
	return nil
}

// sample is the resident memory of the soak's processes at one time, in KiB.
type sample struct {
	at         time.Time
	hub, nodes int
	self       int
	youngest   time.Duration
}

func takeSample(hub *hubProc, ns *nodes) sample {
	s := sample{at: time.Now(), hub: procfs.RSS(hub.pid()), self: procfs.RSS(os.Getpid())}
	s.nodes, s.youngest = ns.rss()
	return s
}

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// count writes n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
