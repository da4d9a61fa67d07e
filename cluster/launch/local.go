package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/proc"
	"github.com/rain-wasm/rain/cluster/node"
)

// DebugEnv, when set in the session's environment, sends the logs of local nodes to its
// stderr.
const DebugEnv = "RAIN_DEBUG"

// LocalNodes are node processes started on this machine by Local.
type LocalNodes struct {
	procs []*localProc
	once  sync.Once
}

type localProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    io.Closer
	err    error // how the process ended, once exited is closed
}

// Option configures Local.
type Option func(*options) error

type options struct {
	logDir  string
	wrapper []string
	unbound bool
	binary  string   // WithBinary
	ssh     []string // the ssh command, from SSHEnv
	idName  string   // Local: node i's ID is idName-i
}

// WithLogDir writes each local node's log (supervisor and worker) to node-<i>.log in dir,
// truncated at start; by default the logs of Local are discarded, or go to stderr if DebugEnv
// is set. For Start, dir is where jobs write their output; the default is rain/jobs in the
// user's cache folder.
func WithLogDir(dir string) Option {
	return func(o *options) error { o.logDir = dir; return nil }
}

// WithWrapper runs each node under a command that runs the rest of its command line, such as
// "ip netns exec NS" or "taskset -c 1". The default is none.
func WithWrapper(argv ...string) Option {
	return func(o *options) error {
		if len(argv) == 0 {
			return errors.New("launch: empty wrapper command")
		}
		o.wrapper = argv
		return nil
	}
}

// WithoutBinding leaves the placement of nodes to the operating system even when Local would
// bind them, one to each CPU.
func WithoutBinding() Option {
	return func(o *options) error { o.unbound = true; return nil }
}

// Local starts n node processes on this machine with settings s, joined to the hub at url:
// each runs node.Command(rain, url, s), where rain is the path of the rain binary (or of a
// program that runs node.Run, as `rain node` does, when its first argument is "node"), with
// the token in the environment variable node.TokenEnv. Each node dies with this process (on
// Linux, at once; elsewhere when it loses the hub) or when Stop is called. ctx bounds the start
// only. Wait for the nodes with cluster.Client.WaitNodes.
//
// Nodes as many as the CPUs this process may use (two or more) fill the machine: unless s
// binds them already, they run under a wrapper or WithoutBinding is given, node i is bound
// to the i-th CPU (see node.CPU), as mpirun binds ranks to cores.
func Local(ctx context.Context, rain string, n int, url, token string, s node.Settings, opts ...Option) (*LocalNodes, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	switch {
	case rain == "":
		return nil, errors.New("launch: local nodes: no rain binary")
	case n < 0:
		return nil, fmt.Errorf("launch: local nodes: %d nodes", n)
	case n > 1 && s.ID != "" && o.idName == "":
		return nil, fmt.Errorf("launch: local nodes: %d nodes cannot share the ID %s", n, s.ID)
	}
	cpus := node.CPUs()
	_, bound := s.CPU.ID()
	bind := n >= 2 && n == len(cpus) && !bound && o.wrapper == nil && !o.unbound
	if o.logDir != "" {
		if err := os.MkdirAll(o.logDir, 0o755); err != nil {
			return nil, fmt.Errorf("launch: local nodes: %w", err)
		}
	}
	l := &LocalNodes{}
	for i := range n {
		if err := ctx.Err(); err != nil {
			l.Stop()
			return nil, err
		}
		if bind {
			s.CPU = node.BindCPU(cpus[i])
		}
		if o.idName != "" {
			s.ID = fmt.Sprintf("%s-%d", o.idName, i)
		}
		argv := append(o.wrapper[:len(o.wrapper):len(o.wrapper)], node.Command(rain, url, s)...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), node.TokenEnv+"="+token)
		p := &localProc{cmd: cmd, exited: make(chan struct{})}
		switch {
		case os.Getenv(DebugEnv) != "":
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		case o.logDir != "":
			f, err := os.Create(filepath.Join(o.logDir, fmt.Sprintf("node-%d.log", i)))
			if err != nil {
				l.Stop()
				return nil, fmt.Errorf("launch: local nodes: %w", err)
			}
			cmd.Stdout, cmd.Stderr, p.log = f, f, f
		}
		proc.DieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			if p.log != nil {
				p.log.Close()
			}
			l.Stop()
			return nil, fmt.Errorf("launch: local nodes: %w", err)
		}
		go func() {
			p.err = cmd.Wait()
			if p.log != nil {
				p.log.Close()
			}
			close(p.exited)
		}()
		l.procs = append(l.procs, p)
	}
	return l, nil
}

// Stop ends the nodes and their workers, and waits until they have exited.
func (l *LocalNodes) Stop() {
	l.once.Do(func() {
		for _, p := range l.procs {
			if runtime.GOOS == "windows" {
				p.cmd.Process.Kill()
			} else {
				p.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, p := range l.procs {
			select {
			case <-p.exited:
			case <-time.After(3 * time.Second):
				p.cmd.Process.Kill()
				<-p.exited
			}
		}
	})
}

// PIDs are the process IDs of the nodes' supervisors.
func (l *LocalNodes) PIDs() []int {
	pids := make([]int, len(l.procs))
	for i, p := range l.procs {
		pids[i] = p.cmd.Process.Pid
	}
	return pids
}

// startLocal is a job of Local nodes, named local-HEX, each logging to its own file in a
// folder of the job's.
func startLocal(ctx context.Context, r Request, url, token string, o options) (*Job, error) {
	name := randomName("local")
	o.idName = name
	dir := filepath.Join(o.logDir, name)
	l, err := Local(ctx, o.binary, r.Nodes, url, token, r.Node, func(lo *options) error {
		*lo = o
		lo.logDir = dir
		return nil
	})
	if err != nil {
		return nil, err
	}
	j := newJob("local", name, r.Nodes, dir)
	j.stop = func() error { l.Stop(); return nil }
	j.set(Status{State: Running})
	exited := make(chan int)
	for i, p := range l.procs {
		go func() { <-p.exited; exited <- i }()
	}
	go func() {
		for range l.procs {
			i := <-exited
			if err := l.procs[i].err; err != nil {
				why := fileTail(filepath.Join(dir, fmt.Sprintf("node-%d.log", i)))
				if why == "" {
					why = fmt.Sprintf("node %s: %v", j.NodeID(i), err)
				}
				j.set(Status{State: Failed, Reason: why})
			}
		}
		j.set(Status{State: Done})
	}()
	return j, nil
}
