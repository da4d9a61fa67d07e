package launch

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rain-wasm/rain/cluster/node"
)

// Launchers are the launchers a Request may name.
func Launchers() []string { return []string{"slurm", "mpi", "ssh", "local"} }

// A Request is a launch a user asked for, in the words of `%cluster launch` or `rain launch`:
// which launcher, how many nodes, where, and how the nodes run. ParseRequest reads it; Start
// carries it out.
type Request struct {
	// Launcher is "slurm", "mpi", "ssh" or "local".
	Launcher string
	// Nodes is how many nodes to start: in all for slurm, mpi and local; on each host for ssh
	// (--per-host, 1 by default).
	Nodes int
	// Hosts are where the nodes run: the hosts of ssh, and of mpi's --hosts (passed to mpirun's
	// --host as they are, slots included: "h1:4,h2:4"). None for mpi is mpirun's own choice.
	Hosts []string
	// Rain is the path of the rain binary on the machines the nodes run on (--rain). "" finds
	// it: this machine's binary when they see it at the same path (a shared file system), else
	// rain on their PATH; for ssh, a copy in the host's cache folder when it has neither.
	Rain string
	// Node are the nodes' settings: the session's by default, with --tier, --dir and
	// --memory-limit given in the request. Their ID is the job's (see Job.NodeID).
	Node node.Settings
	// Slurm are the settings of a Slurm job.
	Slurm SlurmRequest
	// Extra are the words after "--": more arguments for sbatch or mpirun, passed as they are.
	Extra []string
}

// SlurmRequest are the sbatch options a Request may set; each left empty is Slurm's default.
type SlurmRequest struct {
	Partition string // --partition
	Time      string // --time, in Slurm's formats: "30" (minutes), "1:00:00", "1-12:00:00"
	Account   string // --account
	CPUs      int    // --cpus-per-task: each node's CPUs (0 is Slurm's default, 1)
}

// usages are the words each launcher takes.
var usages = map[string]string{
	"slurm": "slurm N [--partition P] [--time T] [--cpus C] [--account A] [--rain PATH] [--tier TIER] [-- SBATCH-ARGS...]",
	"mpi":   "mpi N [--hosts H1,H2] [--rain PATH] [--tier TIER] [-- MPIRUN-ARGS...]",
	"ssh":   "ssh HOST[,HOST...] [--per-host K] [--rain PATH] [--tier TIER]",
	"local": "local N [--tier TIER]",
}

// Usage is the words of a launch: one line for each launcher, or launcher's alone.
func Usage(launcher string) string {
	if u, ok := usages[launcher]; ok {
		return u
	}
	var lines []string
	for _, l := range Launchers() {
		lines = append(lines, usages[l])
	}
	return strings.Join(lines, "\n")
}

// ErrUsage is the error of a Request that ParseRequest cannot read; its message says what is
// wrong and how the launcher's words go.
var ErrUsage = errors.New("launch: usage")

func usageError(launcher, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if launcher == "" {
		return fmt.Errorf("%w: %s: launch %s", ErrUsage, msg, strings.Join(Launchers(), "|"))
	}
	return fmt.Errorf("%w: %s: launch %s", ErrUsage, msg, usages[launcher])
}

// ParseRequest reads a launch from its words — "slurm 16 --partition short", "ssh h1,h2
// --per-host 4" — with s as the nodes' settings unless the words change them. Flags of the
// caller's own (`rain launch` adds --join and --token) may be given in fs, which ParseRequest
// adds the launcher's to and parses; fs may be nil. Every error is one line wrapping ErrUsage.
func ParseRequest(words []string, s node.Settings, fs *flag.FlagSet) (Request, error) {
	if len(words) == 0 {
		return Request{}, usageError("", "say which launcher")
	}
	r := Request{Launcher: words[0], Node: s}
	if _, ok := usages[r.Launcher]; !ok {
		return r, usageError("", "unknown launcher %q", r.Launcher)
	}
	if len(words) < 2 || strings.HasPrefix(words[1], "-") {
		what := "N, how many nodes"
		if r.Launcher == "ssh" {
			what = "the hosts"
		}
		return r, usageError(r.Launcher, "give %s", what)
	}
	if r.Launcher == "ssh" {
		r.Nodes = 1
		for _, h := range strings.Split(words[1], ",") {
			if h = strings.TrimSpace(h); h != "" {
				r.Hosts = append(r.Hosts, h)
			}
		}
		if len(r.Hosts) == 0 {
			return r, usageError(r.Launcher, "no host in %q", words[1])
		}
	} else {
		n, err := strconv.Atoi(words[1])
		if err != nil || n <= 0 {
			return r, usageError(r.Launcher, "%q nodes: N must be a whole number above 0", words[1])
		}
		r.Nodes = n
	}
	if fs == nil {
		fs = flag.NewFlagSet("launch "+r.Launcher, flag.ContinueOnError)
	}
	fs.SetOutput(io.Discard)
	r.Node.RegisterModuleFlags(fs, " on the nodes")
	var hosts string
	switch r.Launcher {
	case "slurm":
		fs.StringVar(&r.Slurm.Partition, "partition", "", "the Slurm `partition` (default: the cluster's default)")
		fs.StringVar(&r.Slurm.Time, "time", "", "the job's time limit, in sbatch's formats: MINUTES, H:MM:SS, D-HH:MM:SS (default: the partition's)")
		fs.IntVar(&r.Slurm.CPUs, "cpus", 0, "CPUs for each node (sbatch --cpus-per-task; default 1)")
		fs.StringVar(&r.Slurm.Account, "account", "", "the `account` the job is charged to (default: yours)")
	case "mpi":
		fs.StringVar(&hosts, "hosts", "", "the hosts, comma-separated, as mpirun's --host takes them (H1,H2 or H1:4,H2:4; default: mpirun's choice)")
	case "ssh":
		fs.IntVar(&r.Nodes, "per-host", 1, "nodes on each host")
	}
	if r.Launcher != "local" {
		fs.StringVar(&r.Rain, "rain", "", "the rain binary on the nodes' machines (default: this one where they see it, else rain on their PATH)")
	}
	rest := words[2:]
	if err := fs.Parse(rest); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
			msg = "unknown flag " + f
		}
		return r, usageError(r.Launcher, "%s", msg)
	}
	if extra := fs.Args(); len(extra) > 0 {
		if len(rest) == len(extra) || rest[len(rest)-len(extra)-1] != "--" || r.Launcher == "ssh" || r.Launcher == "local" {
			return r, usageError(r.Launcher, "unexpected %q", extra[0])
		}
		r.Extra = extra
	}
	switch {
	case r.Nodes <= 0:
		return r, usageError(r.Launcher, "--per-host %d: give 1 or more", r.Nodes)
	case r.Slurm.CPUs < 0:
		return r, usageError(r.Launcher, "--cpus %d: give 1 or more", r.Slurm.CPUs)
	}
	if hosts != "" {
		r.Hosts = strings.Split(hosts, ",")
	}
	return r, nil
}

// Total is how many nodes the request starts in all.
func (r Request) Total() int {
	if r.Launcher == "ssh" {
		return r.Nodes * len(r.Hosts)
	}
	return r.Nodes
}
