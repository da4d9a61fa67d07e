// Command rain is Rain's one binary: the terminal REPL, the script runner, the Jupyter kernel
// and its installer, a worker node and a standalone hub. It only parses flags and wires
// packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/repl"
	"github.com/rain-wasm/rain/session"
)

const usage = `Rain — WebAssembly on a cluster, from a notebook or a terminal.

Usage:
  rain [flags] [MODULE.wasm ...]   terminal REPL with local nodes; loads the modules given
  rain run [flags] SCRIPT          run a script of cells (split at "# %%" lines); exit 1 on error
  rain kernel -f CONNECTION.json   the Jupyter kernel (Jupyter starts it; see rain install)
  rain install [--user | --sys-prefix | --prefix DIR]   install the "rain" Jupyter kernelspec
  rain node --join URL --token T   a worker node joining a hub
  rain hub                         a standalone hub that nodes and sessions share
  rain launch slurm|mpi|ssh|local ... --join URL   start nodes through Slurm, MPI, SSH, joined to a hub
  rain version                     print the version

Run "rain COMMAND --help" for a command's flags.
`

func main() {
	if node.IsWorker() { // a node's worker process: see node.Run
		node.RunWorker(context.Background())
	}
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, repl.ErrScript):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "rain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.HasSuffix(args[0], ".wasm") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return runREPL(ctx, args, stderr)
	case "run":
		return runScript(ctx, args, stdout, stderr)
	case "node":
		return runNode(ctx, args, stderr)
	case "kernel":
		return runKernel(ctx, args, stderr)
	case "install":
		return runInstall(args, stdout, stderr)
	case "hub":
		return runHub(ctx, args, stdout, stderr)
	case "launch":
		return runLaunch(ctx, args, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "rain", session.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// sessionFlags are the flags every front end shares.
type sessionFlags struct {
	listen  string
	tls     tlsFlags
	nodes   int
	node    node.Settings // of the local nodes
	nats    string
	join    string
	token   string
	hubWait time.Duration
	dash    dashboard.Addr
}

func (f *sessionFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.nodes, "nodes", 2, "local nodes to start; with --nats or --join they join that server (0 uses only the nodes already there)")
	f.node = node.DefaultSettings()
	f.node.RegisterModuleFlags(fs, " on local nodes")
	fs.StringVar(&f.nats, "nats", "", "use the NATS server or cluster at this URL (nats://HOST:PORT; several, comma-separated) instead of starting an embedded one")
	fs.StringVar(&f.join, "join", "", "use the rain hub at this URL (the same as --nats)")
	fs.StringVar(&f.token, "token", os.Getenv("RAIN_TOKEN"), "the token of the NATS server given with --nats or --join (default $RAIN_TOKEN)")
	fs.DurationVar(&f.hubWait, "hub-timeout", cluster.DefaultHubTimeout, "how long a cell waits for a hub (--nats, --join) that went away before it fails; the session keeps trying to reach it")
	f.tls.register(fs, "the hub's")
	fs.StringVar(&f.listen, "listen", "", "address the session's own hub listens on: 0.0.0.0 lets other machines' nodes join (default 127.0.0.1, moved to 0.0.0.0 when %cluster launch starts nodes on other machines)")
	f.dash, _ = dashboard.ParseAddr(dashboard.DefaultAddr)
	fs.Var(&f.dash, "dashboard", "where the live dashboard of the session's own hub listens: HOST:PORT, a port (on loopback; 0 picks a free one), or off; %dashboard shows its address")
}

// options are the session's options from the flags; --nats and --join name the same thing.
func (f *sessionFlags) options() ([]session.Option, error) {
	url := f.nats
	switch {
	case url == "":
		url = f.join
	case f.join != "" && f.join != url:
		return nil, fmt.Errorf("--nats %s and --join %s: give one of them", f.nats, f.join)
	}
	opts := []session.Option{session.WithNodes(f.nodes), session.WithNodeSettings(f.node), session.WithListen(f.listen),
		session.WithDashboard(f.dash)}
	if url != "" {
		opts = append(opts, session.WithJoin(url, f.token), session.WithHubTimeout(f.hubWait))
	}
	if f.tls.set() {
		opts = append(opts, session.WithTLS(f.tls.TLS))
	}
	return opts, nil
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with fs. --help prints the usage; a bad flag prints nothing here, so
// that main prints its error once, in one line that names the flag, the value and what is
// wrong (the flag package would print it, and the whole usage, before returning it).
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
	}
	return err
}

func runREPL(ctx context.Context, args []string, stderr io.Writer) error {
	var sf sessionFlags
	fs := newFlagSet("rain", "rain [flags] [MODULE.wasm ...]", stderr)
	sf.register(fs)
	noHistory := fs.Bool("no-history", false, "keep no history file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sopts, err := sf.options()
	if err != nil {
		return err
	}
	s, err := session.New(ctx, sopts...)
	if err != nil {
		return dashboardError(err)
	}
	defer s.Close()
	// So that the banner can say what runs the calls: the local nodes, or on a hub given by
	// URL the nodes already there, which answer the session's hello within a round trip.
	wait, n := 10*time.Second, sf.nodes
	if n == 0 && (sf.nats != "" || sf.join != "") {
		wait, n = time.Second, 1
	}
	if n > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		s.WaitNodes(wctx, n)
		cancel()
	}
	var opts []repl.Option
	if *noHistory {
		opts = append(opts, repl.WithHistoryFile(""))
	}
	var preload []string
	for _, path := range fs.Args() {
		preload = append(preload, "%load "+path)
	}
	return repl.Run(ctx, s, s.Banner(), append(opts, repl.WithPreload(preload...))...)
}

func runScript(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var sf sessionFlags
	fs := newFlagSet("rain run", "rain run [flags] SCRIPT", stderr)
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("run wants one script, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read the script: %w", err)
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	s, err := session.New(ctx, opts...)
	if err != nil {
		return dashboardError(err)
	}
	defer s.Close()
	return repl.RunScript(ctx, s, path, string(src), stdout, stderr)
}
