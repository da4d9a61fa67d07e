package cluster

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
	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// TokenEnv is the environment variable StartLocalNodes passes the hub's token in, so that it
// does not show in the process list; `rain node` should read its --token default from it.
const TokenEnv = wire.TokenEnv

// DebugEnv, when set in the session's environment, sends the logs of local nodes to its
// stderr.
const DebugEnv = "RAIN_DEBUG"

// LocalNodes are node processes started on this machine by StartLocalNodes.
type LocalNodes struct {
	procs []*localProc
	once  sync.Once
}

type localProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    io.Closer
}

// LocalOption configures StartLocalNodes.
type LocalOption func(*localOptions) error

type localOptions struct {
	logDir string
}

// WithLogDir writes each local node's log (supervisor and worker) to node-<i>.log in dir,
// truncated at start. By default the logs are discarded, or go to stderr if DebugEnv is set.
func WithLogDir(dir string) LocalOption {
	return func(o *localOptions) error { o.logDir = dir; return nil }
}

// StartLocalNodes starts n node processes: argv (e.g. {"/path/to/rain", "node"}) followed by
// "--join url", with the token in the environment variable TokenEnv. Each node dies with this
// process (on Linux, at once; elsewhere when it loses the hub) or when Stop is called. ctx
// bounds the start only. Wait for the nodes with Client.WaitNodes.
func StartLocalNodes(ctx context.Context, argv []string, n int, url, token string, opts ...LocalOption) (*LocalNodes, error) {
	var o localOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(argv) == 0 {
		return nil, errors.New("cluster: local nodes: empty command")
	}
	if n < 0 {
		return nil, fmt.Errorf("cluster: local nodes: %d nodes", n)
	}
	if o.logDir != "" {
		if err := os.MkdirAll(o.logDir, 0o755); err != nil {
			return nil, fmt.Errorf("cluster: local nodes: %w", err)
		}
	}
	l := &LocalNodes{}
	for i := range n {
		if err := ctx.Err(); err != nil {
			l.Stop()
			return nil, err
		}
		cmd := exec.Command(argv[0], append(argv[1:len(argv):len(argv)], "--join", url)...)
		cmd.Env = append(os.Environ(), TokenEnv+"="+token)
		p := &localProc{cmd: cmd, exited: make(chan struct{})}
		switch {
		case os.Getenv(DebugEnv) != "":
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		case o.logDir != "":
			f, err := os.Create(filepath.Join(o.logDir, fmt.Sprintf("node-%d.log", i)))
			if err != nil {
				l.Stop()
				return nil, fmt.Errorf("cluster: local nodes: %w", err)
			}
			cmd.Stdout, cmd.Stderr, p.log = f, f, f
		}
		proc.DieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			if p.log != nil {
				p.log.Close()
			}
			l.Stop()
			return nil, fmt.Errorf("cluster: local nodes: %w", err)
		}
		go func() {
			cmd.Wait()
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
