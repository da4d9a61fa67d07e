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
)

// TokenEnv is the environment variable a launcher passes the hub's token in (see Command), so
// that it does not show in the process list; `rain node` should read its --token default from
// it. A node keeps it from its workers.
const TokenEnv = wire.TokenEnv

// Option configures Run.
type Option func(*options) error

type options struct {
	url        string
	token      string
	settings   Settings
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

// WithSettings sets how the node runs modules and where it keeps them (see Settings). The
// default is DefaultSettings().
func WithSettings(s Settings) Option {
	return func(o *options) error {
		if err := s.check(); err != nil {
			return err
		}
		o.settings = s
		return nil
	}
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
	o := options{settings: DefaultSettings(), log: os.Stderr, heartbeat: wire.Heartbeat, reconnect: wire.HubTimeout}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.url == "" {
		return o, errors.New("cluster: node: no hub URL to join")
	}
	if o.settings.ID == "" {
		host, _ := os.Hostname()
		host = strings.NewReplacer(".", "-", " ", "-", "*", "-", ">", "-").Replace(host)
		if host == "" {
			host = "node"
		}
		o.settings.ID = host + "-" + wire.RandomHex(3)
	}
	if o.settings.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		o.settings.CacheDir = filepath.Join(base, "rain", "node")
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
