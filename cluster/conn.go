package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// dial connects to the hub, trying for up to first. Once connected, nats.go reconnects by itself
// after a loss, for up to window (for ever when window < 0); onClosed is called when the
// connection is gone for good: the hub could not be reached again within the window. extra are
// TLS options (see natsTLS).
func dial(ctx context.Context, url, token, name string, first, window time.Duration, onClosed func(), extra ...nats.Option) (*nats.Conn, error) {
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
