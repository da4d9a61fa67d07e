package node

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/rain-wasm/rain/cluster/internal/wire"
)

func hashOf(b []byte) string { return wire.PartHash(b) }

// send gives the store part data in chunks of n bytes, as client "c1" sends it.
func send(s *store, data []byte, n int, transfer string) (bool, error) {
	done, _, err := sendAs(s, "c1", hashOf(data), data, n, transfer)
	return done, err
}

// sendAs gives the store data in chunks of n bytes, named sha, as client sends it.
func sendAs(s *store, client, sha string, data []byte, n int, transfer string) (done, dropped bool, err error) {
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		var d bool
		done, d, err = s.chunk(wire.DataOp{Op: "chunk", Hash: sha, Client: client, Size: len(data), Off: off, Transfer: transfer}, bytes.Clone(data[off:end]))
		dropped = dropped || d
		if err != nil {
			return false, dropped, err
		}
	}
	return done, dropped, nil
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
	h, _ := s.lend(hashOf(data), "c1", false)
	if h == nil || h.size != 1000 || len(h.chunks) != 4 {
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
	if h, _ := s.lend(hashOf(data), "c2", true); h == nil || !h.checked {
		t.Fatalf("shared with c2: %+v", h)
	}
	if s.free(hashOf(data), "c1") {
		t.Fatal("dropped while c2 holds it")
	}
	if !s.free(hashOf(data), "c2") || s.used != 0 {
		t.Fatalf("not dropped once both freed it: %d bytes used", s.used)
	}
}

// A part whose bytes are not what its name says is its sender's alone: another client that
// asks for it, or sends it, never gets those bytes, and the store drops them.
func TestStoreShare(t *testing.T) {
	data := bytes.Repeat([]byte("rain"), 250)
	bad := bytes.Clone(data)
	bad[500] ^= 1
	sha := hashOf(data)
	get := func(s *store, client string, own bool) []byte {
		if h, _ := s.lend(sha, client, own); h != nil {
			return h.bytes(0, h.size)
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		// first c1 sends bad or good bytes; then c2 asks (has) or sends the good ones.
		c1Bad, c2Sends bool
		c2Gets         []byte // what c2 holds after
		dropped        bool   // c1's bytes dropped
	}{
		{"good, asked", false, false, data, false},
		{"good, sent again", false, true, data, false},
		{"bad, asked", true, false, nil, true},
		{"bad, sent again", true, true, data, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(0)
			first := data
			if tc.c1Bad {
				first = bad
			}
			if done, dropped, err := sendAs(s, "c1", sha, first, 400, "t1"); !done || dropped || err != nil {
				t.Fatalf("c1 sent: %v %v %v", done, dropped, err)
			}
			if got := get(s, "c1", false); !bytes.Equal(got, first) { // its own: not checked
				t.Fatalf("c1 gets %d bytes back, not what it sent", len(got))
			}
			var dropped bool
			if tc.c2Sends {
				var done bool
				var err error
				if done, dropped, err = sendAs(s, "c2", sha, data, 400, "t2"); !done || err != nil {
					t.Fatalf("c2 sent: %v %v", done, err)
				}
			} else {
				_, dropped = s.lend(sha, "c2", true)
			}
			if dropped != tc.dropped {
				t.Errorf("c1's bytes dropped: %v, want %v", dropped, tc.dropped)
			}
			if got := get(s, "c2", false); !bytes.Equal(got, tc.c2Gets) {
				t.Errorf("c2 gets %d bytes, want %d", len(got), len(tc.c2Gets))
			}
			if got := get(s, "c3", false); !bytes.Equal(got, tc.c2Gets) {
				t.Errorf("c3 gets %d bytes, want %d", len(got), len(tc.c2Gets))
			}
			if want := int64(len(tc.c2Gets)); s.used != want {
				t.Errorf("%d bytes used, want %d", s.used, want)
			}
			if holds := s.parts[sha] != nil && s.parts[sha].owners["c1"]; holds == tc.dropped {
				t.Errorf("c1 holds the part: %v", holds)
			}
		})
	}
	// A map's output is named by the node: shared without a check. Kept where a client's
	// misnamed part was, it takes that part's place.
	s := newStore(0)
	if _, _, err := sendAs(s, "c1", sha, bad, 1000, "t"); err != nil {
		t.Fatal(err)
	}
	if added, dropped, err := s.keep(sha, data, "c2"); err != nil || !added || !dropped || !s.parts[sha].checked {
		t.Fatalf("kept: added %v, dropped %v, %v", added, dropped, err)
	}
	if got := get(s, "c1", false); !bytes.Equal(got, data) || s.parts[sha].owners["c1"] {
		t.Errorf("c1 gets %d bytes of the map's output, holds it %v", len(got), s.parts[sha].owners["c1"])
	}
}

