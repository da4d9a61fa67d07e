package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// DefaultMaxPayload is the largest message the hub accepts: 8 MiB. Modules travel in chunks
// smaller than this (see WithChunkSize).
const DefaultMaxPayload = 8 << 20

// Hub is an embedded NATS server that a session's clients and nodes meet on.
type Hub struct {
	srv   *server.Server
	token string
}

// HubOption configures StartHub.
type HubOption func(*hubOptions) error

type hubOptions struct {
	host       string
	port       int
	token      string
	maxPayload int
	timeout    time.Duration
	tls        TLS
}

// WithHubHost sets the interface the hub listens on. The default is "127.0.0.1": only this
// machine's nodes can join. Use "0.0.0.0" to let other machines join.
func WithHubHost(host string) HubOption {
	return func(o *hubOptions) error { o.host = host; return nil }
}

// WithHubPort sets the port the hub listens on. The default, -1, picks a free port.
func WithHubPort(port int) HubOption {
	return func(o *hubOptions) error {
		if port < -1 || port > 65535 {
			return fmt.Errorf("cluster: hub port %d out of range", port)
		}
		o.port = port
		return nil
	}
}

// WithHubToken sets the token clients and nodes must present. The default is a random
// 128-bit token, returned by Hub.Token.
func WithHubToken(token string) HubOption {
	return func(o *hubOptions) error {
		if token == "" {
			return errors.New("cluster: empty hub token")
		}
		o.token = token
		return nil
	}
}

// WithHubMaxPayload sets the largest message the hub accepts, in bytes. The default is
// DefaultMaxPayload.
func WithHubMaxPayload(n int) HubOption {
	return func(o *hubOptions) error {
		if n < 64<<10 || n > 64<<20 {
			return fmt.Errorf("cluster: hub max payload %d not within 64 KiB…64 MiB", n)
		}
		o.maxPayload = n
		return nil
	}
}

// StartHub starts an embedded NATS server and returns once it accepts connections.
func StartHub(opts ...HubOption) (*Hub, error) {
	o := hubOptions{host: "127.0.0.1", port: -1, maxPayload: DefaultMaxPayload, timeout: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.token == "" {
		o.token = wire.RandomHex(16)
	}
	so := &server.Options{
		Host:          o.host,
		Port:          o.port,
		Authorization: o.token,
		MaxPayload:    int32(o.maxPayload),
		NoLog:         true,
		NoSigs:        true,
		ServerName:    "rain-hub",
	}
	if o.tls.Enabled() {
		if err := serverTLS(so, o.tls); err != nil {
			return nil, err
		}
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("cluster: hub: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(o.timeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("cluster: hub not ready after %v", o.timeout)
	}
	return &Hub{srv: srv, token: o.token}, nil
}

// URL is the address clients and nodes connect to, e.g. "nats://127.0.0.1:4222".
func (h *Hub) URL() string { return h.srv.ClientURL() }

// JoinURL is the address other machines use to join: URL, with the machine's first
// non-loopback address in place of an unspecified listen address (0.0.0.0, ::). It is the
// loopback URL itself when the hub listens on loopback only; Reachable says which.
func (h *Hub) JoinURL() string {
	u, err := url.Parse(h.URL())
	if err != nil {
		return h.URL()
	}
	host, port, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
					u.Host = net.JoinHostPort(n.IP.String(), port)
					break
				}
			}
		}
	}
	return u.String()
}

// Reachable reports whether other machines can reach the hub (it listens beyond loopback).
func (h *Hub) Reachable() bool {
	u, err := url.Parse(h.URL())
	if err != nil {
		return false
	}
	host, _, _ := net.SplitHostPort(u.Host)
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Dial connects to the hub from inside its process, past its listener and its TLS, as a
// client named name that presents the hub's token: a dashboard that watches the hub uses it.
// The connection tries to reach the hub again if it drops, until the hub shuts down.
func (h *Hub) Dial(name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(h.srv), nats.Token(h.token), nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("cluster: hub: %w", err)
	}
	return nc, nil
}

// Token is the token clients and nodes must present.
func (h *Hub) Token() string { return h.token }

// Shutdown stops the hub and waits until it has.
func (h *Hub) Shutdown() {
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// Traffic is the bytes of the messages the hub has received from its clients and nodes, and
// sent on to them, since it started: the NATS server's own counters (its varz's in_bytes and
// out_bytes), headers included.
func (h *Hub) Traffic() (in, out int64) {
	v, err := h.srv.Varz(nil)
	if err != nil {
		return 0, 0
	}
	return v.InBytes, v.OutBytes
}
