package cluster

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

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

func (t TLS) enabled() bool { return t != TLS{} }

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

// WithTLS makes the node connect to the hub over TLS (see TLS). The default is no TLS.
func WithTLS(t TLS) NodeOption {
	return func(o *nodeOptions) error {
		if err := checkTLS(t); err != nil {
			return err
		}
		o.tls = t
		return nil
	}
}

// WithClientTLS makes the client connect to the hub over TLS (see TLS). The default is no TLS.
func WithClientTLS(t TLS) ClientOption {
	return func(o *clientOptions) error {
		if err := checkTLS(t); err != nil {
			return err
		}
		o.tls = t
		return nil
	}
}

func checkTLS(t TLS) error {
	if (t.Cert == "") != (t.Key == "") {
		return errors.New("cluster: TLS: give both a certificate and a key, or neither")
	}
	return nil
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

// natsTLS is the nats.go options for t.
func natsTLS(t TLS) []nats.Option {
	if !t.enabled() {
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
