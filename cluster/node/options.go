package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/wasm"
)

// TokenEnv is the environment variable cluster.StartLocalNodes passes the hub's token in, so
// that it does not show in the process list; `rain node` should read its --token default from
// it. A node keeps it from its workers.
const TokenEnv = wire.TokenEnv

// Option configures Run.
type Option func(*options) error

type options struct {
	url        string
	token      string
	id         string
	cacheDir   string
	engine     string
	tier       string   // "auto", wasm.EngineCompiler or wasm.EngineInterpreter
	dirs       []string // HOST:GUEST directory grants for WASI modules
	memLimit   wasm.MemoryLimit
	workerArgv []string
	log        io.Writer
	heartbeat  time.Duration
	reconnect  time.Duration
	tls        wire.TLS
}

// WithJoin sets the URL of the hub to join, e.g. "nats://127.0.0.1:4222". It is required.
func WithJoin(url string) Option {
	return func(o *options) error { o.url = url; return nil }
}

// WithToken sets the token the hub asks for. The default is none.
func WithToken(token string) Option {
	return func(o *options) error { o.token = token; return nil }
}

// WithID sets the node's ID, which must be one NATS subject token (no dots, spaces, * or >).
// The default is the host name (dots turned to dashes) and six random hex digits; it stays the
// same across the worker's restarts.
func WithID(id string) Option {
	return func(o *options) error {
		if !wire.ValidNodeID(id) {
			return fmt.Errorf("cluster: node ID %q: use no dots, spaces, * or >", id)
		}
		o.id = id
		return nil
	}
}

// WithCacheDir sets where the node keeps modules and their compiled code. The default is
// rain/node under os.UserCacheDir (under os.TempDir if there is none). Nodes on one machine
// may share it.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithDir grants WASI modules on this node the host directory host, seen by them as guest
// ("HOST:GUEST", or "HOST" for the same path). By default modules see no host files.
func WithDir(grant string) Option {
	return func(o *options) error {
		host, _ := splitDir(grant)
		if st, err := os.Stat(host); err != nil || !st.IsDir() {
			return fmt.Errorf("cluster: --dir %s: %s is not a directory", grant, host)
		}
		o.dirs = append(o.dirs, grant)
		return nil
	}
}

// WithEngine selects the wasm engine, wasm.EngineCompiler or wasm.EngineInterpreter; "" or
// "auto" mean the default, wasm.DefaultEngine().
func WithEngine(name string) Option {
	return func(o *options) error {
		switch name {
		case "", "auto":
			o.engine = ""
			return nil
		case wasm.EngineCompiler, wasm.EngineInterpreter:
			o.engine = name
			return nil
		}
		return fmt.Errorf("cluster: unknown engine %q: use %q or %q", name, wasm.EngineCompiler, wasm.EngineInterpreter)
	}
}

// WithTier selects how the node's worker compiles modules: "auto" (the default) runs a
// module on the interpreter at once and on compiled code once the compiler, in the background,
// is done (or at once when the node's cache has it compiled); wasm.EngineCompiler or
// wasm.EngineInterpreter use that engine alone. With WithEngine(wasm.EngineInterpreter), or
// where wazero has no compiler, there is only the interpreter.
func WithTier(name string) Option {
	return func(o *options) error {
		switch name {
		case "", "auto":
			o.tier = "auto"
		case wasm.EngineCompiler, wasm.EngineInterpreter:
			o.tier = name
		default:
			return fmt.Errorf("cluster: unknown tier %q: use %q, %q or %q", name, "auto", wasm.EngineCompiler, wasm.EngineInterpreter)
		}
		return nil
	}
}

// DefaultMemoryLimit is the memory limit of each module on a node that is given none: 1 GiB.
// Wasm's own bound, 4 GiB a module, would let the two local nodes a session starts by default
// take 8 GiB with one runaway module each, more than many laptops and shared machines have to
// spare; 1 GiB holds every example and arrays of 100 million f64. It is one figure rather than
// a share of the machine's memory so that a call does not succeed on one node and trap on
// another.
const DefaultMemoryLimit wasm.MemoryLimit = 1 << 30

