package launch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// State is where a job stands.
type State int

const (
	// Pending: the job waits to run, in its scheduler's queue (Status.Reason gives the
	// scheduler's reason, such as "Priority" or "Resources") or while its processes start.
	Pending State = iota
	// Running: the job's processes run, and its nodes join the hub as they start.
	Running
	// Done: the job ended without an error, or Stop ended it (Status.Reason is "stopped").
	Done
	// Failed: the job ended with an error; Status.Reason holds the last lines of its output.
	Failed
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Running:
		return "running"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return "state " + strconv.Itoa(int(s))
}

// Ended reports whether the state is final: Done or Failed.
func (s State) Ended() bool { return s == Done || s == Failed }

// Status is a job's state and what goes with it.
type Status struct {
	State State
	// Reason says more: why a pending job waits, why a job failed (the end of its output in
	// one line), "stopped" for a job that Stop ended. It may be empty.
	Reason string
}

// String is "pending (Resources)", "running", "done (stopped)" or "failed: why".
func (s Status) String() string {
	switch {
	case s.Reason == "":
		return s.State.String()
	case s.State == Failed:
		return "failed: " + s.Reason
	}
	return s.State.String() + " (" + s.Reason + ")"
}

// A Job is nodes started by one launch: a Slurm job, an mpirun, ssh sessions to hosts, or
// processes on this machine. It follows them from start to end: Status says where they stand,
// Changed when that moves, and Stop ends them. Its nodes take the IDs Name-0, Name-1, …, so a
// client tells them from others (Owns).
type Job struct {
	// Launcher is "slurm", "mpi", "ssh" or "local".
	Launcher string
	// Name names the job and prefixes its nodes' IDs: "slurm-1234" (Slurm's job ID),
	// "mpi-3fa2c1", "ssh-3fa2c1", "local-3fa2c1".
	Name string
	// SchedulerID is the ID the scheduler gave the job (Slurm's job ID); "" for the others.
	SchedulerID string
	// Nodes is how many nodes the job starts.
	Nodes int
	// Started is when the job was submitted or started.
	Started time.Time
	// Output is the file the job's output goes to (a folder of files, one per host or node,
	// for ssh and local jobs).
	Output string

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed, and replaced, when status changes
	ended   chan struct{} // closed when status is final

	stopOnce sync.Once
	stopErr  error
	stopping bool
	seen     bool         // a node of the job has joined
	stop     func() error // ends the job's processes; the job's watcher then sets its final state
}

func newJob(launcher, name string, nodes int, output string) *Job {
	return &Job{
		Launcher: launcher, Name: name, Nodes: nodes, Started: time.Now(), Output: output,
		changed: make(chan struct{}), ended: make(chan struct{}),
	}
}

// Status is where the job stands now.
func (j *Job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

// Changed is closed when the job's status next changes.
func (j *Job) Changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.changed
}

// Ended is closed when the job has ended (its state is Done or Failed).
func (j *Job) Ended() <-chan struct{} { return j.ended }

// NodeID is the ID of the job's node i (from 0).
func (j *Job) NodeID(i int) string { return j.Name + "-" + strconv.Itoa(i) }

// Owns reports whether the node with this ID is one of the job's.
func (j *Job) Owns(id string) bool {
	rank, ok := strings.CutPrefix(id, j.Name+"-")
	if !ok || rank == "" {
		return false
	}
	_, err := strconv.ParseUint(rank, 10, 31)
	return err == nil
}

// Stop ends the job — it cancels a Slurm job, ends mpirun and its ranks, closes the ssh
// sessions (their nodes end with them), ends local processes — and waits until it has ended,
// or ctx is done. A job that has failed keeps its state, and what is left of it ends too.
func (j *Job) Stop(ctx context.Context) error {
	j.stopOnce.Do(func() {
		j.mu.Lock()
		j.stopping = true
		j.mu.Unlock()
		if j.stop != nil {
			j.stopErr = j.stop()
		}
	})
	if j.stopErr != nil {
		return j.stopErr
	}
	select {
	case <-j.ended:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("launch: %s: not ended yet: %w", j.Name, ctx.Err())
	}
}

// Wait waits until the job has ended or ctx is done, and returns its last status.
func (j *Job) Wait(ctx context.Context) (Status, error) {
	select {
	case <-j.ended:
	case <-ctx.Done():
		return j.Status(), ctx.Err()
	}
	return j.Status(), nil
}

// SawNode tells the job that one of its nodes has joined the hub: a job still pending, as
// far as its scheduler was last asked, runs.
func (j *Job) SawNode() {
	j.mu.Lock()
	j.seen = true
	pending := j.status.State == Pending
	j.mu.Unlock()
	if pending {
		j.set(Status{State: Running})
	}
}

// set moves the job to st. A job ends once: a final state is never replaced. A job that
// ends after Stop is Done, "stopped", whatever its processes said on their way out.
func (j *Job) set(st Status) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status.State.Ended() {
		return
	}
	if st.State.Ended() && j.stopping {
		st = Status{State: Done, Reason: "stopped"}
	}
	if st.State == Pending && j.seen {
		return // the scheduler's word from before a node joined
	}
	if st == j.status {
		return
	}
	j.status = st
	close(j.changed)
	j.changed = make(chan struct{})
	if st.State.Ended() {
		close(j.ended)
	}
}

// stopped reports whether Stop was called.
func (j *Job) stopped() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopping
}
