package cluster

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/node"
)

// Parts go to their nodes and come back over the nodes' data links, not through the hub; a
// node whose data port is off, or whose link the client cannot reach, moves them through the
// hub, and the client tries such a link once.
func TestDataLink(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := closed.Addr().String()
	closed.Close()
	for _, tt := range []struct {
		name        string
		settings    node.Settings
		unreachable bool
		viaHub      bool
	}{
		{"link", node.DefaultSettings(), false, false},
		{"data port off", noLink(), false, true},
		{"link unreachable", node.DefaultSettings(), true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := startClusterWith(t, 2, tt.settings)
			dials := map[string]int{}
			if tt.unreachable {
				tc.client.linkAddr = func(id, addr string) string { dials[id]++; return nowhere }
			}
			data := testData(16 << 20 / 8)
			for round := range 2 {
				in0, out0 := tc.hub.Traffic()
				placed, err := tc.client.Scatter(t.Context(), cut(data, 2), 8)
				if err != nil {
					t.Fatal(err)
				}
				back, err := tc.client.Gather(t.Context(), []string{placed[0].SHA256, placed[1].SHA256})
				if err != nil || !bytes.Equal(Joined(back), data) {
					t.Fatalf("gather: %v, or bytes unlike those scattered", err)
				}
				in1, out1 := tc.hub.Traffic()
				moved := (in1 - in0) + (out1 - out0)
				t.Logf("round %d: the hub carried %d bytes for a scatter and gather of %d", round, moved, len(data))
				if through := moved > int64(len(data)); through != tt.viaHub {
					t.Errorf("round %d: the hub carried %d bytes for a scatter and gather of %d; want through the hub %v", round, moved, len(data), tt.viaHub)
				}
				tc.client.Free(placed[0].SHA256, placed[1].SHA256)
				waitNodes(t, tc.client, noData)
			}
			for _, n := range tc.client.Nodes() {
				if n.DataLink == tt.viaHub {
					t.Errorf("node %s: DataLink %v, want data through the hub %v", n.ID, n.DataLink, tt.viaHub)
				}
			}
			for id, n := range dials {
				if n != 1 {
					t.Errorf("the link of node %s was tried %d times, want once", id, n)
				}
			}
		})
	}
}

// A data link answers only a client that presents its key, which the node's status gives, and
// serves others after.
func TestDataLinkKey(t *testing.T) {
	tc := startCluster(t, 1)
	tc.client.mu.Lock()
	var addr string
	for _, s := range tc.client.nodes {
		addr = s.link
	}
	tc.client.mu.Unlock()
	if addr == "" {
		t.Fatal("the node names no data link")
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := wire.WriteLinkFrame(wire.NewFrameWriter(conn), wire.FrameLinkHello, wire.LinkHello{V: wire.Version, Client: "c", Key: "not-the-key"}); err != nil {
		t.Fatal(err)
	}
	rep, err := wire.ReadLinkReply(conn)
	if err != nil || rep.Err == nil || !strings.Contains(wire.DecodeError(rep.Err).Error(), "key") {
		t.Fatalf("hello with a wrong key: %+v, %v; want an error about the key", rep, err)
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the link still reads after a wrong key: %d bytes, %v", n, err)
	}
	data := testData(1 << 20 / 8)
	in0, out0 := tc.hub.Traffic()
	placed, err := tc.client.Scatter(t.Context(), [][]byte{data}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if in1, out1 := tc.hub.Traffic(); in1-in0+out1-out0 > int64(len(data)) {
		t.Errorf("the hub carried %d bytes of a scatter of %d: not over the link", in1-in0+out1-out0, len(data))
	}
	tc.client.Free(placed[0].SHA256)
}

// A node given a data port that is in use does not start, and says which port and what to do.
func TestDataPortInUse(t *testing.T) {
	hub, err := StartHub()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	s := node.DefaultSettings()
	s.CacheDir, s.DataPort = t.TempDir(), node.DataPort(port)
	err = node.Run(t.Context(), node.WithJoin(hub.URL()), node.WithToken(hub.Token()), node.WithSettings(s), node.WithLog(io.Discard))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), fmt.Sprintf("data port %d", port)) || !strings.Contains(err.Error(), "give another --data-port") {
		t.Errorf("a node on data port %d, in use: %v; want one line naming the port and the flag", port, err)
	}
}