// Chunks out of order and parts past the limit are refused, and leave no room taken.
func TestStoreRefuses(t *testing.T) {
	s := newStore(1500)
	data := bytes.Repeat([]byte("rain"), 250)
	sha := hashOf(data)
	s.chunk(wire.DataOp{Hash: sha, Client: "c1", Size: 1000, Off: 0, Transfer: "u"}, data[:400])
	if _, _, err := s.chunk(wire.DataOp{Hash: sha, Client: "c1", Size: 1000, Off: 800, Transfer: "u"}, data[800:]); err == nil || s.used != 0 {
		t.Errorf("a chunk out of order: %v, %d bytes used", err, s.used)
	}
	if _, err := send(s, data, 1000, "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := send(s, bytes.Repeat([]byte("snow"), 250), 1000, "w"); !errors.Is(err, wire.ErrDataLimit) {
		t.Fatalf("a part past the limit: %v", err)
	}
	if _, _, err := s.keep(hashOf([]byte("x")), make([]byte, 600), "c1"); !errors.Is(err, wire.ErrDataLimit) {
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
	if got := s.gone("c1", false, 0); len(got) != 1 || got[0] != hashOf(data) || s.used != 0 {
		t.Fatalf("not dropped after the timeout: %d bytes used", s.used)
	}
}

// putWhole gives the store a part of size bytes of fill in one piece for client "c1", as a copy
// through memory does, and returns its name and the memory it went to.
func putWhole(t *testing.T, s *store, size int, fill byte) (string, []byte) {
	t.Helper()
	data := bytes.Repeat([]byte{fill}, size)
	d := wire.DataOp{Op: "chunk", Hash: hashOf(data), Client: "c1", Size: size, Transfer: "m" + string(fill)}
	b, err := s.room(d)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, data)
	if done, _, err := s.chunk(d, b); !done || err != nil {
		t.Fatalf("put: %v %v", done, err)
	}
	return d.Hash, b
}

// The memory of a large part that came in one piece is kept for the next, once the part is
// dropped and no longer lent, within the store's limit, until trim.
func TestStoreSpare(t *testing.T) {
	const mib = 1 << 20
	same := func(a, b []byte) bool { return unsafe.SliceData(a) == unsafe.SliceData(b) }
	for _, tc := range []struct {
		name      string
		limit     int64
		first     int  // size of the part dropped
		lent      bool // lent when it is dropped, given back after the next part came
		trim      bool // the store trimmed before the next part
		next      int  // size of the next part
		reused    bool // the next part has the first's memory
		sparedEnd int  // bytes spare at the end
	}{
		{"same size", 0, 4 * mib, false, false, 4 * mib, true, 0},
		{"smaller", 0, 4 * mib, false, false, 3 * mib, true, 0},
		{"less than half", 0, 4 * mib, false, false, mib, false, 4 * mib},
		{"larger", 0, 4 * mib, false, false, 5 * mib, false, 4 * mib},
		{"small", 0, mib / 2, false, false, mib / 2, false, 0},
		{"lent", 0, 4 * mib, true, false, 4 * mib, false, 4 * mib},
		{"trimmed", 0, 4 * mib, false, true, 4 * mib, false, 0},
		{"within a limit", 10 * mib, 4 * mib, false, false, 4 * mib, true, 0},
		{"past a limit", 6 * mib, 4 * mib, false, false, mib / 2, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(tc.limit)
			if tc.limit > 0 {
				putWhole(t, s, 2*mib, 'k') // a part that stays
			}
			sha, first := putWhole(t, s, tc.first, 'a')
			var h *held
			if tc.lent {
				h, _ = s.lend(sha, "c1", false)
			}
			if !s.free(sha, "c1") {
				t.Fatal("not dropped")
			}
			if tc.trim {
				s.trim()
			}
			_, next := putWhole(t, s, tc.next, 'b')
			if same(first, next) != tc.reused {
				t.Errorf("the next part has the first's memory: %v, want %v", same(first, next), tc.reused)
			}
			if h != nil {
				if !bytes.Equal(h.bytes(0, h.size), bytes.Repeat([]byte{'a'}, tc.first)) {
					t.Error("a lent part's bytes changed after it was dropped")
				}
				s.giveBack(h)
			}
			if s.sparedLocked() != int64(tc.sparedEnd) {
				t.Errorf("%d bytes spare, want %d", s.sparedLocked(), tc.sparedEnd)
			}
			if tc.limit > 0 && s.used+s.sparedLocked() > tc.limit {
				t.Errorf("%d bytes used and %d spare, past the limit of %d", s.used, s.sparedLocked(), tc.limit)
			}
		})
	}
}

// Spare memory that no part took goes after the store's spareFor, and the timer starts again
// whenever memory is kept spare.
func TestStoreSpareExpires(t *testing.T) {
	s := newStore(0)
	s.spareFor = 20 * time.Millisecond
	hash, b := putWhole(t, s, 2<<20, 'a')
	s.free(hash, "c1")
	spared := func() int64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sparedLocked()
	}
	if spared() != int64(len(b)) {
		t.Fatalf("%d bytes spare after the free, want %d", spared(), len(b))
	}
	for deadline := time.Now().Add(10 * time.Second); spared() != 0; {
		if time.Now().After(deadline) {
			t.Fatal("spare memory still kept 10 s after it was dropped")
		}
		runtime.Gosched()
	}
}
