package wire_test

// Every decoder of bytes that reach a client, a node or a worker from the network or the
// worker's pipe has a fuzz target here, or beside the code that reads them (cluster and
// cluster/node test what they decode themselves). Whatever the bytes, a decoder answers with an error
// and never panics, and what it reads it writes back the same. `go test` runs the seeds (real
// messages, encoded by the code that sends them) and the inputs under testdata/fuzz; run a
// target for longer with
//
//	go test ./cluster/internal/wire -run '^$' -fuzz '^FuzzDecodeCall$' -fuzztime 60s
//
// or all of them with scripts/fuzz.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/internal/wiretest"
	"github.com/rain-wasm/rain/wasm"
)

// FuzzDecodeCall: a call message (rain.node.<id>.call, and wire.FrameCall to the worker).
func FuzzDecodeCall(f *testing.F) {
	for _, c := range wiretest.SeedCalls {
		f.Add(wire.AppendCall(nil, &c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c wire.Call
		if wire.DecodeCall(b, &c) != nil {
			return
		}
		checkBuffers(t, b, c.Bufs)
		var again wire.Call
		if err := wire.DecodeCall(wire.AppendCall(nil, &c), &again); err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%+v encoded and decoded: %+v, %v", c, again, err)
		}
	})
}

// FuzzDecodeReply: a call's reply (the client's inbox, and wire.FrameResult from the worker).
func FuzzDecodeReply(f *testing.F) {
	trap := &wasm.Trap{Func: "divmod", Reason: "integer divide by zero", Stack: []string{"divmod"}}
	for _, r := range []wire.Reply{
		{V: wire.Version, Task: "k3x9-1", Values: []uint64{3}, Started: 1_700_000_000_000_000_000, Finished: 1_700_000_000_000_001_000, Tier: wasm.EngineInterpreter},
		{V: wire.Version, Task: "k3x9-2", Values: []uint64{3, 1}, Tier: wasm.EngineCompiler},
		{V: wire.Version, Task: "k3x9-3", Err: wire.EncodeError(trap), Tier: wasm.EngineInterpreter},
		{V: wire.Version, Task: "k3x9-4", Err: wire.EncodeError(fmt.Errorf("%w: %s", wire.ErrNoModule, wiretest.FuzzSHA))},
		{V: wire.Version, Task: "k3x9-5", Err: wire.EncodeError(fmt.Errorf("%w (interrupted)", wire.ErrNodeLost))},
		{V: wire.Version, Task: "k3x9-6", Values: []uint64{3}, Tier: wasm.EngineCompiler,
			Bufs: []wasm.Buffer{{Arg: 0, Data: []byte{2, 2, 3}}, {Arg: 2, Data: []byte{}}}},
		{V: wire.Version, Task: "k3x9-7", Bufs: []wasm.Buffer{{Arg: 1, Data: []byte("x")}}, Err: wire.EncodeError(trap)},
	} {
		f.Add(wire.AppendReply(nil, &r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r wire.Reply
		if wire.DecodeReply(b, &r) != nil {
			return
		}
		checkBuffers(t, b, r.Bufs)
		wire.DecodeError(r.Err)
		enc := wire.AppendReply(nil, &r)
		var again wire.Reply
		if err := wire.DecodeReply(enc, &again); err != nil {
			t.Fatalf("%+v encoded and decoded: %v", r, err)
		}
		// The error's JSON is compacted on the way: compare it encoded.
		if !bytes.Equal(wire.AppendReply(nil, &again), enc) {
			t.Fatalf("%+v encoded and decoded: %+v", r, again)
		}
		r.Err, again.Err = nil, nil
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("%+v encoded and decoded: %+v", r, again)
		}
	})
}

// FuzzReadBatch: a batch message, as the node reads it before queueing it (and the worker
// before running it).
func FuzzReadBatch(f *testing.F) {
	for _, b := range wiretest.SeedBatches {
		f.Add(b)
	}
	f.Add(wire.BatchFailure("k3x9-1", wire.ErrNodeLost)) // an answer is no request
	f.Add(wiretest.HugeBatch)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, args, bufs, err := wire.ReadBatch(b)
		if err != nil {
			return
		}
		if h.N < 0 || h.N > wire.MaxBatchItems || h.Arity < 0 || len(args) != 8*h.N*h.Arity {
			t.Fatalf("%+v read with %d bytes of arguments", h, len(args))
		}
		if (bufs != nil) != h.Bufs || (bufs != nil && len(bufs) != h.N) {
			t.Fatalf("%+v read with buffers for %d calls", h, len(bufs))
		}
		for _, bs := range bufs {
			checkBuffers(t, b, bs)
			for _, buf := range bs {
				if buf.Arg >= h.Arity {
					t.Fatalf("a buffer for argument %d of %d", buf.Arg, h.Arity)
				}
			}
		}
		req, body := wire.PackBatchRequest(h, bufs)
		copy(body, args)
		again, args2, bufs2, err := wire.ReadBatch(req)
		want := h
		want.Bufs = slices.ContainsFunc(bufs, func(b []wasm.Buffer) bool { return len(b) > 0 })
		if !want.Bufs {
			bufs = nil // a section of calls without buffers is written as none
		}
		if len(want.Data) == 0 {
			want.Data = nil // an empty list is written as none
		}
		if err != nil || !reflect.DeepEqual(again, want) || !bytes.Equal(args2, args) || !reflect.DeepEqual(bufs2, bufs) {
			t.Fatalf("%+v encoded and read: %+v, %v", h, again, err)
		}
	})
}

