package cluster

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

// TLS holds the PEM files of one side of a TLS connection to the hub: this side's certificate
// and key (Cert, Key) and the authority the other side is checked against (CA). The zero value
// means no TLS. Hub, clients and nodes (node.WithTLS) take the same type.
type TLS = wire.TLS

// WithHubTLS makes the hub accept only TLS connections, with t.Cert and t.Key (both required).
// With t.CA set the hub also requires a certificate signed by it from every node and client
// (mutual TLS), on top of the token. The default is no TLS.
func WithHubTLS(t TLS) HubOption {
	return func(o *hubOptions) error {
		if t.Cert == "" || t.Key == "" {
			return errors.New("cluster: hub TLS needs a certificate and a key")
		}
		o.tls = t
		return nil
	}
}

// WithClientTLS makes the client connect to the hub over TLS (see TLS). The default is no TLS.
func WithClientTLS(t TLS) ClientOption {
	return func(o *clientOptions) error {
		if err := t.Check(); err != nil {
			return err
		}
		o.tls = t
		return nil
	}
}

// serverTLS configures an embedded nats-server for t.
func serverTLS(opts *server.Options, t TLS) error {
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: t.CA != ""})
	if err != nil {
		return fmt.Errorf("cluster: hub TLS: %w", err)
	}
	opts.TLS = true
	opts.TLSConfig = cfg
	opts.TLSVerify = t.CA != ""
	opts.TLSTimeout = 2
	return nil
}
