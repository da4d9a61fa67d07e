package launch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rain-wasm/rain/cluster"
)

// A Slurm job's nodes join the hub with its IDs; Stop cancels the job, and it leaves the
// queue and the hub.
func TestSlurmJob(t *testing.T) {
	needSlurm(t)
	hub, client := testHub(t)
	j := startJob(t, hub, testRequest(t, "slurm 2"))
	if j.SchedulerID == "" || j.Name != "slurm-"+j.SchedulerID {
		t.Errorf("job %q has the Slurm ID %q", j.Name, j.SchedulerID)
	}
	ids := waitJobNodes(t, client, j)
	want := []string{j.NodeID(0), j.NodeID(1)}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("nodes %v joined, want %v", ids, want)
	}
	poll(t, time.Minute, j.Name+" to run", func() bool { return j.Status().State == Running })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := j.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := j.Status(); st != (Status{State: Done, Reason: "stopped"}) {
		t.Errorf("a stopped job is %s", st)
	}
	if q := squeue(t); strings.Contains(q, j.SchedulerID) {
		t.Errorf("job %s is still in the queue after Stop:\n%s", j.SchedulerID, q)
	}
	waitGone(t, client, j)
}

// squeue is the queue's job IDs and states.
func squeue(t *testing.T) string {
	out, err := exec.Command("squeue", "--noheader", "--format=%i %T").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v\n%s", err, out)
	}
	return string(out)
}

// 16 nodes through Slurm, on the interpreter to fit a small machine: a map over them gives the
// results of one node. The time from the launch to the 16 nodes joined is logged.
func TestSlurm16(t *testing.T) {
	needSlurm(t)
	hub, client := testHub(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	one := startJob(t, hub, testRequest(t, "local 1"))
	waitJobNodes(t, client, one)
	bin, err := os.ReadFile("../../examples/mandelbrot.wasm")
	if err != nil {
		t.Fatal(err)
	}
	sha, err := client.Load(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	spec := cluster.MapSpec{Export: cluster.Export{Module: sha, Func: "row"}}
	for y := 0; y < 1024; y += 16 {
		spec.Args = append(spec.Args, []uint64{api.EncodeI32(int32(y))})
	}
	spec.Nodes = []string{one.NodeID(0)}
	want, err := client.Map(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	one.Stop(ctx)

	start := time.Now()
	j := startJob(t, hub, testRequest(t, "slurm 16"))
	spec.Nodes = waitJobNodes(t, client, j)
	t.Logf("16 nodes through Slurm: %v from the launch to all joined", time.Since(start).Round(time.Millisecond))
	got, err := client.Map(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Tasks {
		if w, g := want.Tasks[i], got.Tasks[i]; g.Err != nil || !slices.Equal(g.Values, w.Values) {
			t.Errorf("row %d: %v (%v) on %s, want %v as on one node", i*16, g.Values, g.Err, g.Node, w.Values)
		}
	}
	t.Logf("the map ran on %d of the 16 nodes", len(got.PerNode()))
}

// What Slurm refuses, and a job that fails at once, are one line each, in Slurm's words or the
// job's.
func TestSlurmErrors(t *testing.T) {
	needSlurm(t)
	hub, _ := testHub(t)
	start := func(words string) (*Job, error) {
		return Start(t.Context(), testRequest(t, words), hub.URL(), hub.Token(), WithBinary(os.Args[0]), WithLogDir(t.TempDir()))
	}
	_, err := start("slurm 1 --partition nosuch")
	if err == nil || !strings.Contains(err.Error(), "invalid partition specified: nosuch") || strings.Contains(err.Error(), "\n") {
		t.Errorf("an unknown partition: %v", err)
	}
	_, err = start("slurm 1 -- --qos")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("a bad sbatch argument: %v", err)
	}

	j, err := start("slurm 2 --rain /nonexistent/rain")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("a job with no rain: %v (%s)", err, st)
	}
	if st.State != Failed || !strings.Contains(st.Reason, "/nonexistent/rain") || strings.Contains(st.Reason, "\n") {
		t.Errorf("a job with no rain is %s", st)
	}

	t.Setenv("PATH", t.TempDir())
	if _, err := start("slurm 1"); !errors.Is(err, ErrNoCommand) || !strings.Contains(err.Error(), "no sbatch on the PATH") {
		t.Errorf("no sbatch: %v", err)
	}
}