// checkBuffers checks that buffers read from msg hold no more bytes than msg: a length in a
// message never makes a reader allocate more than the message.
func checkBuffers(t *testing.T, msg []byte, bufs []wasm.Buffer) {
	t.Helper()
	total := 0
	for _, b := range bufs {
		total += len(b.Data)
		if b.Arg < 0 || b.Align < 0 || b.Align > wire.MaxAlign {
			t.Fatalf("buffer read with argument %d, alignment %d", b.Arg, b.Align)
		}
	}
	if total > len(msg) {
		t.Fatalf("buffers of %d bytes read from a message of %d", total, len(msg))
	}
}

// FuzzCutGroup: a group frame (wire.FrameBatches, wire.FrameBatchResults), as the worker and the node
// cut it.
func FuzzCutGroup(f *testing.F) {
	group := wiretest.SeedGroup
	f.Add(group)
	f.Add(group[:len(group)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		p := b
		for {
			msg, rest, ok := wire.CutGroup(p)
			if !ok {
				if !bytes.Equal(rest, p) {
					t.Fatalf("a failed cut moved on")
				}
				break
			}
			again, p = wire.AppendGroup(again, msg), rest
		}
		if !bytes.Equal(again, b[:len(b)-len(p)]) {
			t.Fatalf("cut and joined: %q, want %q", again, b[:len(b)-len(p)])
		}
	})
}

// FuzzReadFrame: frames on the pipe between a node's supervisor and its worker, read by both.
func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	fw := wire.NewFrameWriter(&b)
	fw.Write(wire.FrameHello, []byte(strconv.Itoa(wire.Version)))
	fw.Write(wire.FrameLoad, []byte(wiretest.FuzzSHA))
	fw.Write(wire.FrameCall, wire.AppendCall(nil, &wire.Call{V: wire.Version, Task: "k3x9-1", Module: wiretest.FuzzSHA, Func: "add", Args: []uint64{1, 2}}))
	fw.Write(wire.FrameStdout, []byte("hello\n"))
	fw.Write(wire.FrameBatch, wiretest.SeedBatches[0])
	fw.Write(wire.FrameTiers, []byte(`[{"sha":"`+wiretest.FuzzSHA+`","state":"ready","tier":"interpreter","loaded":1,"ready":2,"compiled":0}]`))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var again bytes.Buffer
		fw := wire.NewFrameWriter(&again)
		for {
			typ, payload, err := wire.ReadFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, wire.ErrBadFrame) {
					t.Fatalf("error %v", err)
				}
				break
			}
			fw.Write(typ, payload)
		}
		if !bytes.Equal(again.Bytes(), b[:again.Len()]) {
			t.Fatalf("frames read and written: %q, want %q", again.Bytes(), b[:again.Len()])
		}
	})
}

