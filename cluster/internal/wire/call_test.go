package wire

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

// Calls and replies survive their binary encoding; a message cut short, too long or of
// another version is an error, never a misread.
func TestCallWire(t *testing.T) {
	calls := []Call{
		{V: Version, Task: "a1b2c3-1", Module: "ff00", Func: "add", Args: []uint64{1, 1 << 63}},
		{V: Version, Task: "t", Module: "m", Func: "noargs", Output: true},
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
