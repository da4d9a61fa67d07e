// Command link times the load of a ~2.6 MB Go-built module (examples/gowasm.wasm) to 2 nodes
// that reach the hub over a slow link: bench/link/run puts the nodes in a network namespace
// behind a veth pair shaped to 100 Mbit/s with tc, and the hub on the root side of the pair.
// It measures, each on a new hub and new node processes:
//
//	(a) transfer alone: the module's bytes to both nodes over the link, by a probe that
//	    receives them inside the namespace the way a node does (a NATS subscription) and
//	    answers at once; a Load to nodes whose compiled-code cache is warm (module bytes
//	    removed, so they are shipped) checks it
//	(b) compile alone on a node: the compiler tier's time from load to callable, from the
//	    nodes' tier state (the slowest of the nodes, which compile at the same time)
//	(c) (a) + (b): transfer and compile one after the other
//	(d) load → first result with auto tiering (fresh caches)
//	(e) load → first result with the compiler only (fresh caches)
//
// Each figure is the median of -reps runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

func main() {
	rain := flag.String("rain", "bin/rain", "the rain binary nodes run")
	module := flag.String("wasm", "examples/gowasm.wasm", "the module to load")
	reps := flag.Int("reps", 5, "runs of each case; the median counts")
	n := flag.Int("nodes", 2, "nodes")
	netns := flag.String("netns", "", "the network namespace the nodes run in (bench/link/run makes it)")
	host := flag.String("hub-host", "", "the hub's address on the root side of the shaped veth pair")
	rate := flag.String("rate", "100 Mbit/s", "the link's shaped rate, for the table's title")
	tmp := flag.String("tmp", "", "where the nodes' cache dirs go (default: the system's temporary dir)")
	probe := flag.String("probe", "", "internal: answer transfer probes from the hub at this URL (run inside the namespace)")
	flag.Parse()
	if *probe != "" {
		if err := serveProbe(*probe, os.Getenv(cluster.TokenEnv), *n); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *netns == "" || *host == "" {
		log.Fatal("link: -netns and -hub-host are required: run bench/link/run, which sets up the namespace and the shaped link")
	}
	bin, err := os.ReadFile(*module)
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{rain: *rain, netns: *netns, host: *host, bin: bin, nodes: *n, tmp: *tmp}
	var s struct {
		probe, warmLoad, warmShip, compile, autoAll, autoAny, autoReady, compAll, compAny []time.Duration
	}
	for r := range *reps {
		p, err := b.probe()
		if err != nil {
			log.Fatalf("transfer probe: %v", err)
		}
		s.probe = append(s.probe, p)
		dirs, err := b.tempDirs()
		if err != nil {
			log.Fatal(err)
		}
		comp, err := b.run(dirs, wasm.TierCompiler)
		if err != nil {
			log.Fatalf("compiler only: %v", err)
		}
		s.compAll, s.compAny = append(s.compAll, comp.all), append(s.compAny, comp.any)
		s.compile = append(s.compile, comp.ready)
		// The compiler filled the dirs' compiled-code cache: drop the module's bytes so that
		// Load ships them again, and time a load whose compile is a cache read.
		for _, d := range dirs {
			if err := os.RemoveAll(filepath.Join(d, "modules")); err != nil {
				log.Fatal(err)
			}
		}
		warm, err := b.run(dirs, wasm.TierAuto)
		if err != nil {
			log.Fatalf("warm cache: %v", err)
		}
		if !warm.cacheHit {
			log.Fatal("warm cache: the nodes did not find the compiled code in their cache")
		}
		s.warmLoad, s.warmShip = append(s.warmLoad, warm.all), append(s.warmShip, warm.all-warm.ready)
		removeAll(dirs)
		if dirs, err = b.tempDirs(); err != nil {
			log.Fatal(err)
		}
		auto, err := b.run(dirs, wasm.TierAuto)
		removeAll(dirs)
		if err != nil {
			log.Fatalf("auto tiering: %v", err)
		}
		s.autoAll, s.autoAny = append(s.autoAll, auto.all), append(s.autoAny, auto.any)
		s.autoReady = append(s.autoReady, auto.ready)
		fmt.Fprintf(os.Stderr, "run %d/%d: transfer %v · compile %v · auto %v · compiler only %v\n", r+1, *reps,
			ms(p), ms(comp.ready), ms(auto.all), ms(comp.all))
	}

	// The machine is shared: a run that was slowed down is slowed in all its cases, so the
	// ratios are also taken run by run, and their median printed beside the medians' ratio.
	var cd, ce []float64
	for r := range s.probe {
		sum := float64(s.probe[r] + s.compile[r])
		cd, ce = append(cd, sum/float64(s.autoAll[r])), append(ce, sum/float64(s.compAll[r]))
	}
	a, bb := med(s.probe), med(s.compile)
	c := a + bb
	d, e := med(s.autoAll), med(s.compAll)
	mbit := func(t time.Duration) float64 { return float64(8*len(bin)*b.nodes) / t.Seconds() / 1e6 }
	spread := func(ds []time.Duration) string {
		return fmt.Sprintf("%v–%v", ms(slices.Min(ds)), ms(slices.Max(ds)))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s, %d KiB → %d nodes over %s\tmedian\trange\t\t\n", filepath.Base(*module), len(bin)>>10, b.nodes, *rate)
	fmt.Fprintf(w, "(a) transfer alone, to both nodes\t%v\t%s\t%.1f Mbit/s on the link\t\n", ms(a), spread(s.probe), mbit(a))
	fmt.Fprintf(w, "    check: first result, compiled code cached\t%v\t%s\tless the nodes' load to callable: %v\t\n", ms(med(s.warmLoad)), spread(s.warmLoad), ms(med(s.warmShip)))
	fmt.Fprintf(w, "(b) compile alone on a node\t%v\t%s\tcompiler tier, slowest of %d\t\n", ms(bb), spread(s.compile), b.nodes)
	fmt.Fprintf(w, "(c) (a) + (b), one after the other\t%v\t\t\t\n", ms(c))
	fmt.Fprintf(w, "(d) load → first result, auto tiering\t%v\t%s\t(c)/(d) = %.2f× (run by run %.2f×) · any node %v\t\n", ms(d), spread(s.autoAll), float64(c)/float64(d), med(cd), ms(med(s.autoAny)))
	fmt.Fprintf(w, "(e) load → first result, compiler only\t%v\t%s\t(c)/(e) = %.2f× (run by run %.2f×) · any node %v\t\n", ms(e), spread(s.compAll), float64(c)/float64(e), med(ce), ms(med(s.compAny)))
	w.Flush()
	rest := d - a - med(s.autoReady)
	fmt.Printf("where (d) goes: transfer (a) %v, nodes' load to callable on the interpreter %v, the rest %v (checksums, module file, decoding, the first call)\n",
		ms(a), ms(med(s.autoReady)), ms(rest))
	fmt.Printf("median of %d runs; first result = collatz(27) answered on every node; auto tiering %.1f× sooner than compiler only\n", *reps, float64(e)/float64(d))
}

// bench is one slow-link setup: nodes run inside netns, the hub listens on host.
type bench struct {
	rain, netns, host string
	bin               []byte
	nodes             int
	tmp               string // parent of the nodes' cache dirs
}

// outcome is what one load to fresh node processes measured.
type outcome struct {
	load     time.Duration // Load's start to its return
	any, all time.Duration // Load's start to the first result on any node, on every node
	ready    time.Duration // the slowest node's load to callable (wasm.ModuleTier.Ready)
	cacheHit bool          // every node found the compiled code in its cache
}

// run starts a hub and one node per cache dir with tier, loads the module and calls it on every
// node.
func (b *bench) run(dirs []string, tier wasm.Tier) (outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hub, err := cluster.StartHub(cluster.WithHubHost(b.host))
	if err != nil {
		return outcome{}, err
	}
	defer hub.Shutdown()
	for _, d := range dirs {
		s := node.DefaultSettings()
		s.Tier, s.CacheDir = tier, d
		l, err := launch.Local(ctx, b.rain, 1, hub.URL(), hub.Token(), s, launch.WithWrapper("ip", "netns", "exec", b.netns))
		if err != nil {
			return outcome{}, err
		}
		defer l.Stop()
	}
	c, err := cluster.Connect(ctx, hub.URL(), hub.Token())
	if err != nil {
		return outcome{}, err
	}
	defer c.Close()
	if err := c.WaitNodes(ctx, len(dirs)); err != nil {
		return outcome{}, err
	}
	sha, o, err := loadToFirstResult(ctx, c, b.bin)
	if err != nil {
		return o, err
	}
	// The nodes' tier state comes with their status: wait until every node has sent it.
	o.cacheHit = true
	for {
		var ts []time.Duration
		for _, n := range c.Nodes() {
			if t, ok := n.Tiers[sha]; ok {
				ts = append(ts, t.Ready)
				o.cacheHit = o.cacheHit && t.CacheHit
			}
		}
		if len(ts) == len(dirs) {
			o.ready = slices.Max(ts)
			return o, nil
		}
		select {
		case <-ctx.Done():
			return o, fmt.Errorf("no tier state from the nodes: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		o.cacheHit = true
	}
}

// loadToFirstResult starts loading bin, as %load does, and at once calls collatz(27) on every
// node (each call waits until its node has instantiated the module), timing from the start of
// the load to StartLoad's return and to the first result on any node and on every node.
func loadToFirstResult(ctx context.Context, c *cluster.Client, bin []byte) (string, outcome, error) {
	var o outcome
	t0 := time.Now()
	m, err := wasm.Decode(bin) // timed: %load decodes the module as it starts the load
	if err != nil {
		return "", o, err
	}
	l, err := c.StartLoad(m)
	if err != nil {
		return "", o, err
	}
	o.load = time.Since(t0)
	sha := l.SHA256
	nodes := c.Nodes()
	done := make(chan error, len(nodes))
	var once sync.Once
	for _, node := range nodes {
		go func() {
			res, err := c.Call(ctx, cluster.Call{Export: cluster.Export{Module: sha, Func: "collatz"}, Args: []uint64{api.EncodeI32(27)}, Node: node.ID})
			if err == nil && api.DecodeI32(res.Values[0]) != 111 {
				err = fmt.Errorf("collatz(27) = %d on %s", api.DecodeI32(res.Values[0]), node.ID)
			}
			if err == nil {
				once.Do(func() { o.any = time.Since(t0) })
			}
			done <- err
		}()
	}
	for range nodes {
		if err := <-done; err != nil {
			return "", o, err
		}
	}
	o.all = time.Since(t0)
	return sha, o, nil
}

// probe times the module's bytes to b.nodes receivers inside the namespace, sent at the same
// time as Client.Load sends them: one NATS request per node through a hub on the shaped link,
// each answered as soon as its bytes have arrived.
func (b *bench) probe() (time.Duration, error) {
	hub, err := cluster.StartHub(cluster.WithHubHost(b.host))
	if err != nil {
		return 0, err
	}
	defer hub.Shutdown()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command("ip", "netns", "exec", b.netns, self, "-probe", hub.URL(), "-nodes", strconv.Itoa(b.nodes))
	cmd.Env = append(os.Environ(), cluster.TokenEnv+"="+hub.Token())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := out.Read(make([]byte, 1)); err != nil { // the receivers are subscribed
		return 0, fmt.Errorf("probe did not start: %v", err)
	}
	nc, err := nats.Connect(hub.URL(), nats.Token(hub.Token()))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	// A first small round trip to each receiver, so that no connection is cold.
	for i := range b.nodes {
		if _, err := nc.Request(probeSubject(i), []byte("x"), 10*time.Second); err != nil {
			return 0, err
		}
	}
	errs := make(chan error, b.nodes)
	t0 := time.Now()
	for i := range b.nodes {
		go func() {
			r, err := nc.Request(probeSubject(i), b.bin, time.Minute)
			if err == nil && string(r.Data) != strconv.Itoa(len(b.bin)) {
				err = fmt.Errorf("probe %d received %s bytes of %d", i, r.Data, len(b.bin))
			}
			errs <- err
		}()
	}
	for range b.nodes {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

func probeSubject(i int) string { return "bench.link.probe." + strconv.Itoa(i) }

// serveProbe runs inside the namespace: n connections to the hub, as n nodes would have, each
// answering a probe with the number of bytes it received. It writes one byte to stdout once
// they are subscribed, and runs until killed.
func serveProbe(url, token string, n int) error {
	for i := range n {
		nc, err := nats.Connect(url, nats.Token(token))
		if err != nil {
			return err
		}
		if _, err := nc.Subscribe(probeSubject(i), func(m *nats.Msg) { m.Respond([]byte(strconv.Itoa(len(m.Data)))) }); err != nil {
			return err
		}
		if err := nc.Flush(); err != nil {
			return err
		}
	}
	if _, err := os.Stdout.Write([]byte{'\n'}); err != nil {
		return err
	}
	select {}
}

func (b *bench) tempDirs() ([]string, error) {
	dirs := make([]string, b.nodes)
	for i := range dirs {
		d, err := os.MkdirTemp(b.tmp, "rain-bench-link-")
		if err != nil {
			removeAll(dirs[:i])
			return nil, err
		}
		dirs[i] = d
	}
	return dirs, nil
}

func removeAll(dirs []string) {
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

func med[T time.Duration | float64](ds []T) T {
	if len(ds) == 0 {
		panic(errors.New("no samples"))
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
