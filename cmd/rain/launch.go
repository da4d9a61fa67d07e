package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/launch"
	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/internal/units"
	"github.com/rain-wasm/rain/session"
)

// runLaunch is `rain launch LAUNCHER ... --join URL`: it starts a job of nodes joined to a
// shared hub, prints how it goes, and ends it on Ctrl-C or SIGTERM (and when killed: see
// launch.Start). It returns when the job has ended; a failed job is an error.
func runLaunch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rain launch", "rain launch LAUNCHER ... --join URL [--token T]", stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: rain launch LAUNCHER ... --join URL [--token T], where LAUNCHER ... is one of\n  %s\n\n"+
			"Starts nodes through Slurm, MPI, SSH or as local processes, joined to the hub at URL (a rain hub),\n"+
			"follows them, and ends them on Ctrl-C. Each launcher's flags: rain launch LAUNCHER N --help.\n",
			strings.ReplaceAll(launch.Usage(""), "\n", "\n  "))
	}
	join := fs.String("join", "", "the hub's NATS URL, as rain hub prints it (required)")
	token := fs.String("token", os.Getenv(cluster.TokenEnv), "the hub's token (default $RAIN_TOKEN)")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return errors.New("launch: say which launcher")
		}
		return flag.ErrHelp
	}
	if slicesContainsHelp(args) {
		r, _ := launch.ParseRequest(args[:min(2, len(args))], node.DefaultSettings(), fs)
		fmt.Fprintf(stderr, "Usage: rain launch %s --join URL [--token T]\n\nFlags:\n", launch.Usage(r.Launcher))
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	req, err := launch.ParseRequest(args, node.DefaultSettings(), fs)
	if err != nil {
		return err
	}
	if *join == "" {
		return errors.New("launch: --join URL is required: the hub's address, as rain hub prints it")
	}
	if err := session.CheckURL(*join); err != nil {
		return err
	}
	addr, err := req.HubAddr(ctx)
	if err != nil {
		return err
	}
	if err := launch.CheckReach(*join, addr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A client of the hub sees the nodes join; a hub it cannot use, they could not either.
	client, err := cluster.Connect(ctx, *join, *token)
	if err != nil {
		return fmt.Errorf("launch: %w", err)
	}
	defer client.Close()
	j, err := launch.Start(ctx, req, *join, *token)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s · %s · output in %s\n", j.Name, j.Status(), j.Output)
	last, allJoined, first := j.Status(), false, time.Time{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintf(stdout, "%s · stopping\n", j.Name)
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := j.Stop(sctx)
			cancel()
			fmt.Fprintf(stdout, "%s · %s\n", j.Name, j.Status())
			return err
		case <-j.Changed():
		case <-tick.C:
		}
		if !allJoined {
			joined := 0
			for _, n := range client.Nodes() {
				if n.Ready && j.Owns(n.ID) {
					joined++
				}
			}
			if joined > 0 && first.IsZero() {
				first = time.Now()
				j.SawNode()
			}
			if joined == j.Nodes {
				allJoined = true
				fmt.Fprintf(stdout, "%s · %d/%d nodes joined after %s (the first after %s)\n", j.Name, joined, j.Nodes,
					units.Duration(time.Since(j.Started)), units.Duration(first.Sub(j.Started)))
			}
		}
		st := j.Status()
		if st.State == launch.Failed {
			return fmt.Errorf("launch: %s failed: %s", j.Name, st.Reason)
		}
		if st != last {
			last = st
			fmt.Fprintf(stdout, "%s · %s · after %s\n", j.Name, st, units.Duration(time.Since(j.Started)))
		}
		if st.State.Ended() {
			return nil
		}
	}
}

// slicesContainsHelp reports whether the words ask for help.
func slicesContainsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}
