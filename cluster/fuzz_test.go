package cluster

// Every decoder of bytes that reach a client, a node or a worker from the network or the
// worker's pipe has a fuzz target here. Whatever the bytes, a decoder answers with an error
// and never panics, and what it reads it writes back the same. `go test` runs the seeds (real
// messages, encoded by the code that sends them) and the inputs under testdata/fuzz; run a
// target for longer with
//
//	go test ./cluster -run '^$' -fuzz '^FuzzDecodeCall$' -fuzztime 60s
//
// or all of them with scripts/fuzz.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rain-wasm/rain/wasm"
)

// fuzzSHA is the SHA-256 of testdata/fuzz.wasm, the module of the seeds.
const fuzzSHA = "85f545c19f826914c01961ef2e6e4d714d7d671a573aa44b2f1a6cdb83592bf5"

// fuzzWorker is a worker, on the interpreter, with testdata/fuzz.wasm instantiated: its
// functions return at once whatever their arguments, so any batch of them ends.
func fuzzWorker(f *testing.F) *worker {
	f.Helper()
	bin, err := os.ReadFile("testdata/fuzz.wasm")
	if err != nil {
		f.Fatal(err)
	}
	if sum := sha256.Sum256(bin); hex.EncodeToString(sum[:]) != fuzzSHA {
		f.Fatalf("testdata/fuzz.wasm has SHA-256 %x, fuzzSHA says %s", sum, fuzzSHA)
	}
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "modules"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules", fuzzSHA+".wasm"), bin, 0o644); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	w, err := newWorker(ctx, dir, wasm.EngineInterpreter, nil, 0, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.rt.Close(ctx) })
	if err := w.load(ctx, fuzzSHA); err != nil {
		f.Fatal(err)
	}
	return w
}

// batchRequest is a batch message as the client sends it.
func batchRequest(h batchHeader, args ...uint64) []byte {
	req, body := packBatch(h, len(args))
	for k, v := range args {
		binary.LittleEndian.PutUint64(body[8*k:], v)
	}
	return req
}

// seedBatches are batch messages of every function of testdata/fuzz.wasm.
var seedBatches = [][]byte{
	batchRequest(batchHeader{V: wireVersion, Task: "k3x9-1", Module: fuzzSHA, Func: "add", N: 3, Arity: 2},
		1, 2, 3, 4, math.MaxUint32, 1),
	batchRequest(batchHeader{V: wireVersion, Task: "k3x9-2", Module: fuzzSHA, Func: "divmod", N: 3, Arity: 2},
		7, 2, 1, 0, 1<<31, math.MaxUint32), // the last two trap: divide by zero, overflow
	batchRequest(batchHeader{V: wireVersion, Task: "k3x9-3", Module: fuzzSHA, Func: "zero", N: 2}),
	batchRequest(batchHeader{V: wireVersion, Task: "k3x9-4", Module: fuzzSHA, Func: "nothing", N: 1}),
}

// hugeBatch is a regression: 2⁶² calls without arguments fit in a body of 0 bytes, and the
// worker made slices of 2⁶² results for them.
var hugeBatch = batchRequest(batchHeader{V: wireVersion, Task: "k3x9-5", Module: fuzzSHA, Func: "zero", N: 1 << 62})

// FuzzDecodeCall: a call message (rain.node.<id>.call, and frameCall to the worker).
func FuzzDecodeCall(f *testing.F) {
	for _, c := range []callMsg{
		{V: wireVersion, Task: "k3x9-1", Module: fuzzSHA, Func: "add", Args: []uint64{1, 2}},
		{V: wireVersion, Task: "k3x9-2", Module: fuzzSHA, Func: "nothing", Output: true},
		{V: wireVersion, Task: "k3x9-3", Module: fuzzSHA, Func: "divmod", Args: []uint64{1 << 63, math.MaxUint64}},
	} {
		f.Add(appendCall(nil, &c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c callMsg
		if decodeCall(b, &c) != nil {
			return
		}
		var again callMsg
		if err := decodeCall(appendCall(nil, &c), &again); err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%+v encoded and decoded: %+v, %v", c, again, err)
		}
	})
}

