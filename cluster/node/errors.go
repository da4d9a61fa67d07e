package node

import "github.com/rain-wasm/rain/cluster/internal/wire"

// Errors Run returns; they are the same values as package cluster's, so either matches.
var (
	// ErrUnauthorized is returned when the hub refused the token.
	ErrUnauthorized = wire.ErrUnauthorized

	// ErrHubLost is returned when the hub could not be reached at start, or again within the
	// reconnect window after it was lost (see WithReconnectWindow).
	ErrHubLost = wire.ErrHubLost

	// ErrTLS is returned when the TLS handshake with the hub failed: a certificate that does
	// not verify, TLS on one side only, or unreadable PEM files.
	ErrTLS = wire.ErrTLS
)
