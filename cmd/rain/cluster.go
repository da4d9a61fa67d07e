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

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
	"github.com/rain-wasm/rain/cluster/node"
)

func runNode(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("rain node", "rain node --join URL --token TOKEN [flags]", stderr)
	join := fs.String("join", "", "the hub's NATS URL (printed by %cluster in a session, or by rain hub)")
	token := fs.String("token", os.Getenv("RAIN_TOKEN"), "the hub's token (default $RAIN_TOKEN)")
	settings := node.DefaultSettings()
	settings.RegisterFlags(fs)
	workerCmd := fs.String("worker-cmd", "", "run the node's worker as this command (space-separated), e.g. \"qemu-aarch64-static ./rain-linux-arm64\" (default: this executable)")
	var tls tlsFlags
	tls.register(fs, "the hub's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *join == "" {
		fs.Usage()
		return fmt.Errorf("node: --join URL is required")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	opts := []node.Option{node.WithJoin(*join), node.WithToken(*token), node.WithSettings(settings)}
	if argv := strings.Fields(*workerCmd); len(argv) > 0 {
		opts = append(opts, node.WithWorkerCommand(argv...))
	}
	if tls.set() {
		opts = append(opts, node.WithTLS(tls.TLS))
	}
	return node.Run(ctx, opts...)
}

// dashboardError says, of a dashboard whose port is in use, which flag chooses another.
func dashboardError(err error) error {
	if errors.Is(err, dashboard.ErrAddrInUse) {
		return fmt.Errorf("%w: choose another port with --dashboard HOST:PORT, or --dashboard off", err)
	}
	return err
}

func runHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rain hub", "rain hub [flags]", stderr)
	host := fs.String("host", "0.0.0.0", "address to listen on")
	port := fs.Int("port", 4222, "NATS port")
	token := fs.String("token", os.Getenv("RAIN_TOKEN"), "token nodes and sessions must present (default $RAIN_TOKEN, or a random one)")
	var tls tlsFlags
	tls.register(fs, "nodes' and sessions'")
	dash, _ := dashboard.ParseAddr(dashboard.DefaultAddr)
	fs.Var(&dash, "dashboard", "where the hub's live dashboard listens: HOST:PORT, a port (on loopback; 0 picks a free one), or off")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts := []cluster.HubOption{cluster.WithHubHost(*host), cluster.WithHubPort(*port)}
	if tls.set() {
		opts = append(opts, cluster.WithHubTLS(tls.TLS))
	}
	if *token != "" {
		opts = append(opts, cluster.WithHubToken(*token))
	}
	hub, err := cluster.StartHub(opts...)
	if err != nil {
		return err
	}
	defer hub.Shutdown()
	var d *dashboard.Server
	if !dash.Off() {
		if d, err = dashboard.Watch(hub, dashboard.WithAddr(dash)); err != nil {
			return dashboardError(err)
		}
		defer d.Close()
	}
	fmt.Fprintf(stdout, "rain hub listening at %s\njoin nodes with:     rain node --join %s --token %s\nconnect sessions with: %%cluster connect %s %s\n", hub.URL(), hub.JoinURL(), hub.Token(), hub.JoinURL(), hub.Token())
	if d != nil {
		fmt.Fprintf(stdout, "dashboard:           %s\n", d.URL())
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// tlsFlags are --tls-cert, --tls-key and --tls-ca.
type tlsFlags struct{ cluster.TLS }

// register adds the flags; peer says whose certificates --tls-ca checks.
func (t *tlsFlags) register(fs *flag.FlagSet, peer string) {
	fs.StringVar(&t.Cert, "tls-cert", "", "this side's TLS certificate (PEM file)")
	fs.StringVar(&t.Key, "tls-key", "", "this side's TLS private key (PEM file)")
	fs.StringVar(&t.CA, "tls-ca", "", "the CA that signed "+peer+" certificates (PEM file)")
}

func (t *tlsFlags) set() bool { return t.Cert != "" || t.Key != "" || t.CA != "" }
