//go:build unix

package cluster

import (
	"testing"
	"time"
)

// Hub.Dial reaches a hub in this process past its listener, even one that requires TLS and
// client certificates: a dashboard watches it so.
func TestHubDial(t *testing.T) {
	pki := newTestPKI(t)
	hub, err := StartHub(WithHubTLS(TLS{Cert: pki.serverCert, Key: pki.serverKey, CA: pki.ca}))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	nc, err := hub.Dial("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hello" {
		t.Errorf("a message through the hub: %v, %v", m, err)
	}
}