// FuzzReadLoad: the headers of a load message (rain.node.<id>.load), with its chunk; sign
// sets the chunk's SHA-256 header to the chunk's, as a sender does.
func FuzzReadLoad(f *testing.F) {
	v := strconv.Itoa(wire.Version)
	f.Add(v, "has", wiretest.FuzzSHA, "", "", "", "", []byte(nil), false)
	f.Add(v, "chunk", wiretest.FuzzSHA, "105", "0", "", "3f9a0c", []byte("\x00asm\x01\x00\x00\x00"), true)
	f.Add(v, "chunk", wiretest.FuzzSHA, "105", "97", "", "3f9a0c", []byte("\x02\x00\x0b"), true)
	// Regression: an offset so large that offset+len(data) wrapped around below the size.
	f.Add(v, "chunk", wiretest.FuzzSHA, "105", strconv.Itoa(math.MaxInt), "", "3f9a0c", []byte("x"), true)
	f.Fuzz(func(t *testing.T, version, op, sha, size, offset, chunkSHA, transfer string, data []byte, sign bool) {
		if sign {
			sum := sha256.Sum256(data)
			chunkSHA = hex.EncodeToString(sum[:])
		}
		h := nats.Header{}
		for k, v := range map[string]string{wire.HdrVersion: version, wire.HdrOp: op, wire.HdrSHA: sha, wire.HdrSize: size,
			wire.HdrOffset: offset, wire.HdrChunkSHA: chunkSHA, wire.HdrTransfer: transfer} {
			h.Set(k, v)
		}
		l, err := wire.ReadLoad(h, data)
		switch {
		case err != nil:
		case l.SHA != sha || !wire.ValidHash(l.SHA):
			t.Fatalf("module %q read as %q", sha, l.SHA)
		case l.Op == "chunk":
			if l.Size <= 0 || l.Size > wire.MaxModule || l.Off < 0 || l.Off > l.Size-len(data) {
				t.Fatalf("%d bytes at %d of a module of %d accepted", len(data), l.Off, l.Size)
			}
		case l.Op != "has":
			t.Fatalf("op %q accepted", l.Op)
		}
	})
}

// FuzzReadData: the headers of a data message (rain.node.<id>.data), with its body, and the data
// references of a batch that names parts.
func FuzzReadData(f *testing.F) {
	v := strconv.Itoa(wire.Version)
	crc := strconv.FormatUint(uint64(wire.CRC(0, []byte("01234567"))), 10)
	f.Add(v, "has", wiretest.FuzzSHA, "k3x9", "", "", "", "", []byte(nil))
	f.Add(v, "chunk", wiretest.FuzzSHA, "k3x9", "16", "8", "", crc, []byte("01234567"))
	f.Add(v, "chunk", wiretest.FuzzSHA, "k3x9", "16", "8", "", "1", []byte("01234567"))
	f.Add(v, "get", wiretest.FuzzSHA, "k3x9", "", "4096", "1024", "", []byte(nil))
	f.Add(v, "free", wiretest.FuzzSHA, "k3x9", "", "", "", "", []byte(nil))
	f.Add(v, "chunk", wiretest.FuzzSHA, "k3x9", "16", strconv.Itoa(math.MaxInt), "", "0", []byte("x"))
	f.Add(v, "get", wiretest.FuzzSHA, "", "", "0", "1", "", []byte(nil))
	f.Fuzz(func(t *testing.T, version, op, sha, client, size, offset, length, crc string, data []byte) {
		h := nats.Header{}
		for k, v := range map[string]string{wire.HdrVersion: version, wire.HdrOp: op, wire.HdrHash: sha, wire.HdrClient: client,
			wire.HdrSize: size, wire.HdrOffset: offset, wire.HdrLength: length, wire.HdrCRC: crc} {
			h.Set(k, v)
		}
		d, err := wire.ReadData(h, data)
		switch {
		case err != nil:
		case d.Hash != sha || !wire.ValidHash(d.Hash) || d.Client == "":
			t.Fatalf("part %q of client %q read as %+v", sha, client, d)
		case d.Op == "chunk":
			if d.Size <= 0 || d.Size > wire.MaxPart || d.Off < 0 || d.Off > d.Size-len(data) || len(data) == 0 {
				t.Fatalf("%d bytes at %d of a part of %d accepted", len(data), d.Off, d.Size)
			}
			if wire.CRC(0, data) != d.CRC {
				t.Fatalf("a chunk whose CRC-32C is not %s accepted", crc)
			}
		case d.Op == "get":
			if d.Off < 0 || d.Length <= 0 || d.Off > wire.MaxPart || d.Length > wire.MaxPart {
				t.Fatalf("a get of %d bytes at %d accepted", d.Length, d.Off)
			}
		case d.Op != "has" && d.Op != "free":
			t.Fatalf("op %q accepted", d.Op)
		}
	})
}

// checkJSON checks that v, read from JSON, reads back the same once written.
func checkJSON[T any](t *testing.T, v T, decode func([]byte) (T, error)) {
	t.Helper()
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%+v: %v", v, err)
	}
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	if enc2, _ := json.Marshal(again); !bytes.Equal(enc2, enc) {
		t.Fatalf("%s read and written: %s", enc, enc2)
	}
}