// FuzzDecodeReply: a call's reply (the client's inbox, and frameResult from the worker).
func FuzzDecodeReply(f *testing.F) {
	trap := &wasm.Trap{Func: "divmod", Reason: "integer divide by zero", Stack: []string{"divmod"}}
	for _, r := range []replyMsg{
		{V: wireVersion, Task: "k3x9-1", Values: []uint64{3}, Started: 1_700_000_000_000_000_000, Finished: 1_700_000_000_000_001_000, Tier: wasm.EngineInterpreter},
		{V: wireVersion, Task: "k3x9-2", Values: []uint64{3, 1}, Tier: wasm.EngineCompiler},
		{V: wireVersion, Task: "k3x9-3", Err: toWire(trap), Tier: wasm.EngineInterpreter},
		{V: wireVersion, Task: "k3x9-4", Err: toWire(fmt.Errorf("%w: %s", errNoModule, fuzzSHA))},
		{V: wireVersion, Task: "k3x9-5", Err: toWire(fmt.Errorf("%w (interrupted)", ErrNodeLost))},
	} {
		f.Add(appendReply(nil, &r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r replyMsg
		if decodeReply(b, &r) != nil {
			return
		}
		fromWire(r.Err)
		enc := appendReply(nil, &r)
		var again replyMsg
		if err := decodeReply(enc, &again); err != nil {
			t.Fatalf("%+v encoded and decoded: %v", r, err)
		}
		// The error's JSON is compacted on the way: compare it encoded.
		if !bytes.Equal(appendReply(nil, &again), enc) {
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
	for _, b := range seedBatches {
		f.Add(b)
	}
	f.Add(batchFailure("k3x9-1", ErrNodeLost)) // an answer is no request
	f.Add(hugeBatch)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, args, err := readBatch(b)
		if err != nil {
			return
		}
		if h.N < 0 || h.N > maxBatchItems || h.Arity < 0 || len(args) != 8*h.N*h.Arity {
			t.Fatalf("%+v read with %d bytes of arguments", h, len(args))
		}
		req, body := packBatch(h, h.N*h.Arity)
		copy(body, args)
		again, args2, err := readBatch(req)
		if err != nil || again != h || !bytes.Equal(args2, args) {
			t.Fatalf("%+v encoded and read: %+v, %v", h, again, err)
		}
	})
}

// FuzzDecodeBatch: a batch's answer, as the client reads it; n is the number of calls the
// client sent in the message.
func FuzzDecodeBatch(f *testing.F) {
	w := fuzzWorker(f)
	for _, b := range seedBatches {
		h, _, _ := readBatch(b)
		f.Add(w.batch(b), uint16(h.N))
	}
	f.Add(batchFailure("k3x9-1", fmt.Errorf("%w: nope", wasm.ErrNoExport)), uint16(1))
	// Regressions: results counts for which 8×n×(1+results) wrapped around to the size of the
	// body (8 bytes, 0 bytes), and the client made a slice of 2⁶¹ values.
	for _, r := range []struct{ results, body int }{{1 << 61, 1}, {1<<61 - 1, 0}} {
		b, _ := packBatch(batchReplyHeader{V: wireVersion, Task: "k3x9-1", N: 1, Results: r.results}, r.body)
		f.Add(b, uint16(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		if n > 1024 { // the client's own count: bounded by maxBatchItems, kept small here
			return
		}
		res := make([]BatchResult, n)
		if decodeBatch(b, int(n), res, "n1", "f") != nil {
			return
		}
		values := -1 // of every call that did not fail
		for i, r := range res {
			switch {
			case r.Node != "n1":
				t.Fatalf("call %d: node %q", i, r.Node)
			case r.Err != nil:
				if r.Values != nil {
					t.Fatalf("call %d failed with values %v", i, r.Values)
				}
			case values >= 0 && len(r.Values) != values:
				t.Fatalf("call %d: %d values, call before %d", i, len(r.Values), values)
			default:
				values = len(r.Values)
			}
		}
	})
}

// FuzzWorkerBatch: a batch message run by the worker. Whatever the message, the worker
// answers with a batch answer the client can read.
func FuzzWorkerBatch(f *testing.F) {
	w := fuzzWorker(f)
	for _, b := range seedBatches {
		f.Add(b)
	}
	f.Add(hugeBatch)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBatchAnswer(t, b, w.batch(b))
	})
}

// checkBatchAnswer checks the worker's answer to req: it reads as a failure of the whole
// message or as the results of every call, and add's sums are right.
func checkBatchAnswer(t *testing.T, req, rep []byte) {
	t.Helper()
	var rh batchReplyHeader
	if _, err := unpackBatch(rep, &rh); err != nil {
		t.Fatalf("answer %q: %v", rep, err)
	}
	if rh.Err != nil {
		return
	}
	h, args, err := readBatch(req)
	if err != nil {
		t.Fatalf("a request that does not read (%v) was run", err)
	}
	res := make([]BatchResult, h.N)
	if err := decodeBatch(rep, h.N, res, "n1", h.Func); err != nil {
		t.Fatalf("answer %q: %v", rep, err)
	}
	if h.Func != "add" {
		return
	}
	for i, r := range res {
		a, b := binary.LittleEndian.Uint32(args[16*i:]), binary.LittleEndian.Uint32(args[16*i+8:])
		if r.Err != nil || len(r.Values) != 1 || uint32(r.Values[0]) != a+b {
			t.Fatalf("add(%d, %d) = %v, %v", a, b, r.Values, r.Err)
		}
	}
}

// FuzzWorkerBatches: a group of batch messages (frameBatches) run by the worker, which answers
// each in one frame or rejects a frame that is not a group.
func FuzzWorkerBatches(f *testing.F) {
	w := fuzzWorker(f)
	var group []byte
	for _, b := range seedBatches {
		group = appendGroup(group, b)
	}
	f.Add(group)
	f.Add(group[:len(group)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		var reqs [][]byte
		whole := true
		for p := b; len(p) > 0; {
			msg, rest, ok := cutGroup(p)
			if !ok {
				whole = false
				break
			}
			reqs, p = append(reqs, msg), rest
		}
		out, err := w.batches(b)
		if (err == nil) != whole {
			t.Fatalf("a group that cuts whole: %v, answered: %v", whole, err)
		}
		if err != nil {
			return
		}
		for i, req := range reqs {
			rep, rest, ok := cutGroup(out)
			if !ok {
				t.Fatalf("%d answers to %d messages", i, len(reqs))
			}
			checkBatchAnswer(t, req, rep)
			out = rest
		}
		if len(out) > 0 {
			t.Fatalf("%d bytes after the answers", len(out))
		}
	})
}

// FuzzCutGroup: the worker's answers to a group (frameBatchResults), as the node cuts them.
func FuzzCutGroup(f *testing.F) {
	w := fuzzWorker(f)
	var group []byte
	for _, b := range seedBatches {
		group = appendGroup(group, w.batch(b))
	}
	f.Add(group)
	f.Add(group[:len(group)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		var again []byte
		p := b
		for {
			msg, rest, ok := cutGroup(p)
			if !ok {
				if !bytes.Equal(rest, p) {
					t.Fatalf("a failed cut moved on")
				}
				break
			}
			again, p = appendGroup(again, msg), rest
		}
		if !bytes.Equal(again, b[:len(b)-len(p)]) {
			t.Fatalf("cut and joined: %q, want %q", again, b[:len(b)-len(p)])
		}
	})
}

// FuzzReadFrame: frames on the pipe between a node's supervisor and its worker, read by both.
func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	fw := &frameWriter{w: &b}
	fw.write(frameHello, []byte(strconv.Itoa(wireVersion)))
	fw.write(frameLoad, []byte(fuzzSHA))
	fw.write(frameCall, appendCall(nil, &callMsg{V: wireVersion, Task: "k3x9-1", Module: fuzzSHA, Func: "add", Args: []uint64{1, 2}}))
	fw.write(frameStdout, []byte("hello\n"))
	fw.write(frameBatch, seedBatches[0])
	fw.write(frameTiers, []byte(`[{"sha":"`+fuzzSHA+`","state":"ready","tier":"interpreter","loaded":1,"ready":2,"compiled":0}]`))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		var again bytes.Buffer
		fw := &frameWriter{w: &again}
		for {
			typ, payload, err := readFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errBadFrame) {
					t.Fatalf("error %v", err)
				}
				break
			}
			fw.write(typ, payload)
		}
		if !bytes.Equal(again.Bytes(), b[:again.Len()]) {
			t.Fatalf("frames read and written: %q, want %q", again.Bytes(), b[:again.Len()])
		}
	})
}

