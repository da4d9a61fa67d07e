package node

// The fuzz targets of what a worker reads: batch messages and frames on its stdin. The
// decoders the client, the supervisor and the worker share have theirs in
// cluster/internal/wire. Run a target for longer with
//
//	go test ./cluster/node -run '^$' -fuzz '^FuzzWorkerBatch$' -fuzztime 60s
//
// or all of them with scripts/fuzz.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rain-wasm/rain/cluster/internal/wire"
	"github.com/rain-wasm/rain/cluster/internal/wiretest"
	"github.com/rain-wasm/rain/wasm"
)

// fuzzWorker is a worker, on the interpreter, with testdata/fuzz.wasm instantiated: its
// functions return at once whatever their arguments, so any batch of them ends.
func fuzzWorker(f *testing.F) *worker {
	f.Helper()
	bin, err := os.ReadFile("testdata/fuzz.wasm")
	if err != nil {
		f.Fatal(err)
	}
	if sum := sha256.Sum256(bin); hex.EncodeToString(sum[:]) != wiretest.FuzzSHA {
		f.Fatalf("testdata/fuzz.wasm has SHA-256 %x, wiretest.FuzzSHA says %s", sum, wiretest.FuzzSHA)
	}
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "modules"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules", wiretest.FuzzSHA+".wasm"), bin, 0o644); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	w, err := newWorker(ctx, Settings{Tier: wasm.TierInterpreter, CacheDir: dir}, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.rt.Close(ctx) })
	if err := w.load(ctx, wiretest.FuzzSHA); err != nil {
		f.Fatal(err)
	}
	return w
}

// FuzzWorkerBatch: a batch message run by the worker. Whatever the message, the worker
// answers with a batch answer the client can read.
func FuzzWorkerBatch(f *testing.F) {
	w := fuzzWorker(f)
	for _, b := range wiretest.SeedBatches {
		f.Add(b)
	}
	f.Add(wiretest.HugeBatch)
	f.Fuzz(func(t *testing.T, b []byte) {
		req := bytes.Clone(b) // the worker writes what a call left in an array over the request's bytes
		checkBatchAnswer(t, req, w.batch(b))
	})
}

// checkBatchAnswer checks the worker's answer to req: it reads as a failure of the whole
// message or as the results of every call, and add's sums are right.
func checkBatchAnswer(t *testing.T, req, rep []byte) {
	t.Helper()
	var rh wire.BatchReplyHeader
	if _, err := wire.UnpackBatch(rep, &rh); err != nil {
		t.Fatalf("answer %q: %v", rep, err)
	}
	if rh.Err != nil {
		return
	}
	h, args, bufs, err := wire.ReadBatch(req)
	if err != nil {
		t.Fatalf("a request that does not read (%v) was run", err)
	}
	a, err := wire.ReadBatchAnswer(rep, h.N)
	if err != nil {
		t.Fatalf("answer %q: %v", rep, err)
	}
	for i := range h.N {
		for _, b := range a.Buffers(i) {
			if bufs == nil || !slices.ContainsFunc(bufs[i], func(sent wasm.Buffer) bool { return sent.Arg == b.Arg && len(sent.Data) == len(b.Data) }) {
				t.Fatalf("call %d sent back a buffer for argument %d of %d bytes, which it was not given", i, b.Arg, len(b.Data))
			}
		}
	}
	if h.Func == "inc" { // inc adds 1 to the first byte of its array
		for i := range h.N {
			failed := slices.ContainsFunc(a.Errs, func(e wire.BatchError) bool { return e.I == i })
			if bufs == nil || len(bufs[i]) != 1 || bufs[i][0].Arg != 0 || failed {
				continue
			}
			got := a.Buffers(i)
			if sent := bufs[i][0].Data; len(sent) > 0 && (len(got) != 1 || got[0].Data[0] != sent[0]+1) {
				t.Fatalf("inc of %v: sent back %v", sent, got)
			}
		}
	}
	if h.Func != "add" {
		return
	}
	vals := a.Values()
	for i := range h.N {
		x, y := binary.LittleEndian.Uint32(args[16*i:]), binary.LittleEndian.Uint32(args[16*i+8:])
		failed := slices.ContainsFunc(a.Errs, func(e wire.BatchError) bool { return e.I == i })
		if failed || a.Results != 1 || uint32(vals[i]) != x+y {
			t.Fatalf("add(%d, %d) = %v, failed %v", x, y, vals[i*a.Results:(i+1)*a.Results], failed)
		}
	}
}

// FuzzWorkerBatches: a group of batch messages (wire.FrameBatches) run by the worker, which answers
// each in one frame or rejects a frame that is not a group.
func FuzzWorkerBatches(f *testing.F) {
	w := fuzzWorker(f)
	group := wiretest.SeedGroup
	f.Add(group)
	f.Add(group[:len(group)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		var reqs [][]byte
		whole := true
		for p := bytes.Clone(b); len(p) > 0; {
			msg, rest, ok := wire.CutGroup(p)
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
			rep, rest, ok := wire.CutGroup(out)
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

// FuzzWorkerServe: whatever comes in on a worker's stdin, it answers, or stops with an error.
func FuzzWorkerServe(f *testing.F) {
	w := fuzzWorker(f)
	var b bytes.Buffer
	fw := wire.NewFrameWriter(&b)
	fw.Write(wire.FrameLoad, []byte(wiretest.FuzzSHA))
	fw.Write(wire.FrameLoad, []byte("../modules/"+wiretest.FuzzSHA)) // names no other file
	fw.Write(wire.FrameCall, wire.AppendCall(nil, &wire.Call{V: wire.Version, Task: "k3x9-1", Module: wiretest.FuzzSHA, Func: "add", Args: []uint64{1, 2}}))
	fw.Write(wire.FrameCall, wire.AppendCall(nil, &wire.Call{V: wire.Version, Task: "k3x9-2", Module: wiretest.FuzzSHA, Func: "divmod", Args: []uint64{1, 0}, Output: true}))
	fw.Write(wire.FrameCall, wire.AppendCall(nil, &wiretest.SeedCalls[3]))
	fw.Write(wire.FrameBatch, wiretest.SeedBatches[4])
	fw.Write(wire.FrameBatch, wiretest.SeedBatches[1])
	fw.Write(wire.FrameBatches, wire.AppendGroup(wire.AppendGroup(nil, wiretest.SeedBatches[0]), wiretest.SeedBatches[2]))
	f.Add(b.Bytes())
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		w.serve(ctx, bytes.NewReader(b))
	})
}
