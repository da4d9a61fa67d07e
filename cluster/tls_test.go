//go:build unix

package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/node"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate (both
// signed by the CA) and another CA's certificate as PEM files in dir.
type testPKI struct {
	ca, otherCA           string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	template := func(cn string) *x509.Certificate {
		serial++
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		}
	}
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
		k := key()
		tmpl := template(name)
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		return cert, k, write(name+".pem", "CERTIFICATE", der)
	}
	leaf := func(name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (string, string) {
		k := key()
		tmpl := template(name)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	ca, caKey, caPath := newCA("ca")
	_, _, other := newCA("other-ca")
	p := testPKI{ca: caPath, otherCA: other}
	p.serverCert, p.serverKey = leaf("hub", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("node", ca, caKey, x509.ExtKeyUsageClientAuth)
	return p
}

// A hub with TLS and client verification: a node and a client with certificates from its CA
// join and call; one that does not trust the hub's CA, one without a client certificate and
// one without TLS are refused with ErrTLS, at once.
func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	hub, err := StartHub(WithHubTLS(TLS{Cert: pki.serverCert, Key: pki.serverKey, CA: pki.ca}))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	good := TLS{Cert: pki.clientCert, Key: pki.clientKey, CA: pki.ca}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	client, err := Connect(ctx, hub.URL(), hub.Token(), WithClientTLS(good))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	nodeCtx, stopNode := context.WithCancel(ctx)
	nodeDone := make(chan error, 1)
	var nodeLog bytes.Buffer
	go func() {
		nodeDone <- node.Run(nodeCtx, node.WithJoin(hub.URL()), node.WithToken(hub.Token()), node.WithTLS(good),
			inCache(t.TempDir()), node.WithLog(&nodeLog))
	}()
	defer func() {
		stopNode()
		if err := <-nodeDone; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	if err := client.WaitNodes(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(basics)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := client.Load(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Call(ctx, Call{Export: Export{Module: sha, Func: "add"}, Args: []uint64{2, 3}})
	if err != nil || res.Values[0] != 5 {
		t.Fatalf("add over TLS: %v, %v", res, err)
	}

	for _, tt := range []struct {
		name string
		tls  TLS
	}{
		{"untrusted hub", TLS{Cert: pki.clientCert, Key: pki.clientKey, CA: pki.otherCA}},
		{"no client certificate", TLS{CA: pki.ca}},
		{"no TLS", TLS{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			_, err := Connect(ctx, hub.URL(), hub.Token(), WithClientTLS(tt.tls))
			if !errors.Is(err, ErrTLS) {
				t.Errorf("client: %v, want ErrTLS", err)
			}
			err = node.Run(ctx, node.WithJoin(hub.URL()), node.WithToken(hub.Token()), node.WithTLS(tt.tls),
				inCache(t.TempDir()), node.WithLog(&bytes.Buffer{}))
			if !errors.Is(err, ErrTLS) {
				t.Errorf("node: %v, want ErrTLS", err)
			}
			t.Logf("refused after %v", time.Since(t0))
		})
	}
}

func TestTLSOptions(t *testing.T) {
	if _, err := StartHub(WithHubTLS(TLS{CA: "ca.pem"})); err == nil {
		t.Error("hub TLS without a certificate: no error")
	}
	if _, err := StartHub(WithHubTLS(TLS{Cert: "missing.pem", Key: "missing-key.pem"})); err == nil {
		t.Error("hub TLS with missing files: no error")
	}
	if err := node.Run(t.Context(), node.WithJoin("nats://127.0.0.1:1"), node.WithTLS(TLS{Cert: "c.pem"})); err == nil {
		t.Error("node TLS with a certificate and no key: no error")
	}
}
