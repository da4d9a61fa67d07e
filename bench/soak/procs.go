//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/internal/procfs"
)

// hubProc is a `rain hub` process.
type hubProc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

var hubLine = regexp.MustCompile(`^rain hub listening at (\S+)`)

// startHub runs `rain hub` on a free loopback port with token and returns once it has printed
// the URL it listens at. Its output goes to log.
func startHub(ctx context.Context, rain, token string, log io.Writer) (*hubProc, error) {
	cmd := exec.Command(rain, "hub", "--host", "127.0.0.1", "--port", "-1")
	cmd.Env = append(os.Environ(), "RAIN_TOKEN="+token)
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rain hub: %w", err)
	}
	h := &hubProc{cmd: cmd, exited: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			fmt.Fprintln(log, lines.Text())
			if m := hubLine.FindStringSubmatch(lines.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	go func() { cmd.Wait(); close(h.exited) }()
	select {
	case h.url = <-urls:
		return h, nil
	case <-h.exited:
		return nil, fmt.Errorf("rain hub exited: %v", cmd.ProcessState)
	case <-ctx.Done():
		h.stop()
		return nil, ctx.Err()
	case <-time.After(10 * time.Second):
		h.stop()
		return nil, errors.New("rain hub printed no URL within 10 s")
	}
}

func (h *hubProc) pid() int { return h.cmd.Process.Pid }

func (h *hubProc) stop() {
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-h.exited
	}
}

// nodeProc is one `rain node` process: a supervisor, in a process group of its own, and its
// worker (in a group of its own too: see cluster's dieWithParent).
type nodeProc struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	started time.Time
}

// nodes are the soak's `rain node` processes; node i keeps its cache directory and log file
// across restarts.
type nodes struct {
	rain, url, token, dir string

	mu    sync.Mutex
	procs []*nodeProc
	logs  []*os.File
}

func newNodes(rain, url, token, dir string, n int) (*nodes, error) {
	ns := &nodes{rain: rain, url: url, token: token, dir: dir, procs: make([]*nodeProc, n)}
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("node-%d.log", i)))
		if err != nil {
			ns.stop()
			return nil, err
		}
		ns.logs = append(ns.logs, f)
		if err := ns.start(i); err != nil {
			ns.stop()
			return nil, err
		}
	}
	return ns, nil
}

// start starts node i.
func (ns *nodes) start(i int) error {
	s := node.DefaultSettings()
	s.CacheDir = filepath.Join(ns.dir, fmt.Sprintf("cache-%d", i))
	argv := node.Command(ns.rain, ns.url, s)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), node.TokenEnv+"="+ns.token)
	cmd.Stdout, cmd.Stderr = ns.logs[i], ns.logs[i]
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rain node: %w", err)
	}
	p := &nodeProc{cmd: cmd, exited: make(chan struct{}), started: time.Now()}
	go func() { cmd.Wait(); close(p.exited) }()
	ns.mu.Lock()
	ns.procs[i] = p
	ns.mu.Unlock()
	return nil
}

// kill ends node i with SIGKILL, the whole node at once: its supervisor's process group and
// its workers' groups. It returns once the supervisor has been waited for.
func (ns *nodes) kill(i int) error {
	ns.mu.Lock()
	p := ns.procs[i]
	ns.mu.Unlock()
	sup := p.cmd.Process.Pid
	workers := children(sup)
	syscall.Kill(-sup, syscall.SIGKILL)
	for _, w := range workers {
		syscall.Kill(-w, syscall.SIGKILL)
		syscall.Kill(w, syscall.SIGKILL)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("node %d (pid %d) still there 10 s after SIGKILL", i, sup)
	}
	if code := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !code.Signaled() {
		return fmt.Errorf("node %d (pid %d) exited before it was killed: %v", i, sup, p.cmd.ProcessState)
	}
	return nil
}

// alive reports an error for the first node that exited without being killed.
func (ns *nodes) alive() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for i, p := range ns.procs {
		select {
		case <-p.exited:
			return fmt.Errorf("node %d exited on its own: %v (see %s)", i, p.cmd.ProcessState, ns.logs[i].Name())
		default:
		}
	}
	return nil
}

// rss sums the resident memory of every node's supervisor and workers, in KiB, and says how
// long the youngest node has been up.
func (ns *nodes) rss() (kib int, youngest time.Duration) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	youngest = -1
	for _, p := range ns.procs {
		if p == nil {
			continue
		}
		pid := p.cmd.Process.Pid
		kib += procfs.RSS(pid)
		for _, w := range children(pid) {
			kib += procfs.RSS(w)
		}
		if up := time.Since(p.started); youngest < 0 || up < youngest {
			youngest = up
		}
	}
	return kib, youngest
}

// stop ends every node with SIGTERM (SIGKILL after 3 s) and closes their logs.
func (ns *nodes) stop() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, p := range ns.procs {
		if p != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range ns.procs {
		if p == nil {
			continue
		}
		select {
		case <-p.exited:
		case <-time.After(3 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
	for _, f := range ns.logs {
		f.Close()
	}
}

// children lists the child processes of pid, from every one of its threads (a Go program
// forks from whichever thread it is on).
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}
