package wire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Dial connects to the hub, trying for up to first. Once connected, nats.go reconnects by itself
// after a loss, for up to window (for ever when window < 0); onClosed is called when the
// connection is gone for good: the hub could not be reached again within the window. extra are
// TLS options (see TLS.Options).
func Dial(ctx context.Context, url, token, name string, first, window time.Duration, onClosed func(), extra ...nats.Option) (*nats.Conn, error) {
	const wait = 250 * time.Millisecond
	reconnects := -1
	if window >= 0 {
		reconnects = max(1, int(window/wait))
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(reconnects),
		nats.ReconnectWait(wait),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
	}
	opts = append(opts, extra...)
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if onClosed != nil {
		opts = append(opts, nats.ClosedHandler(func(*nats.Conn) { onClosed() }))
	}
	deadline := time.Now().Add(first)
	for {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(err.Error(), "uthorization") {
			return nil, fmt.Errorf("%w: %s", ErrUnauthorized, url)
		}
		if isTLSError(err) { // trying again would not help
			return nil, fmt.Errorf("%w: %s: %v", ErrTLS, url, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s: %v", ErrHubLost, url, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// isTLSError reports whether a connection failed in TLS: a handshake, a certificate, or TLS
// asked of one side only.
func isTLSError(err error) bool {
	if errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) {
		return true
	}
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	if errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate")
}

// Timing that clients and nodes agree on.
const (
	// HubTimeout is how long a client waits for a hub it lost, and how long a node keeps
	// trying to reach it: 30 s.
	HubTimeout = 30 * time.Second
	// FirstDial is how long a node or a client tries to reach a hub it has not reached yet.
	FirstDial = 5 * time.Second
	// Heartbeat is how often nodes publish their status; clients declare a node lost after
	// LostAfter heartbeats without one.
	Heartbeat = 500 * time.Millisecond
	LostAfter = 4
)

// TokenEnv is the environment variable a node's token is passed in by whoever starts it, so
// that it does not show in the process list.
const TokenEnv = "RAIN_TOKEN"

// RandomHex is n random bytes in hex: an ID that no other process picks.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TLS holds the PEM files of one side of a TLS connection to the hub. The zero value means
// no TLS.
type TLS struct {
	// Cert and Key are this side's certificate and private key: the hub's server certificate,
	// or a node's or client's certificate for a hub that verifies them.
	Cert, Key string
	// CA is the certificate authority the other side is checked against: on a node or client,
	// the one that signed the hub's certificate (the system's roots if empty); on the hub, the
	// one that signed nodes' and clients' certificates, which are then required.
	CA string
}

// Enabled says whether t asks for TLS.
func (t TLS) Enabled() bool { return t != TLS{} }

// Check says whether t is whole: a certificate and a key, or neither.
func (t TLS) Check() error {
	if (t.Cert == "") != (t.Key == "") {
		return errors.New("cluster: TLS: give both a certificate and a key, or neither")
	}
	return nil
}

// Options are the nats.go options for t.
func (t TLS) Options() []nats.Option {
	if !t.Enabled() {
		return nil
	}
	opts := []nats.Option{nats.Secure()}
	if t.CA != "" {
		opts = append(opts, nats.RootCAs(t.CA))
	}
	if t.Cert != "" {
		opts = append(opts, nats.ClientCert(t.Cert, t.Key))
	}
	return opts
}
