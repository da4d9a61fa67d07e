package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

// Calls and replies survive their binary encoding; a message cut short, too long or of
// another version is an error, never a misread.
func TestCallWire(t *testing.T) {
	calls := []Call{
		{V: Version, Task: "a1b2c3-1", Module: "ff00", Func: "add", Args: []uint64{1, 1 << 63}},
		{V: Version, Task: "t", Module: "m", Func: "noargs", Output: true},
		{V: Version, Task: "t", Module: "m", Func: "scale", Args: []uint64{0, 2, 0, 0},
			Bufs: []wasm.Buffer{{Arg: 3, Data: []byte{}, Align: 8}, {Arg: 0, Data: []byte("0123456789abcdef"), Align: MaxAlign}}},
	}
	for _, c := range calls {
		b := AppendCall(nil, &c)
		var got Call
		if err := DecodeCall(b, &got); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("call %+v: decoded %+v, %v", c, got, err)
		}
		for k := range b {
			if err := DecodeCall(b[:k], new(Call)); err == nil {
				t.Errorf("call %+v cut at %d of %d bytes: no error", c, k, len(b))
			}
		}
		if err := DecodeCall(append(b, 0), new(Call)); err == nil {
			t.Errorf("call %+v with a byte too many: no error", c)
		}
	}
	trap := &wasm.Trap{Func: "boom", Reason: "unreachable"}
	replies := []Reply{
		{V: Version, Task: "a1b2c3-1", Values: []uint64{3}, Started: 1, Finished: 2, Tier: wasm.EngineCompiler},
		{V: Version, Task: "t", Started: -1, Finished: 1 << 62},
		{V: Version, Task: "t", Err: EncodeError(trap)},
		{V: Version, Task: "t", Err: EncodeError(ErrNodeLost)},
		{V: Version, Task: "t", Values: []uint64{1}, Bufs: []wasm.Buffer{{Arg: 3, Data: []byte("out")}}},
	}
	for _, r := range replies {
		b := AppendReply(nil, &r)
		var got Reply
		if err := DecodeReply(b, &got); err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("reply %+v: decoded %+v, %v", r, got, err)
		}
		for k := range b {
			if err := DecodeReply(b[:k], new(Reply)); err == nil {
				t.Errorf("reply %+v cut at %d of %d bytes: no error", r, k, len(b))
			}
		}
	}
	var got Reply
	if err := DecodeReply(AppendReply(nil, &replies[2]), &got); err != nil || !errors.As(DecodeError(got.Err), &trap) {
		t.Errorf("trap reply: %v, %v", DecodeError(got.Err), err)
	}
	old := AppendCall(nil, &calls[0])
	old[0] = 1
	if err := DecodeCall(old, new(Call)); err == nil {
		t.Error("a call of wire version 1: no error")
	}
	if err := DecodeReply([]byte(`{"v":1,"task":"t"}`), new(Reply)); err == nil {
		t.Error("a JSON reply: no error")
	}
}

