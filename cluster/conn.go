package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// dial connects to the hub. onClosed is called when the connection is gone for good: the hub
// could not be reached again within the reconnect window.
func dial(ctx context.Context, url, token, name string, window time.Duration, onClosed func()) (*nats.Conn, error) {
	const wait = 250 * time.Millisecond
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(max(1, int(window/wait))),
		nats.ReconnectWait(wait),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if onClosed != nil {
		opts = append(opts, nats.ClosedHandler(func(*nats.Conn) { onClosed() }))
	}
	deadline := time.Now().Add(window)
	for {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(err.Error(), "uthorization") {
			return nil, fmt.Errorf("%w: %s", ErrUnauthorized, url)
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
