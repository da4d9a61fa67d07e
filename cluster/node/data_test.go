package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// send gives the store part data in chunks of n bytes, as client "c1" sends it.
func send(s *store, data []byte, n int, transfer string) (bool, error) {
	sha := shaOf(data)
	var done bool
	var err error
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		done, err = s.chunk(wire.DataOp{Op: "chunk", SHA: sha, Client: "c1", Size: len(data), Off: off, Transfer: transfer}, bytes.Clone(data[off:end]))
		if err != nil {
			return false, err
		}
	}
	return done, nil
}

// A part arrives in chunks and is kept as they came; its bytes come back whatever the range.
func TestStoreChunks(t *testing.T) {
	s := newStore(0)
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if done, err := send(s, data, 300, "t1"); !done || err != nil {
		t.Fatalf("sent: %v %v", done, err)
	}
	h, ok := s.get(shaOf(data))
	if !ok || h.size != 1000 || len(h.chunks) != 4 {
		t.Fatalf("kept as %+v", h)
	}
	for _, r := range [][2]int{{0, 1000}, {0, 300}, {299, 2}, {250, 500}, {900, 100}, {999, 1}, {300, 300}} {
		if got := h.bytes(r[0], r[1]); !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Errorf("bytes %d…%d: %v", r[0], r[0]+r[1], got)
		}
	}
	if n, parts := s.usage(); n != 1000 || parts != 1 {
		t.Errorf("usage %d bytes in %d parts", n, parts)
	}
	// A second client holds it too: freed by one, it stays for the other.
	if !s.has(shaOf(data), "c2") {
		t.Fatal("has: no")
	}
	if s.free(shaOf(data), "c1") {
		t.Fatal("dropped while c2 holds it")
	}
	if !s.free(shaOf(data), "c2") || s.used != 0 {
		t.Fatalf("not dropped once both freed it: %d bytes used", s.used)
	}
}

// Damaged bytes, chunks out of order and parts past the limit are refused, and leave no room
// taken.
func TestStoreRefuses(t *testing.T) {
	s := newStore(1500)
	data := bytes.Repeat([]byte("rain"), 250)
	bad := bytes.Clone(data)
	bad[500] ^= 1
	sha := shaOf(data)
	for off := 0; off < len(bad); off += 400 {
		_, err := s.chunk(wire.DataOp{SHA: sha, Client: "c1", Size: len(bad), Off: off, Transfer: "t"}, bad[off:min(off+400, len(bad))])
		if off+400 >= len(bad) && !errors.Is(err, wire.ErrChecksum) {
			t.Fatalf("a damaged part: %v", err)
		}
	}
	if s.used != 0 {
		t.Errorf("%d bytes used after a damaged part", s.used)
	}
	s.chunk(wire.DataOp{SHA: sha, Client: "c1", Size: 1000, Off: 0, Transfer: "u"}, data[:400])
	if _, err := s.chunk(wire.DataOp{SHA: sha, Client: "c1", Size: 1000, Off: 800, Transfer: "u"}, data[800:]); err == nil || s.used != 0 {
		t.Errorf("a chunk out of order: %v, %d bytes used", err, s.used)
	}
	if _, err := send(s, data, 1000, "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := send(s, bytes.Repeat([]byte("snow"), 250), 1000, "w"); !errors.Is(err, wire.ErrDataLimit) {
		t.Fatalf("a part past the limit: %v", err)
	}
	if err := s.keep(shaOf([]byte("x")), make([]byte, 600), "c1"); !errors.Is(err, wire.ErrDataLimit) {
		t.Fatalf("an output past the limit: %v", err)
	}
	if s.used != 1000 {
		t.Errorf("%d bytes used, want 1000", s.used)
	}
}

// A client that does not answer for the hub timeout loses its hold on its parts.
func TestStoreGone(t *testing.T) {
	s := newStore(0)
	data := []byte("kept for a client that goes")
	if _, err := send(s, data, 10, "t"); err != nil {
		t.Fatal(err)
	}
	if got := s.owners(); len(got) != 1 || got[0] != "c1" {
		t.Fatalf("owners %v", got)
	}
	if s.gone("c1", false, time.Hour) != nil || s.gone("c1", false, time.Hour) != nil {
		t.Fatal("dropped before the timeout")
	}
	if s.gone("c1", true, 0) != nil || s.gone("c1", false, 0) != nil {
		t.Fatal("dropped at the first silence after an answer")
	}
	if got := s.gone("c1", false, 0); len(got) != 1 || got[0] != shaOf(data) || s.used != 0 {
		t.Fatalf("not dropped after the timeout: %d bytes used", s.used)
	}
}
