package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/proc"
	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// Start carries out r: it starts the job's nodes, joined to the hub at url with token (in
// their environment, never on a command line), and returns the job once they are on their way —
// submitted to Slurm, mpirun started, the ssh sessions opened, the local processes started. The
// job then follows them (Job.Status) until they end or Job.Stop ends them; a job whose
// scheduler would outlive this process is cancelled when the process ends, however it ends. A
// launch that cannot start — its scheduler's command missing, Slurm refusing the job, a host
// that cannot be reached — is an error of one line. ctx bounds the start only.
func Start(ctx context.Context, r Request, url, token string, opts ...Option) (*Job, error) {
	o, err := config(opts)
	if err != nil {
		return nil, err
	}
	if r.Nodes <= 0 {
		return nil, fmt.Errorf("launch: %s: %d nodes: give 1 or more", r.Launcher, r.Nodes)
	}
	if err := os.MkdirAll(o.logDir, 0o700); err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	switch r.Launcher {
	case "slurm":
		return startSlurm(ctx, r, url, token, o)
	case "mpi":
		return startMPI(r, url, token, o)
	case "ssh":
		return startSSH(ctx, r, url, token, o)
	case "local":
		return startLocal(ctx, r, url, token, o)
	}
	return nil, usageError("", "unknown launcher %q", r.Launcher)
}

// WithBinary sets the rain binary on this machine: local nodes run it, Slurm and MPI nodes run
// it when they see it at the same path (a shared file system) and the request names no other,
// and ssh copies it (or the rain-OS-ARCH of `make release` beside it, or in release/ beside it)
// to a host that has none. The default is this executable.
func WithBinary(path string) Option {
	return func(o *options) error { o.binary = path; return nil }
}

// SSHEnv is the environment variable that holds the ssh command the ssh launcher runs, with
// its options, split at spaces ("ssh -F ~/.ssh/cluster_config"); the default is "ssh".
const SSHEnv = "RAIN_SSH"

// config applies opts over the defaults.
func config(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("launch: cannot find this executable: %w", err)
		}
		o.binary = exe
	}
	if o.logDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		o.logDir = filepath.Join(base, "rain", "jobs")
	}
	if o.ssh == nil {
		o.ssh = strings.Fields(os.Getenv(SSHEnv))
		if len(o.ssh) == 0 {
			o.ssh = []string{"ssh"}
		}
	}
	return o, nil
}

// randomName is a job's name: the launcher and six random hex digits.
func randomName(launcher string) string {
	return launcher + "-" + wire.RandomHex(3)
}

// HubAddr is the address of this machine that the request's nodes reach it at, to give them
// as the hub's: the source address of the route to an ssh or mpi host (the first; the others
// are taken to share its network), or to the Slurm controller (compute nodes share its network;
// a controller on loopback is a one-machine cluster); loopback for local nodes, and for mpi
// with no hosts outside a batch job.
func (r Request) HubAddr(ctx context.Context, opts ...Option) (net.IP, error) {
	o, err := config(opts)
	if err != nil {
		return nil, err
	}
	loopback := net.IPv4(127, 0, 0, 1)
	switch r.Launcher {
	case "ssh":
		host, err := sshHostName(ctx, o.ssh, r.Hosts[0])
		if err != nil {
			return nil, err
		}
		return routeFrom(host)
	case "mpi":
		if len(r.Hosts) > 0 {
			host, _, _ := strings.Cut(r.Hosts[0], ":")
			return routeFrom(host)
		}
		for _, v := range []string{"SLURM_JOB_NODELIST", "PBS_NODEFILE", "LSB_HOSTS", "PE_HOSTFILE"} {
			if os.Getenv(v) != "" { // mpirun starts ranks on the batch job's nodes
				host, _ := os.Hostname()
				return routeFrom(host)
			}
		}
		return loopback, nil
	case "slurm":
		host, err := slurmController(ctx)
		if err != nil {
			return nil, err
		}
		return routeFrom(host)
	}
	return loopback, nil
}

// routeFrom is this machine's source address for a route to host (a name or an address):
// what a node on host sees this machine as. No packet is sent.
func routeFrom(host string) (net.IP, error) {
	ip, err := wire.RouteFrom(host)
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return nil, fmt.Errorf("launch: cannot resolve host %s (%s): check its name", host, dns.Err)
	case err != nil:
		return nil, fmt.Errorf("launch: no route to %s: %w", host, err)
	}
	return ip, nil
}

// CheckReach checks that nodes that reach this machine at addr (see Request.HubAddr) can reach
// the hub at hubURL: a hub on this machine's loopback is out of their reach unless addr is a
// loopback address too.
func CheckReach(hubURL string, addr net.IP) error {
	for _, raw := range strings.Split(hubURL, ",") {
		raw = strings.TrimSpace(raw)
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		h := u.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil
		}
	}
	if addr.IsLoopback() {
		return nil
	}
	return fmt.Errorf("launch: the hub at %s is on this machine's loopback, out of the nodes' reach: give its address on a network they share (%s)", hubURL, addr)
}

// guard runs a command once this process has ended, however it ended (a SIGKILL too): a
// shell, in a session of its own, that waits for the end of a pipe whose other end only this
// process holds. It is how a Slurm job ends with the session that submitted it. The shell
// reads one line first, the ID of what to clean up, passed to the command as $id.
type guard struct {
	w    *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

// startGuard starts a guard that runs script (a shell command that may use $id) when this
// process ends.
func startGuard(script string) (*guard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	cmd := exec.Command("/bin/sh", "-c", `IFS= read -r id || id=; cat >/dev/null 2>&1; `+script)
	cmd.Stdin = r
	proc.Detach(cmd)
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("launch: %w", err)
	}
	r.Close()
	g := &guard{w: w, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// setID passes the guard the ID of what it cleans up.
func (g *guard) setID(id string) { fmt.Fprintln(g.w, id) }

// fire runs the guard's command now, and waits for it a while.
func (g *guard) fire() {
	g.w.Close()
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
	}
}

// dismiss ends the guard without running its command.
func (g *guard) dismiss() {
	g.cmd.Process.Kill()
	g.w.Close()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
	}
}
