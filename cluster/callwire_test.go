package cluster

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rain-wasm/rain/wasm"
)

// Calls and replies survive their binary encoding; a message cut short, too long or of
// another version is an error, never a misread.
func TestCallWire(t *testing.T) {
	calls := []callMsg{
		{V: wireVersion, Task: "a1b2c3-1", Module: "ff00", Func: "add", Args: []uint64{1, 1 << 63}},
		{V: wireVersion, Task: "t", Module: "m", Func: "noargs", Output: true},
	}
	for _, c := range calls {
		b := appendCall(nil, &c)
		var got callMsg
		if err := decodeCall(b, &got); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("call %+v: decoded %+v, %v", c, got, err)
		}
		for k := range b {
			if err := decodeCall(b[:k], new(callMsg)); err == nil {
				t.Errorf("call %+v cut at %d of %d bytes: no error", c, k, len(b))
			}
		}
		if err := decodeCall(append(b, 0), new(callMsg)); err == nil {
			t.Errorf("call %+v with a byte too many: no error", c)
		}
	}
	trap := &wasm.Trap{Func: "boom", Reason: "unreachable"}
	replies := []replyMsg{
		{V: wireVersion, Task: "a1b2c3-1", Values: []uint64{3}, Started: 1, Finished: 2, Tier: wasm.EngineCompiler},
		{V: wireVersion, Task: "t", Started: -1, Finished: 1 << 62},
		{V: wireVersion, Task: "t", Err: toWire(trap)},
		{V: wireVersion, Task: "t", Err: toWire(ErrNodeLost)},
	}
	for _, r := range replies {
		b := appendReply(nil, &r)
		var got replyMsg
		if err := decodeReply(b, &got); err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("reply %+v: decoded %+v, %v", r, got, err)
		}
		for k := range b {
			if err := decodeReply(b[:k], new(replyMsg)); err == nil {
				t.Errorf("reply %+v cut at %d of %d bytes: no error", r, k, len(b))
			}
		}
	}
	var got replyMsg
	if err := decodeReply(appendReply(nil, &replies[2]), &got); err != nil || !errors.As(fromWire(got.Err), &trap) {
		t.Errorf("trap reply: %v, %v", fromWire(got.Err), err)
	}
	old := appendCall(nil, &calls[0])
	old[0] = 1
	if err := decodeCall(old, new(callMsg)); err == nil {
		t.Error("a call of wire version 1: no error")
	}
	if err := decodeReply([]byte(`{"v":1,"task":"t"}`), new(replyMsg)); err == nil {
		t.Error("a JSON reply: no error")
	}
}
