package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/proc"
	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// workerProc is one worker process.
type workerProc struct {
	cmd     *exec.Cmd
	fw      *wire.FrameWriter
	frames  chan frame    // closed when the worker's stdout ends
	exited  chan struct{} // closed once the process has been waited for
	started time.Time
	killed  atomic.Bool // killed on purpose, to interrupt a call
	gone    atomic.Bool // its stdout ended; set before frames is closed
	readErr error       // why reading frames stopped; set before frames is closed
	// answer, when set, is the subject the frame reader publishes the next wire.FrameResult to
	// itself, the moment it arrives, before passing the frame on: the answer leaves without
	// waiting for the runner to wake up. runCall sets it before it sends a call whose answer
	// needs nothing else from it (no WASI output to flush first).
	answer atomic.Pointer[string]
}

type frame struct {
	typ       byte
	payload   []byte
	published bool // the reader published it to the answer subject
}

func (wp *workerProc) kill() {
	wp.killed.Store(true)
	wp.cmd.Process.Kill()
}

// startWorker starts a worker and has it instantiate the node's modules.
func (n *supervisor) startWorker(ctx context.Context) (*workerProc, error) {
	o := n.o
	settings, err := json.Marshal(o.settings)
	if err != nil {
		return nil, fmt.Errorf("cluster: node: %w", err)
	}
	cmd := exec.Command(o.workerArgv[0], o.workerArgv[1:]...)
	env := []string{WorkerEnv + "=1", workerSettingsEnv + "=" + string(settings)}
	if os.Getenv("GOMAXPROCS") == "" {
		env = append(env, "GOMAXPROCS=1") // see Run
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, TokenEnv+"=") && !strings.HasPrefix(kv, WorkerEnv+"=") && !strings.HasPrefix(kv, workerSettingsEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stderr = o.log
	proc.DieWithParent(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("cluster: node: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("cluster: node: %w", err)
	}
	widenPipe(stdin)
	widenPipe(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cluster: node: start worker: %w", err)
	}
	wp := &workerProc{
		cmd: cmd, fw: wire.NewFrameWriter(stdin),
		frames: make(chan frame, 64), exited: make(chan struct{}), started: time.Now(),
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 64<<10)
		// Until it says hello, the program may be no worker at all: its first frame is read
		// as any frame is, and only then may frames carry data (see wire.MaxDataFrame).
		read := wire.ReadFrame
		for {
			typ, payload, err := read(r)
			read = func(r io.Reader) (byte, []byte, error) { return wire.ReadFrameUpTo(r, wire.MaxDataFrame) }
			if err != nil {
				wp.readErr = err
				break
			}
			if typ == wire.FrameTiers {
				n.setTiers(wp, payload)
				continue
			}
			published := false
			if typ == wire.FrameResult {
				if subj := wp.answer.Swap(nil); subj != nil {
					n.publishReply(*subj, payload)
					published = true
				}
			}
			wp.frames <- frame{typ, payload, published}
		}
		wp.gone.Store(true)
		close(wp.frames)
		cmd.Wait()
		close(wp.exited)
	}()
	// A worker first says hello: anything else means the command is not a worker.
	select {
	case f, ok := <-wp.frames:
		switch {
		case !ok && !errors.Is(wp.readErr, wire.ErrBadFrame):
			// It died before its hello: the run loop sees why, and restarts it or gives up.
			wp.cmd.Process.Kill()
			<-wp.exited
		case !ok || f.typ != wire.FrameHello || string(f.payload) != strconv.Itoa(wire.Version):
			wp.kill()
			<-wp.exited
			return nil, fmt.Errorf("cluster: node: %q is not a rain worker of wire version %d (does its main call node.RunWorker when node.IsWorker?)", o.workerArgv[0], wire.Version)
		}
	case <-time.After(workerStartTimeout):
		wp.kill()
		<-wp.exited
		return nil, fmt.Errorf("cluster: node: %q did not start as a worker within %v", o.workerArgv[0], workerStartTimeout)
	case <-ctx.Done():
		wp.kill()
		<-wp.exited
		return nil, ctx.Err()
	}
	n.mu.Lock()
	n.worker = wp
	order := append([]string(nil), n.order...)
	n.mu.Unlock()
	for _, sha := range order {
		if err := n.loadIn(wp, sha); err != nil {
			n.log.Printf("module %s not reloaded: %v", sha, err)
			if errors.Is(err, wire.ErrNodeLost) {
				break
			}
		}
	}
	n.publishStatus()
	return wp, nil
}
