package wire

import (
	"bytes"
	"testing"
)

// A part's name is the BLAKE3-256 of its bytes, whatever pieces they come in.
func TestPartHash(t *testing.T) {
	long := bytes.Repeat([]byte("rain on the nodes "), 1<<16)
	for _, tc := range []struct {
		name   string
		pieces [][]byte
		want   string
	}{
		// BLAKE3's own test vectors.
		{"empty", [][]byte{{}}, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"one byte", [][]byte{{0}}, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
		{"abc", [][]byte{[]byte("abc")}, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
		{"abc in pieces", [][]byte{[]byte("a"), nil, []byte("bc")}, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
		{"long in pieces", [][]byte{long[:1000], long[1000:70000], long[70000:]}, PartHash(long)},
	} {
		if got := PartHash(tc.pieces...); got != tc.want || !ValidHash(got) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if PartHash(long) == PartHash(long[1:]) {
		t.Error("two arrays, one name")
	}
}
