package node

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// Environment of a worker process, set by its supervisor.
const (
	// WorkerEnv, when set in a process's environment, asks the process to be a node's worker:
	// the program's main must then call RunWorker and nothing else (see IsWorker).
	WorkerEnv = "RAIN_WORKER"

	workerSettingsEnv = "RAIN_WORKER_SETTINGS" // the node's Settings, defaults filled in, as JSON
)

// IsWorker reports whether this process was started by Run as a worker.
func IsWorker() bool { return os.Getenv(WorkerEnv) != "" }

// RunWorker runs this process as a node's worker, and ends the process when it is done: it
// never returns. The supervisor (Run) starts the worker with WorkerEnv set and talks to it
// over its stdin and stdout, so main must call RunWorker before it prints anything:
//
//	if node.IsWorker() {
//		node.RunWorker(ctx)
//	}
//
// The worker compiles and instantiates the modules its supervisor names (from the node's cache
// directory, with wazero's compilation cache under it) and runs calls one at a time. It exits
// when its stdin closes (the supervisor is gone) or ctx is done. Its log goes to stderr.
func RunWorker(ctx context.Context) {
	log := log.New(os.Stderr, fmt.Sprintf("rain worker %d: ", os.Getpid()), log.Lmicroseconds)
	// Frames go to the real stdout; anything else that writes to os.Stdout goes to the log.
	out := os.Stdout
	os.Stdout = os.Stderr
	var s Settings
	if err := json.Unmarshal([]byte(os.Getenv(workerSettingsEnv)), &s); err != nil {
		log.Printf("cluster: worker: %s: %v", workerSettingsEnv, err)
		os.Exit(exitConfig)
	}
	w, err := newWorker(ctx, s, out)
	if err != nil {
		log.Print(err)
		os.Exit(exitConfig)
	}
	go func() {
		<-ctx.Done()
		os.Exit(0)
	}()
	if err := w.fw.Write(wire.FrameHello, []byte(strconv.Itoa(wire.Version))); err != nil {
		os.Exit(0) // the supervisor is gone
	}
	go w.idle.run(ctx.Done())
	if err := w.serve(ctx, bufio.NewReaderSize(os.Stdin, 64<<10)); err != nil && err != io.EOF {
		log.Print(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Exit codes a worker ends with, read by its supervisor.
const (
	exitConfig = 6 // bad configuration: restarting would not help
)

type worker struct {
	rt        *wasm.Runtime
	moduleDir string
	fw        *wire.FrameWriter
	instances map[string]*wasm.Instance
	parts     map[string][]byte // data the node keeps that its supervisor gave it (wire.FrameData), by hash

	idle idler
	// moved says whether the last call or batch ran on another tier than the one before it:
	// only then can its module's tier state have changed (compiled code becoming ready is sent
	// by the goroutine that waits for it, see load).
	moved bool

	tiersMu   sync.Mutex
	lastTiers string // the wire.FrameTiers last sent

	// The worker runs with GOMAXPROCS 1 (see Run), and with one P more while compilers
	// work in the background, so that they take a core of their own (at the lowest priority)
	// instead of turns with the calls.
	psMu      sync.Mutex
	compiling int // background compilations under way
	ps        int // GOMAXPROCS before the first of them

	out []byte // the last reply, encoded
}

// newWorker makes a worker that runs modules as s says; s.CacheDir must be set.
func newWorker(ctx context.Context, s Settings, out io.Writer) (*worker, error) {
	if s.CacheDir == "" {
		return nil, fmt.Errorf("cluster: worker: no cache directory in %s", workerSettingsEnv)
	}
	compiled := filepath.Join(s.CacheDir, "compiled")
	if err := os.MkdirAll(compiled, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: worker: %w", err)
	}
	opts := []wasm.Option{wasm.WithTier(s.Tier), wasm.WithCacheDir(compiled), wasm.WithMemoryLimit(s.MemoryLimit)}
	for _, g := range s.Grants {
		opts = append(opts, wasm.WithGrant(g))
	}
	rt, err := wasm.NewRuntime(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: worker: %w", err)
	}
	return &worker{
		rt:        rt,
		moduleDir: filepath.Join(s.CacheDir, "modules"),
		fw:        wire.NewFrameWriter(out),
		instances: map[string]*wasm.Instance{},
		parts:     map[string][]byte{},
	}, nil
}

// serve answers frames from r until it ends.
func (w *worker) serve(ctx context.Context, r io.Reader) error {
	for {
		typ, payload, err := wire.ReadFrameUpTo(r, wire.MaxDataFrame) // from its supervisor only
		if err != nil {
			return err
		}
		w.idle.begin()
		switch typ {
		case wire.FrameLoad:
			rep := wire.LoadReply{V: wire.Version, Have: true}
			if err := w.load(ctx, string(payload)); err != nil {
				rep = wire.LoadReply{V: wire.Version, Err: wire.EncodeError(err)}
			}
			w.sendTiers()
			if err := w.reply(wire.FrameLoaded, rep); err != nil {
				return err
			}
		case wire.FrameCall:
			var c wire.Call
			if err := wire.DecodeCall(payload, &c); err != nil {
				return fmt.Errorf("cluster: worker: bad call: %w", err)
			}
			rep := w.call(ctx, &c)
			if w.moved {
				w.sendTiers()
			}
			w.out = wire.AppendReply(w.out[:0], rep)
			if err := w.fw.Write(wire.FrameResult, w.out); err != nil {
				return err
			}
		case wire.FrameBatch:
			rep := w.batch(payload)
			if w.moved {
				w.sendTiers()
			}
			if err := w.fw.Write(wire.FrameBatchResult, rep); err != nil {
				return err
			}
		case wire.FrameBatches:
			rep, err := w.batches(payload)
			if err != nil {
				return err
			}
			if w.moved {
				w.sendTiers()
			}
			if err := w.fw.Write(wire.FrameBatchResults, rep); err != nil {
				return err
			}
		case wire.FrameData:
			if len(payload) < 64 || !wire.ValidHash(string(payload[:64])) {
				return fmt.Errorf("%w: data frame of %d bytes", wire.ErrBadFrame, len(payload))
			}
			w.parts[string(payload[:64])] = payload[64:]
		case wire.FrameFree:
			delete(w.parts, string(payload))
		default:
			return fmt.Errorf("cluster: worker: unknown frame %q", typ)
		}
		w.idle.end()
	}
}

func (w *worker) reply(typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.fw.Write(typ, b)
}

// load instantiates the module stored as <sha>.wasm in the module directory.
func (w *worker) load(ctx context.Context, sha string) error {
	if _, ok := w.instances[sha]; ok {
		return nil
	}
	if !wire.ValidHash(sha) { // a call names its module: no other file is opened for it
		return fmt.Errorf("%w: %q", wire.ErrNoModule, sha)
	}
	bin, err := os.ReadFile(filepath.Join(w.moduleDir, sha+".wasm"))
	if err != nil {
		return fmt.Errorf("%w: %v", wire.ErrNoModule, err)
	}
	if sum := sha256.Sum256(bin); hex.EncodeToString(sum[:]) != sha {
		return fmt.Errorf("%w: cached module %s", wire.ErrChecksum, sha)
	}
	inst, err := w.rt.Load(ctx, bin, io.Discard, io.Discard)
	if err != nil {
		return err
	}
	w.instances[sha] = inst
	if inst.TierState().State != wasm.StateCompiling {
		return nil
	}
	w.compilers(+1)
	go func() { // tell the supervisor when the compiled code is ready
		inst.WaitCompiled(ctx)
		w.compilers(-1)
		if ctx.Err() == nil {
			w.sendTiers()
		}
	}()
	return nil
}

// compilers counts background compilations starting (+1) and ending (-1), and gives the
// worker one P more while there are any.
func (w *worker) compilers(delta int) {
	w.psMu.Lock()
	defer w.psMu.Unlock()
	w.compiling += delta
	switch {
	case w.compiling == 1 && delta > 0 && runtime.NumCPU() > 1:
		w.ps = runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	case w.compiling == 0 && w.ps > 0:
		runtime.GOMAXPROCS(w.ps)
		w.ps = 0
	}
}

// sendTiers sends the tier state of every module to the supervisor, if it changed since the
// last time. It may be called from any goroutine.
func (w *worker) sendTiers() {
	b, _ := json.Marshal(wire.ToTiers(w.rt.Tiers()))
	w.tiersMu.Lock()
	defer w.tiersMu.Unlock()
	if string(b) == w.lastTiers {
		return
	}
	w.lastTiers = string(b)
	w.fw.Write(wire.FrameTiers, b)
}

func (w *worker) call(ctx context.Context, c *wire.Call) *wire.Reply {
	rep := &wire.Reply{V: wire.Version, Task: c.Task}
	w.moved = false
	inst, ok := w.instances[c.Module]
	if !ok {
		rep.Err = wire.EncodeError(fmt.Errorf("%w: %s", wire.ErrNoModule, c.Module))
		return rep
	}
	var stdout, stderr io.Writer
	if c.Output {
		var out *cappedOutput
		out, stdout, stderr = newCappedOutput(w.fw)
		defer out.end()
	}
	before := inst.Tier()
	rep.Started = time.Now().UnixNano()
	// Not through ctx: a call is interrupted by killing the worker (see Run), and a
	// context that cannot end spares the call a goroutine of its own.
	vals, err := inst.CallBuffers(context.WithoutCancel(ctx), c.Func, c.Args, c.Bufs, stdout, stderr)
	rep.Finished = time.Now().UnixNano()
	rep.Values, rep.Err, rep.Tier = vals, wire.EncodeError(err), inst.Tier()
	if err == nil {
		rep.Bufs = changedBuffers(c.Bufs)
	}
	w.moved = rep.Tier != before
	return rep
}
