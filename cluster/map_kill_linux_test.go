package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster/node"
	"github.com/rain-wasm/rain/wasm"
)

// A worker killed mid-map, while a task is known to run: the task runs again (a retry), and
// every result arrives once. The task is testdata/gate.wasm's hold, which says it started (a
// file) and waits to be let through (another file).
func TestMapWorkerKilled(t *testing.T) {
	gate := t.TempDir()
	s := node.DefaultSettings()
	s.Grants = []wasm.Grant{{Host: gate, Guest: gate}}
	tc := startClusterWith(t, 2, s)
	sha := tc.load(t, "testdata/gate.wasm")
	started := watchCreate(t, gate, "started")
	const n = 40
	args := make([][]uint64, n)
	for i := range args {
		args[i] = []uint64{api.EncodeI32(int32(i))}
	}
	nodes := tc.client.Nodes()
	type result struct {
		r   *MapResult
		err error
	}
	done := make(chan result, 1)
	seen := make([]atomic.Int32, n)
	go func() {
		r, err := tc.client.Map(t.Context(), MapSpec{Export: Export{Module: sha, Func: "hold"}, Args: args, Chunk: 1}, func(p MapProgress) {
			seen[p.Index].Add(1)
		})
		done <- result{r, err}
	}()
	<-started // a task runs, and waits: kill every worker
	for _, nd := range nodes {
		if err := syscall.Kill(nd.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range nodes {
		waitFor(t, func() bool { return tc.node(t, nd.ID).Restarts > nd.Restarts })
	}
	if err := os.WriteFile(filepath.Join(gate, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	for i, task := range r.Tasks {
		if task.Err != nil || api.DecodeI32(task.Values[0]) != int32(i) || seen[i].Load() != 1 {
			t.Fatalf("task %d: %v %v, reported %d times", i, task.Values, task.Err, seen[i].Load())
		}
	}
	if r.Retried == 0 {
		t.Errorf("retried 0 after the workers were killed; per node %v", r.PerNode())
	}
	t.Logf("retried %d, %v, per node %v", r.Retried, r.Elapsed, r.PerNode())
}

// watchCreate returns a channel closed once a file called name is created in dir.
func watchCreate(t *testing.T, dir, name string) <-chan struct{} {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	created := make(chan struct{})
	go func() {
		defer syscall.Close(fd)
		buf := make([]byte, 4096)
		for {
			k, err := syscall.Read(fd, buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= k; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				raw := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				if strings.TrimRight(string(raw), "\x00") == name {
					close(created)
					return
				}
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}()
	return created
}
