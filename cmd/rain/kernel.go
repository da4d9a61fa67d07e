package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/kernel"
	"github.com/rain-wasm/rain/session"
)

func runKernel(ctx context.Context, args []string, stderr io.Writer) error {
	var sf sessionFlags
	fs := newFlagSet("rain kernel", "rain kernel -f CONNECTION.json [flags]   (Jupyter starts this)", stderr)
	conn := fs.String("f", "", "the connection file Jupyter wrote")
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *conn == "" {
		fs.Usage()
		return fmt.Errorf("kernel: -f CONNECTION.json is required (Jupyter passes it; install the kernelspec with rain install)")
	}
	opts, err := sf.options()
	if err != nil {
		return err
	}
	return kernel.Run(ctx, *conn, func(ctx context.Context) (*session.Session, error) {
		s, err := session.New(ctx, opts...)
		return s, dashboardError(err)
	})
}

const installHelp = `rain install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name NAME]
             [--nats URL [--token T]] [--nodes N] [--memory-limit SIZE]

Installs the "rain" Jupyter kernelspec (kernel.json with this binary's absolute path, and
logos) so that Jupyter front ends list Rain:

  --user          for the current user, in the Jupyter data directory (the default):
                  $JUPYTER_DATA_DIR, else ~/.local/share/jupyter
  --sys-prefix    into the Python environment Jupyter runs from ($VIRTUAL_ENV, $CONDA_PREFIX,
                  or the environment of the jupyter command on PATH)
  --prefix DIR    into DIR/share/jupyter, as pip install --prefix would

With --nats URL the kernel uses that NATS server or cluster (a rain hub too) instead of
starting its own; --token T is written into kernel.json as RAIN_TOKEN, readable by whoever
can read the file (leave it out to take $RAIN_TOKEN from Jupyter's environment). --nodes N
sets how many local nodes the kernel starts (default 2; 0 uses only the cluster's nodes),
--memory-limit SIZE the most memory a module may take on them (512MiB, 2GiB, 1G or none;
default 1 GiB).

Then "jupyter kernelspec list" shows it.
`

func runInstall(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rain install", "", stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), installHelp) }
	var o kernel.InstallOptions
	fs.BoolVar(&o.User, "user", false, "install for the current user (default)")
	fs.BoolVar(&o.SysPrefix, "sys-prefix", false, "install into the Python environment's prefix")
	fs.StringVar(&o.Prefix, "prefix", "", "install into DIR/share/jupyter")
	fs.StringVar(&o.Name, "name", "rain", "the kernelspec's name")
	fs.StringVar(&o.DisplayName, "display-name", "Rain", "the name front ends show")
	nats := fs.String("nats", "", "the kernel uses the NATS server or cluster at this URL")
	token := fs.String("token", "", "the NATS server's token, written into kernel.json")
	nodes := fs.Int("nodes", -1, "local nodes the kernel starts (default 2)")
	memory := node.DefaultMemoryLimit
	fs.Var(&memory, "memory-limit", "the most memory a module may take on a local node")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("install: unexpected argument %q", fs.Arg(0))
	}
	if *token != "" && *nats == "" {
		return fmt.Errorf("install: --token goes with --nats URL")
	}
	if *nats != "" || *nodes >= 0 || memory != node.DefaultMemoryLimit {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("install: cannot find this executable: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		o.Argv = []string{exe, "kernel", "-f", "{connection_file}"}
		if *nats != "" {
			if err := session.CheckURL(*nats); err != nil {
				return err
			}
			o.Argv = append(o.Argv, "--nats", *nats)
		}
		if *nodes >= 0 {
			o.Argv = append(o.Argv, "--nodes", fmt.Sprint(*nodes))
		}
		if memory != node.DefaultMemoryLimit {
			o.Argv = append(o.Argv, "--memory-limit", memory.String())
		}
		if *token != "" {
			o.Env = map[string]string{"RAIN_TOKEN": *token}
		}
	}
	dir, err := kernel.Install(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installed the %s kernelspec in %s\n", o.Name, dir)
	return nil
}
