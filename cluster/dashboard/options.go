package dashboard

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rain-wasm/rain/cluster"
)

// Addr is where a dashboard listens, as ParseAddr read it from a flag; the zero Addr is "off".
type Addr struct{ hostPort string }

var _ flag.Value = (*Addr)(nil)

// DefaultAddr is the dashboard's address unless told otherwise: a free port on loopback.
const DefaultAddr = "127.0.0.1:0"

// ParseAddr reads a dashboard's address: "off" (no dashboard), HOST:PORT, or a port alone
// (":8787" or "8787"), which listens on loopback. Port 0 picks a free port.
func ParseAddr(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Addr{}, nil
	}
	if !strings.Contains(s, ":") {
		s = ":" + s
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("dashboard: bad address %q: give HOST:PORT, a port, or off", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return Addr{}, fmt.Errorf("dashboard: bad port %q in %q: give 0…65535 (0 picks a free one)", port, s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return Addr{net.JoinHostPort(host, port)}, nil
}

// Set parses s into a, as ParseAddr does: an Addr is a flag.Value.
func (a *Addr) Set(s string) error {
	v, err := ParseAddr(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Off says whether the address turns the dashboard off.
func (a Addr) Off() bool { return a.hostPort == "" }

// String is HOST:PORT, or "off".
func (a Addr) String() string {
	if a.Off() {
		return "off"
	}
	return a.hostPort
}

// Option configures Watch and WatchURL.
type Option func(*options) error

type options struct {
	addr  string
	token string
	hub   string // what the page says it watches
	tls   cluster.TLS
}

// WithAddr sets where the dashboard listens. The default is DefaultAddr: a free port on
// loopback, which only this machine reaches. An Addr that is Off is refused: do not start a
// dashboard then.
func WithAddr(a Addr) Option {
	return func(o *options) error {
		if a.Off() {
			return errors.New("dashboard: address off: start no dashboard")
		}
		o.addr = a.hostPort
		return nil
	}
}

// WithToken sets the token that opens the page. The default is the cluster's token, or a
// random one when the NATS server has none.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return errors.New("dashboard: empty token")
		}
		o.token = token
		return nil
	}
}

// WithHubName sets how the page names the hub it watches. The default is the hub's URL.
func WithHubName(name string) Option {
	return func(o *options) error { o.hub = name; return nil }
}

// WithTLS connects WatchURL to the NATS server over TLS (see cluster.TLS). The default is no TLS.
func WithTLS(t cluster.TLS) Option {
	return func(o *options) error { o.tls = t; return nil }
}