func decodeJSON[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// FuzzStatus: a node's status (rain.status), as a client reads it.
func FuzzStatus(f *testing.F) {
	for _, st := range []wire.Status{
		{V: wire.Version, ID: "n1", Incarnation: "9f2c4e1a7b3d5c60", Host: "h", OS: "linux", Arch: "amd64", Cores: 2,
			Engine: "auto", Busy: 1, Done: 42, PID: 4242},
		{V: wire.Version, ID: "n2", Incarnation: "0a1b", Modules: []string{wiretest.FuzzSHA},
			Tiers: []wire.Tier{{SHA: wiretest.FuzzSHA, State: wasm.StateCompiled, Tier: wasm.EngineCompiler, Cache: true, Loaded: 1, Ready: 2, Compiled: 3}}},
	} {
		b, _ := json.Marshal(st)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := wire.DecodeStatus(b)
		if err != nil {
			return
		}
		wire.FromTiers(st.Tiers)
		checkJSON(t, st, wire.DecodeStatus)
	})
}

// FuzzTiers: a worker's tier state (wire.FrameTiers), as its supervisor reads it.
func FuzzTiers(f *testing.F) {
	b, _ := json.Marshal([]wire.Tier{
		{SHA: wiretest.FuzzSHA, State: wasm.StateCompiling, Tier: wasm.EngineInterpreter, Loaded: 1, Ready: 2},
		{SHA: "feed", State: wasm.StateInterpreter, Tier: wasm.EngineInterpreter, Err: "compile: out of memory"},
	})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := decodeJSON[[]wire.Tier](b)
		if err != nil {
			return
		}
		wire.FromTiers(ts)
		checkJSON(t, ts, decodeJSON[[]wire.Tier])
	})
}

// FuzzCancel: a cancel message (rain.node.<id>.cancel), as a node reads it.
func FuzzCancel(f *testing.F) {
	b, _ := json.Marshal(wire.Cancel{V: wire.Version, Task: "k3x9-1"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := wire.DecodeCancel(b)
		if err != nil {
			return
		}
		checkJSON(t, c, wire.DecodeCancel)
	})
}

// FuzzLoadReply: a node's answer to a load message, as the client reads it (and the worker's
// wire.FrameLoaded, as its supervisor reads it).
func FuzzLoadReply(f *testing.F) {
	for _, r := range []wire.LoadReply{
		{V: wire.Version, Have: true},
		{V: wire.Version},
		{V: wire.Version, Err: wire.EncodeError(fmt.Errorf("%w: chunk at 0 of module %s", wire.ErrChecksum, wiretest.FuzzSHA))},
		{V: wire.Version, Err: wire.EncodeError(fmt.Errorf("%w: env.nowhere", wasm.ErrImport))},
	} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeJSON[wire.LoadReply](b)
		if err != nil {
			return
		}
		wire.DecodeError(r.Err)
		checkJSON(t, r, decodeJSON[wire.LoadReply])
	})
}

// FuzzReadLink: the frames of a node's data link, as the node reads a client's (its hello, then
// its requests) and as a client reads the node's answers.
func FuzzReadLink(f *testing.F) {
	for _, q := range []struct {
		typ byte
		v   any
	}{
		{wire.FrameLinkHello, wire.LinkHello{V: wire.Version, Client: "k3x9", Key: "0123456789abcdef"}},
		{wire.FrameLinkPut, wire.LinkRequest{Hash: wiretest.FuzzSHA, Size: 1 << 20}},
		{wire.FrameLinkGet, wire.LinkRequest{Hash: wiretest.FuzzSHA}},
		{wire.FrameLinkPut, wire.LinkRequest{Hash: wiretest.FuzzSHA}},
		{wire.FrameLinkReply, wire.LoadReply{V: wire.Version, Have: true}},
		{wire.FrameLinkReply, wire.LoadReply{V: wire.Version, Err: wire.EncodeError(wire.ErrDataLimit)}},
	} {
		var b bytes.Buffer
		wire.WriteLinkFrame(wire.NewFrameWriter(&b), q.typ, q.v)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var hello wire.LinkHello
		wire.ReadLinkFrame(bytes.NewReader(b), wire.FrameLinkHello, &hello)
		if rep, err := wire.ReadLinkReply(bytes.NewReader(b)); err == nil && rep.Err != nil {
			wire.DecodeError(rep.Err)
		}
		typ, q, err := wire.ReadLinkRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		if typ != wire.FrameLinkPut && typ != wire.FrameLinkGet || !wire.ValidHash(q.Hash) || typ == wire.FrameLinkPut && (q.Size <= 0 || q.Size > wire.MaxPart) {
			t.Fatalf("%q read as a request of type %q: %+v", b, typ, q)
		}
		var again bytes.Buffer
		wire.WriteLinkFrame(wire.NewFrameWriter(&again), typ, q)
		if typ2, q2, err := wire.ReadLinkRequest(&again); err != nil || typ2 != typ || q2 != q {
			t.Fatalf("%+v written and read: %q %+v, %v", q, typ2, q2, err)
		}
	})
}