// WithMemoryLimit bounds the memory of each module instance on the node (see
// wasm.MemoryLimit): a module that grows past it gets -1 from memory.grow, and its trap then
// names the limit; a module whose memory starts over it does not load. 0 is no limit but Wasm's
// own 4 GiB. The default is DefaultMemoryLimit.
func WithMemoryLimit(m wasm.MemoryLimit) Option {
	return func(o *options) error { o.memLimit = m; return nil }
}

// workerEngine is the engine the worker is told to use: "auto" for tiering (wasm.WithEngine
// reads it as wasm.WithTier("auto")).
func (o *options) workerEngine() string {
	switch {
	case o.engine == wasm.EngineInterpreter || o.tier == wasm.EngineInterpreter:
		return wasm.EngineInterpreter
	case o.tier == wasm.EngineCompiler:
		return wasm.EngineCompiler
	case o.engine == wasm.EngineCompiler:
		return "auto"
	}
	return o.engine
}

// WithWorkerCommand sets the command that starts a worker; the supervisor adds WorkerEnv to its
// environment, and the program must then call RunWorker. The default is this executable
// (os.Executable) with no arguments.
func WithWorkerCommand(argv ...string) Option {
	return func(o *options) error {
		if len(argv) == 0 {
			return errors.New("cluster: empty worker command")
		}
		o.workerArgv = argv
		return nil
	}
}

// WithLog sets where the supervisor and its workers write their logs. The default is
// os.Stderr.
func WithLog(w io.Writer) Option {
	return func(o *options) error { o.log = w; return nil }
}

// WithHeartbeat sets how often the node tells clients it is alive. The default is 500 ms;
// clients give up on a node after 4 missed heartbeats.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("cluster: heartbeat %v", d)
		}
		o.heartbeat = d
		return nil
	}
}

// WithReconnectWindow sets how long a node keeps trying to reach a hub it lost before Run
// gives up with ErrHubLost. The default is cluster.DefaultHubTimeout (30 s), as long as a client
// waits for the hub, so that a hub that restarts within it finds its nodes and sessions as they were. A hub
// that cannot be reached at start is tried for 5 s, or for the window if shorter.
func WithReconnectWindow(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("cluster: reconnect window %v", d)
		}
		o.reconnect = d
		return nil
	}
}

func config(opts []Option) (options, error) {
	o := options{log: os.Stderr, heartbeat: wire.Heartbeat, reconnect: wire.HubTimeout, memLimit: DefaultMemoryLimit}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.url == "" {
		return o, errors.New("cluster: node: no hub URL to join")
	}
	if o.id == "" {
		host, _ := os.Hostname()
		host = strings.NewReplacer(".", "-", " ", "-", "*", "-", ">", "-").Replace(host)
		if host == "" {
			host = "node"
		}
		o.id = host + "-" + wire.RandomHex(3)
	}
	if o.cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		o.cacheDir = filepath.Join(base, "rain", "node")
	}
	if o.engine == "" {
		o.engine = wasm.DefaultEngine()
	}
	if o.tier == "" {
		o.tier = "auto"
	}
	if o.workerArgv == nil {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("cluster: node: %w", err)
		}
		o.workerArgv = []string{exe}
	}
	return o, nil
}

// TLS holds the PEM files of the node's side of a TLS connection to the hub: the same type
// as cluster.TLS.
type TLS = wire.TLS

// WithTLS makes the node connect to the hub over TLS (see TLS). The default is no TLS.
func WithTLS(t TLS) Option {
	return func(o *options) error {
		if err := t.Check(); err != nil {
			return err
		}
		o.tls = t
		return nil
	}
}