// A call without arrays is encoded as before arrays, and a call's buffers whose lengths,
// arguments or alignments cannot be are errors.
func TestCallBuffersWire(t *testing.T) {
	plain := AppendCall(nil, &Call{V: Version, Task: "t", Module: "m", Func: "f", Args: []uint64{1}})
	if plain[1] != 0 {
		t.Errorf("a call without arrays has flags %#x", plain[1])
	}
	head := AppendCall(nil, &Call{V: Version, Task: "t", Module: "m", Func: "f", Args: []uint64{1, 2}})
	head[1] |= callBuffers
	for _, tt := range []struct {
		name string
		bufs []byte
	}{
		{"no count", nil},
		{"count 0", []byte{0}},
		{"more buffers than arguments", []byte{3, 0, 0, 0, 1, 0, 0, 0, 0, 0}},
		{"argument past the last", []byte{1, 2, 0, 0}},
		{"alignment over MaxAlign", binary.AppendUvarint([]byte{1, 0}, MaxAlign+1)},
		{"length past the end", []byte{1, 0, 0, 5, 'a'}},
		{"length of 2⁶³", append(binary.AppendUvarint([]byte{1, 0, 0}, 1<<63), 'a')},
		{"count of 2⁶³", binary.AppendUvarint(nil, 1<<63)},
		{"a byte too many", []byte{1, 0, 0, 1, 'a', 'b'}},
	} {
		if err := DecodeCall(append(slices.Clip(head), tt.bufs...), new(Call)); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// Batches and their answers carry each call's buffers; without them the layout is PackBatch's.
func TestBatchBuffersWire(t *testing.T) {
	h := BatchHeader{V: Version, Task: "t", Module: "m", Func: "scale", N: 3, Arity: 4}
	plain, _ := PackBatch(h, 12)
	if req, _ := PackBatchRequest(h, [][]wasm.Buffer{nil, {}, nil}); !bytes.Equal(req, plain) {
		t.Errorf("a batch without arrays: %q, PackBatch lays out %q", req, plain)
	}
	bufs := [][]wasm.Buffer{
		{{Arg: 0, Data: []byte("xs"), Align: 8}, {Arg: 3, Data: make([]byte, 300)}},
		nil,
		{{Arg: 3, Data: []byte{}, Align: 1}},
	}
	req, values := PackBatchRequest(h, bufs)
	for k := range 12 {
		binary.LittleEndian.PutUint64(values[8*k:], uint64(k))
	}
	got, args, gotBufs, err := ReadBatch(req)
	if want := h; err != nil || !got.Bufs || len(args) != 96 || binary.LittleEndian.Uint64(args[88:]) != 11 ||
		!reflect.DeepEqual(gotBufs, bufs) {
		t.Fatalf("read %+v, %d bytes of arguments, %v, %v; want %+v and %v", got, len(args), gotBufs, err, want, bufs)
	}
	for k := range req {
		if _, _, _, err := ReadBatch(req[:k]); err == nil {
			t.Errorf("a batch cut at %d of %d bytes: no error", k, len(req))
		}
	}
	if _, _, _, err := ReadBatch(append(slices.Clip(req), 0)); err == nil {
		t.Error("a batch with a byte too many: no error")
	}

	changed := [][]wasm.Buffer{{{Arg: 3, Data: []byte("out")}}, nil, nil}
	rep := PackBatchAnswer(BatchReplyHeader{V: Version, Task: "t", N: 3, Results: 1}, []int64{1, 2, 3}, []uint64{7, 8, 9}, changed)
	a, err := ReadBatchAnswer(rep, 3)
	if err != nil || !a.Bufs || a.Values()[2] != 9 || a.Finished(2) != 3 || !reflect.DeepEqual(a.Buffers(0), changed[0]) ||
		a.Buffers(1) != nil || a.Buffers(2) != nil {
		t.Fatalf("answer read as %+v, %v", a, err)
	}
	for k := range rep {
		if _, err := ReadBatchAnswer(rep[:k], 3); err == nil {
			t.Errorf("an answer cut at %d of %d bytes: no error", k, len(rep))
		}
	}
	plainRep := PackBatchAnswer(BatchReplyHeader{V: Version, Task: "t", N: 3, Results: 1}, []int64{1, 2, 3}, []uint64{7, 8, 9}, nil)
	if a, err := ReadBatchAnswer(plainRep, 3); err != nil || a.Bufs || a.Buffers(0) != nil {
		t.Errorf("an answer without arrays: %+v, %v", a, err)
	}
	// A header that says buffers follow for 65,536 calls, in a message of a few bytes.
	huge, _ := PackBatch(BatchHeader{V: Version, Task: "t", Module: "m", Func: "f", N: MaxBatchItems, Bufs: true}, 0)
	if _, _, _, err := ReadBatch(huge); err == nil {
		t.Error("buffers for 65,536 calls in no bytes: no error")
	}
}
