package launch

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// needMPI skips a test where there is no mpirun.
func needMPI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Skip("MPI: no mpirun on the PATH (Debian's openmpi-bin; scripts/install-deps installs it)")
	}
}

// mpirun's ranks are nodes with the job's IDs; Stop ends mpirun and them.
func TestMPIJob(t *testing.T) {
	needMPI(t)
	hub, client := testHub(t)
	j := startJob(t, hub, testRequest(t, "mpi 2 -- --oversubscribe"))
	ids := waitJobNodes(t, client, j)
	slices.Sort(ids)
	if want := []string{j.NodeID(0), j.NodeID(1)}; !slices.Equal(ids, want) {
		t.Errorf("nodes %v joined, want %v", ids, want)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := j.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := j.Status(); st != (Status{State: Done, Reason: "stopped"}) {
		t.Errorf("a stopped job is %s", st)
	}
	waitGone(t, client, j)
}

// A job whose ranks fail at once fails with the end of mpirun's output, in one line; no
// mpirun is one line too.
func TestMPIErrors(t *testing.T) {
	needMPI(t)
	hub, _ := testHub(t)
	j := startJob(t, hub, testRequest(t, "mpi 1 --rain /nonexistent/rain"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := j.Wait(ctx)
	if err != nil || st.State != Failed || !strings.Contains(st.Reason, "/nonexistent/rain") || strings.Contains(st.Reason, "\n") {
		t.Errorf("a job with no rain is %s (%v)", st, err)
	}
	t.Logf("a job with no rain: %s", st)

	t.Setenv("PATH", t.TempDir())
	if _, err := Start(t.Context(), testRequest(t, "mpi 1"), hub.URL(), hub.Token()); !errors.Is(err, ErrNoCommand) || !strings.Contains(err.Error(), "no mpirun on the PATH") {
		t.Errorf("no mpirun: %v", err)
	}
}
