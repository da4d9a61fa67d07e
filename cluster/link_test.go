package cluster

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/rain-wasm/rain/cluster/internal/vmcopy"
	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/node"
)

// Parts go to their nodes and come back over the nodes' data links, not through the hub — to
// nodes on the client's machine, straight from memory to memory; a node whose data port is off, or whose link the client cannot reach, moves them through the
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
		noMem       bool // the link's socket even to nodes on this machine
		viaHub      bool
	}{
		{"link", node.DefaultSettings(), false, false, false},
		{"link's socket", node.DefaultSettings(), false, true, false},
		{"data port off", noLink(), false, false, true},
		{"link unreachable", node.DefaultSettings(), true, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := startClusterWith(t, 2, tt.settings)
			tc.client.socketOnly = tt.noMem
			dials := map[string]int{}
			if tt.unreachable {
				tc.client.linkAddr = func(id, addr string) string { dials[id]++; return nowhere }
			}
			data := testData(16 << 20 / 8)
			for round := range 2 {
				in0, out0 := tc.hub.Traffic()
				mem0 := tc.client.memCopied.Load()
				placed, err := tc.client.Scatter(t.Context(), cut(data, 2), 8)
				if err != nil {
					t.Fatal(err)
				}
				back, err := tc.client.Gather(t.Context(), []string{placed[0].Hash, placed[1].Hash})
				if err != nil || !bytes.Equal(Joined(back), data) {
					t.Fatalf("gather: %v, or bytes unlike those scattered", err)
				}
				in1, out1 := tc.hub.Traffic()
				moved := (in1 - in0) + (out1 - out0)
				t.Logf("round %d: the hub carried %d bytes for a scatter and gather of %d", round, moved, len(data))
				if through := moved > int64(len(data)); through != tt.viaHub {
					t.Errorf("round %d: the hub carried %d bytes for a scatter and gather of %d; want through the hub %v", round, moved, len(data), tt.viaHub)
				}
				// Nodes on this machine: their parts are copied through memory, unless the
				// client was told not to, the data does not take the link, or the kernel
				// does not let a process at another's memory (the client then notes it).
				mem, want := tc.client.memCopied.Load()-mem0, int64(2*len(data))
				if viaMem := !tt.noMem && !tt.viaHub && !memDenied(tc.client); (mem == want) != viaMem || mem != 0 && mem != want {
					t.Errorf("round %d: %d bytes copied through memory for a scatter and gather of %d", round, mem, len(data))
				}
				tc.client.Free(placed[0].Hash, placed[1].Hash)
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

// memDenied says whether the client found every node's memory out of its reach (see
// link.memRequest): a kernel that does not let a process at another's.
func memDenied(c *Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.nodes {
		if !s.noMem {
			return false
		}
	}
	return len(c.nodes) > 0
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
	tc.client.Free(placed[0].Hash)
}

// A node lets a client on its machine copy a part straight into its memory, once the client
// has found there the challenge it sent: it keeps the part once the client says the copy is made, and forgets it if the copy
// failed. A client from another address is told to use the socket.
func TestDataLinkMem(t *testing.T) {
	tc := startCluster(t, 1)
	tc.client.mu.Lock()
	var addr, key string
	for _, s := range tc.client.nodes {
		addr, key = s.link, s.linkKey
	}
	tc.client.mu.Unlock()
	host, _, _ := net.SplitHostPort(addr)
	if host != "127.0.0.1" {
		t.Skipf("the link is on %s, not on 127.0.0.1: no other address of this machine to dial from", host)
	}
	data := testData(1 << 20 / 8)
	put := wire.LinkRequest{Hash: wire.PartHash(data), Size: len(data), Challenge: wire.RandomHex(16)}
	for _, tt := range []struct {
		name string
		from string // the address the client dials from
		ok   bool   // the client copies the part
		want error  // the node's answer to FrameLinkPutMem
		kept bool
	}{
		{"another address", "127.0.0.2", false, wire.ErrNoMem, false},
		{"a copy that failed", "127.0.0.1", false, nil, false},
		{"a copy", "127.0.0.1", true, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}}
			conn, err := d.DialContext(t.Context(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fw := wire.NewFrameWriter(conn)
			if err := wire.WriteLinkFrame(fw, wire.FrameLinkHello, wire.LinkHello{V: wire.Version, Client: tc.client.id, Key: key}); err != nil {
				t.Fatal(err)
			}
			if rep, err := wire.ReadLinkReply(conn); err != nil || rep.Err != nil {
				t.Fatalf("hello: %+v, %v", rep, err)
			}
			var m wire.LinkMem
			if err := wire.WriteLinkFrame(fw, wire.FrameLinkPutMem, put); err != nil {
				t.Fatal(err)
			}
			if err := wire.ReadLinkFrame(conn, wire.FrameLinkMem, &m); err != nil {
				t.Fatal(err)
			}
			if err := wire.DecodeError(m.Err); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("put through memory from %s: %v, want %v", tt.from, err, tt.want)
			}
			if tt.want != nil {
				return
			}
			got := make([]byte, 16)
			err = vmcopy.Read(m.PID, m.Token, got)
			if errors.Is(err, vmcopy.ErrDenied) || errors.Is(err, vmcopy.ErrUnsupported) {
				t.Skipf("this kernel does not let a process at another's memory: %v", err)
			}
			if err != nil || hex.EncodeToString(got) != put.Challenge {
				t.Fatalf("the challenge at %#x in process %d: %x, %v; want %s", m.Token, m.PID, got, err, put.Challenge)
			}
			// What the client checks before it copies: the node's process holds the challenge
			// where it says; not another challenge, nor this process, which holds it too.
			var l link
			mine, _ := hex.DecodeString(put.Challenge)
			if !l.reaches(m, put.Challenge) || l.reaches(m, wire.RandomHex(16)) ||
				l.reaches(wire.LinkMem{PID: os.Getpid(), Token: vmcopy.Addr(mine)}, put.Challenge) {
				t.Error("the client's check of the node's process does not tell the node from others")
			}
			if len(m.Spans) != 1 || m.Spans[0].Len != len(data) {
				t.Fatalf("spans %+v for a part of %d bytes", m.Spans, len(data))
			}
			if tt.ok {
				if err := vmcopy.Write(m.PID, m.Spans[0].Addr, data); err != nil {
					t.Fatal(err)
				}
			}
			if err := wire.WriteLinkFrame(fw, wire.FrameLinkMemDone, wire.LinkMemDone{OK: tt.ok}); err != nil {
				t.Fatal(err)
			}
			rep, err := wire.ReadLinkReply(conn)
			if err != nil || rep.Have != tt.kept {
				t.Fatalf("after the copy (made %v): %+v, %v", tt.ok, rep, err)
			}
			waitNodes(t, tc.client, func(nodes []NodeInfo) bool { return (nodes[0].Data == int64(len(data))) == tt.kept })
		})
	}
	// The part put through memory is kept for the client: a scatter of the same bytes sends
	// nothing, and a gather brings back the bytes copied.
	mem0 := tc.client.memCopied.Load()
	placed, err := tc.client.Scatter(t.Context(), [][]byte{data}, 8)
	if err != nil {
		t.Fatal(err)
	}
	back, err := tc.client.Gather(t.Context(), []string{placed[0].Hash})
	if err != nil || !bytes.Equal(back[0], data) {
		t.Fatalf("gather of the part copied through memory: %v", err)
	}
	if mem := tc.client.memCopied.Load() - mem0; mem != int64(len(data)) {
		t.Errorf("%d bytes copied through memory for a scatter of a part the node had and its gather, want %d", mem, len(data))
	}
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