// FuzzWorkerServe: whatever comes in on a worker's stdin, it answers, or stops with an error.
func FuzzWorkerServe(f *testing.F) {
	w := fuzzWorker(f)
	var b bytes.Buffer
	fw := &frameWriter{w: &b}
	fw.write(frameLoad, []byte(fuzzSHA))
	fw.write(frameLoad, []byte("../modules/"+fuzzSHA)) // names no other file
	fw.write(frameCall, appendCall(nil, &callMsg{V: wireVersion, Task: "k3x9-1", Module: fuzzSHA, Func: "add", Args: []uint64{1, 2}}))
	fw.write(frameCall, appendCall(nil, &callMsg{V: wireVersion, Task: "k3x9-2", Module: fuzzSHA, Func: "divmod", Args: []uint64{1, 0}, Output: true}))
	fw.write(frameBatch, seedBatches[1])
	fw.write(frameBatches, appendGroup(appendGroup(nil, seedBatches[0]), seedBatches[2]))
	f.Add(b.Bytes())
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		w.serve(ctx, bytes.NewReader(b))
	})
}

// FuzzReadLoad: the headers of a load message (rain.node.<id>.load), with its chunk; sign
// sets the chunk's SHA-256 header to the chunk's, as a sender does.
func FuzzReadLoad(f *testing.F) {
	v := strconv.Itoa(wireVersion)
	f.Add(v, "has", fuzzSHA, "", "", "", "", []byte(nil), false)
	f.Add(v, "chunk", fuzzSHA, "105", "0", "", "3f9a0c", []byte("\x00asm\x01\x00\x00\x00"), true)
	f.Add(v, "chunk", fuzzSHA, "105", "97", "", "3f9a0c", []byte("\x02\x00\x0b"), true)
	// Regression: an offset so large that offset+len(data) wrapped around below the size.
	f.Add(v, "chunk", fuzzSHA, "105", strconv.Itoa(math.MaxInt), "", "3f9a0c", []byte("x"), true)
	f.Fuzz(func(t *testing.T, version, op, sha, size, offset, chunkSHA, transfer string, data []byte, sign bool) {
		if sign {
			sum := sha256.Sum256(data)
			chunkSHA = hex.EncodeToString(sum[:])
		}
		h := nats.Header{}
		for k, v := range map[string]string{hdrVersion: version, hdrOp: op, hdrSHA: sha, hdrSize: size,
			hdrOffset: offset, hdrChunkSHA: chunkSHA, hdrTransfer: transfer} {
			h.Set(k, v)
		}
		l, err := readLoad(h, data)
		switch {
		case err != nil:
		case l.sha != sha || !validSHA(l.sha):
			t.Fatalf("module %q read as %q", sha, l.sha)
		case l.op == "chunk":
			if l.size <= 0 || l.size > maxModule || l.off < 0 || l.off > l.size-len(data) {
				t.Fatalf("%d bytes at %d of a module of %d accepted", len(data), l.off, l.size)
			}
		case l.op != "has":
			t.Fatalf("op %q accepted", l.op)
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
	for _, st := range []statusMsg{
		{V: wireVersion, ID: "n1", Incarnation: "9f2c4e1a7b3d5c60", Host: "h", OS: "linux", Arch: "amd64", Cores: 2,
			Engine: "auto", Busy: 1, Done: 42, PID: 4242},
		{V: wireVersion, ID: "n2", Incarnation: "0a1b", Modules: []string{fuzzSHA},
			Tiers: []tierMsg{{SHA: fuzzSHA, State: wasm.StateCompiled, Tier: wasm.EngineCompiler, Cache: true, Loaded: 1, Ready: 2, Compiled: 3}}},
	} {
		b, _ := json.Marshal(st)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStatus(b)
		if err != nil {
			return
		}
		fromTierMsgs(st.Tiers)
		checkJSON(t, st, decodeStatus)
	})
}

// FuzzTiers: a worker's tier state (frameTiers), as its supervisor reads it.
func FuzzTiers(f *testing.F) {
	b, _ := json.Marshal([]tierMsg{
		{SHA: fuzzSHA, State: wasm.StateCompiling, Tier: wasm.EngineInterpreter, Loaded: 1, Ready: 2},
		{SHA: "feed", State: wasm.StateInterpreter, Tier: wasm.EngineInterpreter, Err: "compile: out of memory"},
	})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := decodeJSON[[]tierMsg](b)
		if err != nil {
			return
		}
		fromTierMsgs(ts)
		checkJSON(t, ts, decodeJSON[[]tierMsg])
	})
}

// FuzzCancel: a cancel message (rain.node.<id>.cancel), as a node reads it.
func FuzzCancel(f *testing.F) {
	b, _ := json.Marshal(cancelMsg{V: wireVersion, Task: "k3x9-1"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCancel(b)
		if err != nil {
			return
		}
		checkJSON(t, c, decodeCancel)
	})
}

// FuzzLoadReply: a node's answer to a load message, as the client reads it (and the worker's
// frameLoaded, as its supervisor reads it).
func FuzzLoadReply(f *testing.F) {
	for _, r := range []loadReply{
		{V: wireVersion, Have: true},
		{V: wireVersion},
		{V: wireVersion, Err: toWire(fmt.Errorf("%w: chunk at 0 of module %s", ErrChecksum, fuzzSHA))},
		{V: wireVersion, Err: toWire(fmt.Errorf("%w: env.nowhere", wasm.ErrImport))},
	} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeJSON[loadReply](b)
		if err != nil {
			return
		}
		fromWire(r.Err)
		checkJSON(t, r, decodeJSON[loadReply])
	})
}
